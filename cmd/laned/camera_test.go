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
	"strings"
	"testing"
	"time"

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
			[]string{"rejected:garbage", "rejected:crc mismatch", "rejected:length 16689 exceeds 1024", "plate:京A12345"}, nil}, // the TRIG byte 02 inside the bad frame is tried as an STX
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
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runCamera(runCtx, []string{"listen", "--port", slave, "--addr", "1"}, nil, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	cam := cameratest.NewFakeCamera(master, 1, nil)
	cam.Start(ctx)
	cam.Write([]byte("\xFF\xFE"))
	// The listener opens the port asynchronously; the camera retries
	// until acknowledged, as a real one does.
	ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Colour: hal.ColourBlue, Conf: 96, Trigger: hal.TriggerIO, CameraTime: time.Unix(1700000000, 0)}
	for cam.SendPlate(ctx, ev) != nil {
		if ctx.Err() != nil {
			t.Fatal("no ACK from laned camera listen")
		}
	}
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
