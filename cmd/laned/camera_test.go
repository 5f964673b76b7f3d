package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/appliance"
	"laned/board/boardtest"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"

	"laned/internal/progress"
)

// cameraWorked is the spec's worked example (its CRC pinned by the
// hal/camera tests).
const cameraWorked = "02010701001065 53F10000600208BEA9413132333435577F03"

func decodeLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("output line %q is not JSON: %v", s, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestCameraDecode(t *testing.T) {
	worked, err := hex.DecodeString(strings.ReplaceAll(cameraWorked, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	badCRC := bytes.Clone(worked)
	badCRC[len(badCRC)-2] ^= 0xFF
	dir := t.TempDir()
	tmplPath := filepath.Join(dir, "zhenshi.tmpl")
	tmpl := "header = \"$PLT,\"\nfields = [\"plate\", \"color\", \"conf\", \"time14\"]\nsep = \",\"\ntrailer = \"*\"\nchecksum = \"xor\"\nend = \"\\r\\n\"\nencoding = \"gbk\"\n"
	if err := os.WriteFile(tmplPath, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	gbkLine := append(append([]byte("$PLT,"), 0xBE, 0xA9), []byte("A12345,0,96,20231115063320*77\r\n")...)

	tests := []struct {
		name  string
		args  []string
		in    []byte
		want  []string // per output line: "plate:京A12345" or "rejected:<reason prefix>"
		wantE error
	}{
		{"lane-frame", []string{"decode"}, bytes.Join([][]byte{[]byte("junk"), badCRC, worked}, nil),
			[]string{"rejected:garbage", "rejected:crc mismatch", "rejected:length exceeds 1024", "plate:京A12345"}, nil}, // the TRIG byte 02 inside the bad frame is tried as an STX
		{"torn at end", []string{"decode", "--codec", "lane-frame"}, append(bytes.Clone(worked), worked[:7]...),
			[]string{"plate:京A12345", "rejected:incomplete frame"}, nil},
		{"template", []string{"decode", "--codec", "template", "--template", tmplPath}, gbkLine,
			[]string{"plate:京A12345"}, nil},
		{"template checksum", []string{"decode", "--codec", "template", "--template", tmplPath}, bytes.Replace(gbkLine, []byte("*77"), []byte("*78"), 1),
			[]string{"rejected:xor checksum mismatch"}, nil},
		{"unknown codec", []string{"decode", "--codec", "nedap"}, nil, nil, camera.ErrConfig},
		{"template without file", []string{"decode", "--codec", "template"}, nil, nil, camera.ErrConfig},
		{"bad flag", []string{"decode", "--nope"}, nil, nil, errUsage},
		{"no subcommand", nil, nil, nil, errUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := runCamera(context.Background(), tt.args, bytes.NewReader(tt.in), &out, &errb)
			if !errors.Is(err, tt.wantE) && !(err == nil && tt.wantE == nil) {
				t.Fatalf("runCamera(%q) = %v; want %v (stderr %s)", tt.args, err, tt.wantE, errb.String())
			}
			if tt.wantE != nil {
				return
			}
			var got []string
			for _, m := range decodeLines(t, out.String()) {
				if r, ok := m["rejected"]; ok {
					if r == "" {
						t.Errorf("rejected line %v has no bytes", m)
					}
					reason, _, _ := strings.Cut(m["reason"].(string), ":")
					got = append(got, "rejected:"+reason)
				} else {
					got = append(got, m["kind"].(string)+":"+m["plate"].(string))
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("runCamera(%q) printed %q; want %q\n%s", tt.args, got, tt.want, out.String())
			}
		})
	}
}

func TestCameraDecodeFields(t *testing.T) {
	worked, _ := hex.DecodeString(strings.ReplaceAll(cameraWorked, " ", ""))
	var out bytes.Buffer
	if err := runCamera(context.Background(), []string{"decode"}, bytes.NewReader(worked), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := `{"offset":0,"kind":"plate","addr":1,"seq":7,"cmd":"plate","plate":"京A12345","colour":0,"conf":96,"trigger":"io","camera_time":1700000000,"hex":"02010701001065` +
		`53f10000600208bea9413132333435577f03"}` + "\n"
	if out.String() != want {
		t.Errorf("camera decode(worked example) = %s; want %s", out.String(), want)
	}
}

func TestCameraListen(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall) // hang guard
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	lines, done := outputLines(func(w io.Writer) error {
		return runCamera(runCtx, []string{"listen", "--port", slave, "--addr", "1"}, nil, w, io.Discard)
	})
	cam := cameratest.NewFakeCamera(master, 1, nil)
	cam.Start(ctx)
	cam.Write([]byte("\xFF\xFE"))
	sendPlateAcked(ctx, t, cam, "laned camera listen")
	var kinds []string
	for line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if r, ok := m["reason"]; ok {
			kinds = append(kinds, "rejected:"+r.(string))
			continue
		}
		kinds = append(kinds, m["kind"].(string))
		if m["kind"] == "plate" {
			if m["plate"] != "京A12345" || m["camera"] != slave {
				t.Errorf("plate line = %v; want 京A12345 from %s", m, slave)
			}
			stop()
		}
	}
	if err := <-done; err != nil {
		t.Errorf("runCamera(listen) = %v; want nil after cancel", err)
	}
	got := strings.Join(kinds, " ")
	if !strings.Contains(got, "online plate") || !strings.Contains(got, "rejected:garbage") {
		t.Errorf("listen printed %q; want a garbage rejection, online, plate", got)
	}
}

// outputLines runs fn in a goroutine with a writer whose output comes back
// on lines, one a line, closed once fn returned; fn's error is then on
// done.
func outputLines(fn func(w io.Writer) error) (lines <-chan string, done <-chan error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := fn(pw)
		pw.Close()
		errc <- err
	}()
	out := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out <- sc.Text()
		}
		close(out)
	}()
	return out, errc
}

// sendPlateAcked has cam send a plate frame (京A12345, blue, 96) until the
// listener acknowledges it: the listener opens the port asynchronously
// and the camera retries until acknowledged, as a real one does. what
// names the listener.
func sendPlateAcked(ctx context.Context, t *testing.T, cam *cameratest.FakeCamera, what string) {
	t.Helper()
	ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Colour: hal.ColourBlue, Conf: 96, Trigger: hal.TriggerIO, CameraTime: time.Unix(1700000000, 0)}
	for cam.SendPlate(ctx, ev) != nil {
		if ctx.Err() != nil {
			t.Fatal("no ACK from " + what)
		}
	}
}

// laneConfig is minimalConfig on the rpi4 profile with both lanes'
// cameras on path (addresses 1 and 2, DE on GPIO4, as the HATs wire it).
func laneConfig(t *testing.T, dir, path string) string {
	t.Helper()
	p := minimalConfig(t, dir, "")
	cam := "camera = { path = \"" + path + "\", de_pin = \"GPIO4\" }\n"
	editConfig(t, p, `profile = "sim"`, `profile = "rpi4"`)
	editConfig(t, p, "name = \"in1\"\nkind = \"entry\"\ncode = 1\n", "name = \"in1\"\nkind = \"entry\"\ncode = 1\n"+cam)
	editConfig(t, p, "name = \"out1\"\nkind = \"exit\"\ncode = 1\n", "name = \"out1\"\nkind = \"exit\"\ncode = 1\n"+cam)
	return p
}

// TestCameraListenLaneDE: -config -lane takes the lane's port and DE pin
// (through the board's pin source) and holds DE low (receive), raising it
// only around the ACKs.
func TestCameraListenLaneDE(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	cfgPath := laneConfig(t, t.TempDir(), slave)
	de := boardtest.NewRecordingPin("GPIO4", 4)
	pins := boardtest.NewPins(de)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // hang guard
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var errb bytes.Buffer
	lines, done := outputLines(func(w io.Writer) error {
		return cameraListen(runCtx, []string{"-config", cfgPath, "-lane", "in1"}, w, &errb, pins)
	})
	cam := cameratest.NewFakeCamera(master, 1, nil)
	cam.Start(ctx)
	sendPlateAcked(ctx, t, cam, "laned camera listen -lane in1")
	for line := range lines {
		if strings.Contains(line, `"plate":"京A12345"`) {
			stop()
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("camera listen -lane in1 = %v; want nil after cancel (stderr %s)", err, errb.String())
	}
	levels := de.Take()
	if len(levels) < 3 || levels[0] != gpio.Low || levels[len(levels)-1] != gpio.Low || !slices.Contains(levels, gpio.High) {
		t.Errorf("GPIO4 levels = %v; want low at open (receive), high around the ACK, low at close", levels)
	}
	if !strings.Contains(errb.String(), "DE GPIO4 held low") {
		t.Errorf("stderr = %q; want it to say DE is held in receive", errb.String())
	}
}

func TestCameraListenRefusals(t *testing.T) {
	_, slave := cameratest.OpenPTY(t)
	dir := t.TempDir()
	cfgPath := laneConfig(t, dir, slave)
	pins := boardtest.NewPins(nil)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"lane without config", []string{"-lane", "in1"}, "usage"},
		{"unknown lane", []string{"-config", cfgPath, "-lane", "nope"}, `no lane "nope"`},
		{"de without a board", []string{"-port", slave, "-de", "GPIO4"}, "needs the board"},
		{"gpio without a pin", []string{"-port", slave, "-rs485", "gpio"}, "needs a DE pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cameraListen(context.Background(), tt.args, io.Discard, io.Discard, pins)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("camera listen %q = %v; want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
	t.Run("daemon running", func(t *testing.T) {
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o750); err != nil {
			t.Fatal(err)
		}
		l, err := appliance.LockDataDir(data)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		err = cameraListen(context.Background(), []string{"-config", cfgPath, "-lane", "in1"}, io.Discard, io.Discard, pins)
		if !errors.Is(err, appliance.ErrRunning) || !strings.Contains(err.Error(), "stop it first") {
			t.Errorf("camera listen while laned runs = %v; want a refusal wrapping appliance.ErrRunning", err)
		}
	})
}
