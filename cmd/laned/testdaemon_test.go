package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"laned/internal/progress"
)

// testDaemon is a daemon built and run in the test process, as `laned
// run` does, on a configuration file.
type testDaemon struct {
	cfg  *Config       // its configuration, as loaded
	addr net.Addr      // its callback server
	cams chan net.Addr // its network cameras' listener, once it serves
	done chan error    // serveDaemon's result
}

// startDaemon loads the configuration at path and runs the daemon on it
// under ctx, logging through t when logger is nil, and returns once its
// callback server serves; a daemon that stops before fails t. The
// helper sets opt's OnServing and OnCameras.
func startDaemon(ctx context.Context, t *testing.T, path string, logger *slog.Logger, opt runOptions) *testDaemon {
	t.Helper()
	cfg, err := loadConfigErr(path)
	if err != nil {
		t.Fatal(err)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(&tlog{t: t}, nil))
	}
	d := &testDaemon{cfg: cfg, cams: make(chan net.Addr, 1), done: make(chan error, 1)}
	addrs := make(chan net.Addr, 1)
	opt.OnServing = func(a net.Addr) { addrs <- a }
	opt.OnCameras = func(a net.Addr) { d.cams <- a }
	go func() { d.done <- serveDaemon(ctx, cfg, logger, opt) }()
	select {
	case d.addr = <-addrs:
	case err := <-d.done:
		t.Fatalf("daemon stopped before serving: %v", err)
	}
	return d
}

// cameras waits for the network cameras' listener and returns its address.
func (d *testDaemon) cameras(t *testing.T) net.Addr {
	t.Helper()
	select {
	case a := <-d.cams:
		return a
	case err := <-d.done:
		t.Fatalf("daemon stopped before its camera listener served: %v", err)
		return nil
	}
}

// consoleSessions returns a session on the daemon's console: it runs
// `laned console` on sock with lines as its input and returns what it
// printed. The socket appears shortly after the daemon serves: a session
// that cannot connect is tried again until ctx ends or nothing connected
// for progress.Stall.
func consoleSessions(ctx context.Context, t *testing.T, sock string) func(lines ...string) string {
	return func(lines ...string) string {
		t.Helper()
		var out bytes.Buffer
		deadline := time.Now().Add(progress.Stall)
		for {
			out.Reset()
			err := run(ctx, []string{"console", "-socket", sock}, strings.NewReader(strings.Join(lines, "\n")+"\n"), &out, &out)
			if err == nil {
				return out.String()
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				t.Fatalf("console session: %v\n%s", err, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// editConfig replaces the first old in the configuration file at path
// with new; a file without old fails t.
func editConfig(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q to replace", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}
