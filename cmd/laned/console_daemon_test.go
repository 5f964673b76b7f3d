package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/internal/progress"
)

// The running daemon's console on its socket: a technician drives the sim
// board, sees the lane decide, and opens a barrier by hand.
func TestDaemonConsole(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "run", "console.sock")
	p := minimalConfig(t, dir, fmt.Sprintf("[console]\nsocket = %q\n", sock))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, done := startDaemon(ctx, t, p)
	session := func(lines ...string) string {
		t.Helper()
		var out bytes.Buffer
		deadline := time.Now().Add(progress.Stall)
		for {
			out.Reset()
			err := run(ctx, []string{"console", "-socket", sock}, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &out)
			if err == nil {
				return out.String()
			}
			if time.Now().After(deadline) {
				t.Fatalf("console session: %v\n%s", err, out.String())
			}
			time.Sleep(20 * time.Millisecond) // the socket may not be up yet
		}
	}
	out := session("sim arrive in1 粤B12345")
	if !strings.Contains(out, "arming loop") {
		t.Fatalf("sim arrive printed:\n%s", out)
	}
	deadline := time.Now().Add(progress.Stall)
	for !strings.Contains(out, "粤B12345") {
		if time.Now().After(deadline) {
			t.Fatalf("records never showed the entry:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
		out = session("records")
	}
	out = session("sim pass in1", "lane out1 open fire drill", "log 5", "version", "sim help")
	for _, want := range []string{"fire drill", Version(), "sim scanpay OUT_CODE", "sim advance DURATION"} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("daemon stop = %v", err)
	}
}
