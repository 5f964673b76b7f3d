package main

import (
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
	d := startDaemon(ctx, t, p, nil, runOptions{})
	session := consoleSessions(ctx, t, sock)
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
	if err := <-d.done; err != nil {
		t.Errorf("daemon stop = %v", err)
	}
}
