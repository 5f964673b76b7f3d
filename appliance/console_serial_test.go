package appliance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"laned/appliance/appliancetest"
	"laned/edge/console"
	"laned/hal/clock"
	"laned/internal/syncbuf"
)

func TestSerialConsoleOverPTY(t *testing.T) {
	p := appliancetest.OpenPTY(t)
	pin := consoleMustPIN(t, "1234")
	c, b := appliancetest.NewConsole(t, console.Options{Name: "serial " + p.Slave, Echo: true, PIN: pin})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveConsoleSerial(ctx, p.Slave, 115200, c, nil) }()

	p.Expect("laned technician console (serial " + p.Slave + "), version v1.2.3\r\n")
	p.Expect("PIN: ")
	p.Type("1234\r")
	if got := p.Expect("PIN accepted"); got != "****\r\n"+"PIN accepted" {
		t.Errorf("PIN entry shows %q; want four stars and PIN accepted", got)
	}
	p.Expect("laned> ")

	p.Type("status\r")
	got := p.Expect("laned> ")
	for _, w := range []string{"status\r\n", "clock     2025-03-01 14:03:22 Asia/Shanghai\r\n", "queue     3 pending", "1  entry1  entry  closed"} {
		if !strings.Contains(got, w) {
			t.Errorf("status over the serial console shows\n%q\nwant %q", got, w)
		}
	}

	p.Type("lane 9 open\r")
	if got := p.Expect("laned> "); !strings.Contains(got, "lane 9 open\r\nlane 9: no such lane (lanes: entry1, exit1, or their numbers 1 to 2)\r\n") {
		t.Errorf("lane 9 open shows %q; want the no-such-lane error listing the lanes", got)
	}

	// picocom sends DEL for backspace, minicom BS; both erase a rune.
	p.Type("lane 2 openn\x7f \"fire drilx\bl\"\r")
	got = p.Expect("laned> ")
	if !strings.Contains(got, "openn\b \b \"fire drilx\b \bl\"\r\n") {
		t.Errorf("the edited line echoes %q; want the erasures echoed as \\b \\b", got)
	}
	if !strings.Contains(got, "lane exit1: barrier up commanded (audited: fire drill)") {
		t.Errorf("the edited line ran as %q; want lane exit1 opened for fire drill", got)
	}
	if calls := b.CallList(); len(calls) != 1 || calls[0] != "open exit1 fire drill" {
		t.Errorf("backend calls = %q; want [open exit1 fire drill]", calls)
	}

	// Ctrl-D ends the session; the port is reopened for the next one,
	// which asks for the PIN again.
	p.Type("\x04")
	p.Expect("bye\r\n")
	p.Expect("laned technician console")
	p.Expect("PIN: ")

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serveConsoleSerial after cancel = %v; want nil", err)
	}
}

func consoleMustPIN(t *testing.T, pin string) *console.PINCheck {
	t.Helper()
	h, err := console.HashPIN(pin, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := console.NewPINCheck(h, console.PINOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// consoleFakePort is a port that ends its session with an error once read.
type consoleFakePort struct {
	r      *io.PipeReader
	w      *io.PipeWriter
	out    syncbuf.Buffer
	closed atomic.Bool
}

func (f *consoleFakePort) Read(p []byte) (int, error)  { return f.r.Read(p) }
func (f *consoleFakePort) Write(p []byte) (int, error) { return f.out.Write(p) }
func (f *consoleFakePort) Close() error {
	f.closed.Store(true)
	f.r.CloseWithError(errors.New("closed"))
	return nil
}

func TestSerialConsoleReopensWithBackoff(t *testing.T) {
	clk := clock.NewFake(appliancetest.T0)
	c, _ := appliancetest.NewConsole(t, console.Options{})
	var (
		mu    sync.Mutex
		opens int
		ports = make(chan *consoleFakePort, 4)
	)
	s := &serialConsole{path: "/dev/ttyS0", baud: 115200, c: c, log: slog.New(slog.DiscardHandler), clk: clk,
		minBackoff: time.Second, maxBackoff: 4 * time.Second,
		open: func(path string, baud int) (io.ReadWriteCloser, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			if opens <= 3 {
				return nil, errors.New("no such device")
			}
			r, w := io.Pipe()
			p := &consoleFakePort{r: r, w: w}
			ports <- p
			return p, nil
		}}
	nOpens := func() int { mu.Lock(); defer mu.Unlock(); return opens }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()

	// Failed opens back off 1 s, then 2 s, then 4 s (the cap).
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		clk.WaitPending(1)
		if got := nOpens(); got != i+1 {
			t.Fatalf("opens before backoff %d = %d; want %d", i, got, i+1)
		}
		clk.Advance(wait - time.Millisecond)
		if got := nOpens(); got != i+1 {
			t.Fatalf("opens %v into a %v backoff = %d; want %d", wait-time.Millisecond, wait, got, i+1)
		}
		clk.Advance(time.Millisecond)
	}
	p := <-ports
	// The session fails (the adapter is pulled out): back off, reopen.
	p.w.CloseWithError(errors.New("input/output error"))
	clk.WaitPending(1)
	if !p.isClosed() {
		t.Error("the failed port was not closed")
	}
	clk.Advance(time.Second) // a session that ran resets the backoff
	p2 := <-ports
	// A session ended by Ctrl-D reopens at once for the next greeting.
	p2.w.Write([]byte{0x04})
	p3 := <-ports
	if !p2.isClosed() {
		t.Error("the port of the ended session was not closed")
	}
	if got := p2.output(); !strings.Contains(got, "laned technician console") || !strings.Contains(got, "bye") {
		t.Errorf("the session wrote %q; want a greeting and bye", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel = %v; want nil", err)
	}
	if !p3.isClosed() {
		t.Error("the port was not closed when ctx ended")
	}
}

func (f *consoleFakePort) isClosed() bool { return f.closed.Load() }

func (f *consoleFakePort) output() string { return f.out.String() }
