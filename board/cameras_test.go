package board_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/board"
	"laned/board/boardtest"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/hal/clock"

	"laned/internal/progress"
)

// TestOpenCamerasSharedBus opens the rpi4 profile's default wiring (both
// lanes' cameras on one serial port at addresses 1 and 2, one DE pin)
// through board.Open and board.OpenCameras, over a pty.
func TestOpenCamerasSharedBus(t *testing.T) {
	de := boardtest.NewRecordingPin("GPIO4", 4)
	master, slave := cameratest.OpenPTY(t)
	link := filepath.Join(t.TempDir(), "serial0")
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall) // hang guard
	defer cancel()
	clk := clock.NewFake(time.Unix(1700000000, 0))
	opener := board.OpenCameras(noTemplates, clk, nil)
	bc := board.Config{
		Profile: board.ProfileRPi4, Clock: clk, Pins: boardtest.NewPins(de),
		Lanes:      []board.LaneConfig{{Camera: board.CameraPort{Path: link}}, {Camera: board.CameraPort{Path: link}}},
		OpenCamera: opener,
	}
	b, err := board.Open(ctx, bc)
	if err != nil {
		t.Fatalf("board.Open(rpi4 default wiring) = %v; want both lanes on one bus", err)
	}
	defer b.Halt()
	line := cameratest.NewLine(master)
	fakes := map[int]*cameratest.FakeCamera{}
	for _, a := range []int{1, 2} {
		fakes[a] = cameratest.NewFakeCamera(line.Tap(), a, clk)
		fakes[a].Start(ctx)
	}
	line.Start(ctx)
	plates := map[int]string{1: "京A12345", 2: "沪C99887"}
	for _, a := range []int{2, 1} {
		ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: plates[a], Conf: 90, Trigger: hal.TriggerIO}
		if err := fakes[a].SendPlate(ctx, ev); err != nil {
			t.Fatalf("camera %d SendPlate = %v; want acknowledged (DE driven on the shared bus)", a, err)
		}
	}
	fakes[2].Show(hal.PlateEvent{Kind: hal.KindPlate, Plate: "沪C99887", Conf: 90})
	if err := b.Lane("lane2").Camera.Trigger(ctx); err != nil {
		t.Fatalf("lane2 Trigger() = %v", err)
	}
	wantKinds := map[int][]hal.CameraEventKind{
		1: {hal.KindOnline, hal.KindPlate},
		2: {hal.KindOnline, hal.KindPlate, hal.KindPlate},
	}
	for a, kinds := range wantKinds {
		cam := b.Lane(fmt.Sprintf("lane%d", a)).Camera
		for i, k := range kinds {
			var ev hal.PlateEvent
			select {
			case ev = <-cam.Events():
			case <-ctx.Done():
				t.Fatalf("lane%d: no event %d", a, i)
			}
			if ev.Kind != k || ev.Addr != a || (k == hal.KindPlate && ev.Plate != plates[a]) {
				t.Errorf("lane%d event %d = %v %+v; want %v from address %d", a, i, ev.Kind, ev, k, a)
			}
		}
	}
	if n1, n2 := fakes[1].Triggers(), fakes[2].Triggers(); n1 != 0 || n2 != 1 {
		t.Errorf("triggers seen by cameras 1, 2 = %d, %d; want 0, 1", n1, n2)
	}
	if err := b.Halt(); err != nil {
		t.Fatalf("board Halt() = %v", err)
	}
	levels := de.Take()
	if len(levels) < 2 || levels[0] != gpio.Low || levels[len(levels)-1] != gpio.Low || !slices.Contains(levels, gpio.High) {
		t.Errorf("GPIO4 levels = %v; want low at open, high around writes, low at close", levels)
	}
	for a := range wantKinds {
		if _, ok := <-b.Lane(fmt.Sprintf("lane%d", a)).Camera.Events(); ok {
			t.Errorf("lane%d camera Events() open after board Halt", a)
		}
	}
	// The bus closed with its last camera: the same opener opens it
	// afresh for a restarted board (fresh pins: the old board's input
	// goroutines may still be leaving theirs).
	bc.Pins = boardtest.NewPins(de)
	b2, err := board.Open(ctx, bc)
	if err != nil {
		t.Fatalf("board.Open again after Halt = %v", err)
	}
	if err := b2.Halt(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCamerasSharedBusErrors(t *testing.T) {
	_, slave := cameratest.OpenPTY(t)
	tmplPath := filepath.Join(t.TempDir(), "plt.toml")
	tmpl := "header = \"$PLT,\"\nfields = [\"plate\", \"color\"]\nsep = \",\"\nend = \"\\r\\n\"\n"
	if err := os.WriteFile(tmplPath, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	port := board.CameraPort{Path: slave, Baud: 115200, Parity: "none", Codec: "lane-frame", Addr: 1, RS485: "auto", DEPin: "none"}
	tests := []struct {
		name   string
		second func(p *board.CameraPort)
		want   error
		text   string
	}{
		{"address taken", func(p *board.CameraPort) {}, camera.ErrConfig, "address 1 already used by camera lane1/camera"},
		{"baud differs", func(p *board.CameraPort) { p.Addr, p.Baud = 2, 9600 }, camera.ErrConfig, "camera.baud 9600 differs from lane lane1's 115200"},
		{"codec differs", func(p *board.CameraPort) { p.Addr, p.Codec = 2, "template" }, camera.ErrConfig, "camera.codec template differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opener := board.OpenCameras(noTemplates, clock.NewFake(time.Unix(1700000000, 0)), nil)
			first, err := opener(context.Background(), "lane1/camera", port)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Halt()
			p := port
			tt.second(&p)
			cam, err := opener(context.Background(), "lane2/camera", p)
			if cam != nil {
				t.Errorf("opener returned a camera %v with error %v; want nil", cam, err)
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("second camera = %v; want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
	t.Run("template without addr", func(t *testing.T) {
		opener := board.OpenCameras(func(string) string { return tmplPath }, clock.NewFake(time.Unix(1700000000, 0)), nil)
		p := port
		p.Codec = "template"
		first, err := opener(context.Background(), "lane1/camera", p)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Halt()
		p.Addr = 2
		if _, err := opener(context.Background(), "lane2/camera", p); !errors.Is(err, camera.ErrConfig) || !strings.Contains(err.Error(), "addr field") {
			t.Errorf("second template camera without addr = %v; want ErrConfig naming the addr field", err)
		}
	})
}

// noTemplates: no lane has a template codec file.
func noTemplates(string) string { return "" }
