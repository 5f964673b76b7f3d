package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera/cameratest"
	"laned/internal/progress"
)

// Bench commissioning: on the sim profile a lane's camera is a real serial
// device (here a pty standing in for a USB RS-485 adapter, a lane-frame
// camera on its master side). The technician puts a simulated vehicle on
// the loop from the console; the lane triggers the camera over the serial
// line, the camera's PLATE frame comes back through the real driver and
// codec, and the entry is decided on it.
func TestSimBoardRealCamera(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "console.sock")
	p := minimalConfig(t, dir, fmt.Sprintf("[console]\nsocket = %q\n", sock))
	b, _ := os.ReadFile(p)
	body := strings.Replace(string(b), "code = 1\n[[lanes]]", fmt.Sprintf("code = 1\n[lanes.camera]\npath = %q\naddr = 3\n[[lanes]]", slave), 1)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", p}, nil, &out, &errb); err != nil {
		t.Fatalf("laned check = %v:\n%s%s", err, out.String(), errb.String())
	}
	if want := "camera " + slave + "@115200 lane-frame addr 3 (a real camera on the simulated lane)"; !strings.Contains(out.String(), want) {
		t.Errorf("laned check output lacks %q:\n%s", want, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall) // a hang guard
	defer cancel()
	cam := cameratest.NewFakeCamera(master, 3, nil)
	cam.Start(ctx)
	cam.Show(hal.PlateEvent{Kind: hal.KindPlate, Plate: "粤B12345", Conf: 92})
	_, done := startDaemon(ctx, t, p)
	session := func(lines ...string) string {
		t.Helper()
		var out bytes.Buffer
		for {
			out.Reset()
			err := run(ctx, []string{"console", "-socket", sock}, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &out)
			if err == nil {
				return out.String()
			}
			if ctx.Err() != nil {
				t.Fatalf("console session: %v\n%s", err, out.String())
			}
			time.Sleep(20 * time.Millisecond) // the socket may not be up yet
		}
	}
	got := session("sim arrive in1 -")
	if !strings.Contains(got, "arming loop") {
		t.Fatalf("sim arrive printed:\n%s", got)
	}
	for !strings.Contains(got, "粤B12345") {
		if ctx.Err() != nil {
			t.Fatalf("the camera's plate never made a record:\n%s\ncamera: %d triggers, acks %v, rejected %v", got, cam.Triggers(), cam.Acks(), cam.Rejected())
		}
		time.Sleep(20 * time.Millisecond)
		got = session("records")
	}
	if cam.Triggers() == 0 || len(cam.Acks()) == 0 {
		t.Errorf("camera saw %d triggers and acks %v; want the lane to trigger it and acknowledge its frame", cam.Triggers(), cam.Acks())
	}
	got = session("camera in1", "config")
	if !strings.Contains(got, "粤B12345") {
		t.Errorf("camera in1 lacks the frame:\n%s", got)
	}
	cancel()
	if err := <-done; err != nil && err != context.Canceled && err != context.DeadlineExceeded {
		t.Errorf("daemon stop = %v", err)
	}
}
