package appliance

import (
	"context"
	"laned/appliance/config"
	"laned/board"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/hal/display"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenDisplaySharedBus: bus = "camera" puts the board on a turn of the
// lane camera's bus: its frames go out on the camera's port.
func TestOpenDisplaySharedBus(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	link := filepath.Join(t.TempDir(), "serial0")
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	bus, err := camera.OpenBus(context.Background(), camera.BusConfig{Path: link, MustOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	cam, err := bus.Camera("exit1/camera", 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	l := config.LaneConfig{Kind: "exit", Code: 1}
	l.Name = "exit1"
	l.Camera.Path, l.Camera.Addr = link, 2
	l.Display = config.LaneDisplay{Family: "aa55", Bus: "camera", Addr: 100, Lines: 4}
	cfg := &config.Config{Lanes: []config.LaneConfig{l}}
	cfg.Board.Profile = board.ProfileRPi4
	ld, err := openDisplay(cfg, l, &board.Lane{Camera: cam}, nil, nil)
	if err != nil || ld == nil {
		t.Fatalf("openDisplay = %v, %v", ld, err)
	}
	if err := ld.Device.SetIdle(t.Context(), 1, "一路平安", hal.DisplayGreen); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	var got []byte
	dec := display.AA55{}.NewDecoder()
	for {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		if res := dec.Feed(buf[:n]); len(res) > 0 {
			if res[0].Frame == nil || res[0].Frame.Cmd != display.AA55Idle || res[0].Frame.Addr != 100 {
				t.Fatalf("on the camera's port: % X; want the idle frame to 100", got)
			}
			return
		}
	}
}
