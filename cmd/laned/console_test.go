package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"laned/appliance/appliancetest"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/appliance"
	"laned/edge/console"
	"laned/edge/console/consoletest"
)

// startConsoleSocket serves a console on a socket in a temp dir until the test ends.
func startConsoleSocket(t *testing.T, path string, c *console.Console) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- appliance.ServeConsoleSocket(ctx, path, c) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveConsoleSocket = %v; want nil after cancel", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket %s still there after serveConsoleSocket returned (%v)", path, err)
		}
	})
	for { // until it answers (a stale socket may be there before)
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConsoleClientOverSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "console.sock")
	c, b := appliancetest.NewConsole(t, console.Options{Name: "socket"})
	startConsoleSocket(t, path, c)

	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("socket mode = %v; want 0600 (root only)", got)
	}

	tests := []struct {
		name  string
		input string
		want  []string
		calls []string
	}{
		{"status", "status\n", []string{"laned technician console (socket)", "laned> ", "clock     2025-03-01 14:03:22 Asia/Shanghai", "1  entry1"}, nil},
		{"lane needs a reason", "lane 9 open\nlane exit1 open\n", []string{"lane 9: no such lane (lanes: entry1, exit1", "lane exit1 open: a reason is required"}, nil},
		{"lane open audited", "lane exit1 open \"stuck ticket\"\nlog 1\n", []string{"barrier up commanded", "lane open  exit1: stuck ticket"}, []string{"open exit1 stuck ticket"}},
		{"exit", "exit\nversion\n", []string{"bye"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.Lock()
			b.Calls = nil
			b.Unlock()
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"console", "-socket", path}, strings.NewReader(tt.input), &out, &errb)
			if err != nil {
				t.Fatalf("run(console) = %v (stderr %q)", err, errb.String())
			}
			got := out.String()
			consoletest.WantInOrder(t, fmt.Sprintf("run(console) with %q", tt.input), got, tt.want...)
			if strings.Contains(got, "lane 9 open\r\n") {
				t.Errorf("the socket console echoed input (the local terminal does): %q", got)
			}
			if calls := b.CallList(); strings.Join(calls, "|") != strings.Join(tt.calls, "|") {
				t.Errorf("backend calls = %q; want %q", calls, tt.calls)
			}
		})
	}
}

func TestConsoleClientErrors(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"console", "-socket", filepath.Join(dir, "none.sock")}, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no daemon is listening; is laned running?") {
		t.Errorf("run(console) with no socket = %v; want a hint that laned is not running", err)
	}
	err = run(context.Background(), []string{"console", "status"}, strings.NewReader(""), &out, &errb)
	if !errors.Is(err, errUsage) {
		t.Errorf("run(console status) = %v; want errUsage", err)
	}
}

func TestServeConsoleSocketReplacesStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "console.sock")
	// A socket file left by a crashed daemon: nobody listens on it.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	c, _ := appliancetest.NewConsole(t, console.Options{})
	startConsoleSocket(t, path, c)
	var out bytes.Buffer
	if err := consoleClient(context.Background(), path, strings.NewReader("version\n"), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "v1.2.3") {
		t.Errorf("console over a replaced stale socket printed %q; want the version", out.String())
	}

	// A second daemon on the same live socket is refused.
	err = appliance.ServeConsoleSocket(context.Background(), path, c)
	if !errors.Is(err, appliance.ErrSocketInUse) {
		t.Errorf("serveConsoleSocket on a live socket = %v; want appliance.ErrSocketInUse", err)
	}
}

func TestServeConsoleSocketRefusesNonSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := appliancetest.NewConsole(t, console.Options{})
	err := appliance.ServeConsoleSocket(context.Background(), path, c)
	if err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("serveConsoleSocket over a regular file = %v; want it refused", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "precious" {
		t.Errorf("the regular file was changed: %q", b)
	}
}

func TestConsoleHashPIN(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"1234\n", ""},
		{"  987654321012\r\n", ""},
		{"12\n", "the PIN must be 4 to 12 digits (got 2 characters)"},
		{"abcd\n", "the PIN must be 4 to 12 digits"},
		{"", "the PIN must be 4 to 12 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"console", "hash-pin"}, strings.NewReader(tt.in), &out, &errb)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("hash-pin %q = %v; want %q", tt.in, err, tt.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("hash-pin %q printed %q; want nothing", tt.in, out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("hash-pin %q = %v", tt.in, err)
			}
			h := strings.TrimSpace(out.String())
			if !strings.HasPrefix(h, "pbkdf2-sha256$100000$") {
				t.Fatalf("hash-pin %q printed %q; want a pbkdf2-sha256 hash", tt.in, h)
			}
			p, err := console.NewPINCheck(h, console.PINOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Verify(strings.TrimSpace(tt.in), 0); err != nil {
				t.Errorf("the printed hash does not verify its PIN: %v", err)
			}
		})
	}
}
