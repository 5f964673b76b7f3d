package console_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/edge/console"
	"laned/edge/console/consoletest"
	"laned/hal/clock"
	"laned/internal/syncbuf"
)

// script is a session's terminal: input to read, output collected.
type script struct {
	in io.Reader
	syncbuf.Buffer
}

func (s *script) Read(p []byte) (int, error) { return s.in.Read(p) }

// serve runs one session reading in and returns its output.
func serve(t *testing.T, c *console.Console, in string) string {
	t.Helper()
	s := &script{in: strings.NewReader(in)}
	if err := c.Serve(context.Background(), s); err != nil {
		t.Fatalf("Serve(%q) = %v; want nil", in, err)
	}
	out := s.String()
	if i := strings.Index(strings.ReplaceAll(out, "\r\n", ""), "\n"); i >= 0 {
		t.Errorf("Serve(%q) wrote a bare LF: %q", in, out)
	}
	return out
}

func wantInOrder(t *testing.T, what, got string, want ...string) {
	t.Helper()
	consoletest.WantInOrder(t, what, got, want...)
}

func TestServeSession(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"commands with CR, LF and CRLF", "version\rspaces\nlanes\r\n\x04", []string{
			"laned technician console (test), version v1.2.3\r\n", "type help", "laned> ",
			"version\r\nv1.2.3\r\nlaned> ", "spaces\r\n12 free of 200", "laned> lanes\r\n#  LANE", "bye\r\n"}},
		{"backspace-edited line", "lanez\x7fs\r", []string{"laned> lanez\b \bs\r\n#  LANE"}},
		{"arrow keys ignored", "\x1b[Aversion\x1b[D\r", []string{"version\r\nv1.2.3\r\n"}},
		{"ctrl-c drops the line", "lane 1 open x\x03version\r", []string{"lane 1 open x^C\r\nlaned> version\r\nv1.2.3"}},
		{"empty line", "\r\r", []string{"laned> \r\nlaned> \r\nlaned> "}},
		{"unknown command", "frobnicate\r", []string{`unknown command "frobnicate"; type help` + "\r\nlaned> "}},
		{"quoted reason", `lane exit1 open "fire drill"` + "\r", []string{"audited: fire drill"}},
		{"unterminated quote", `lane exit1 open "fire` + "\r", []string{"unterminated quote; close it"}},
		{"line too long", strings.Repeat("a", 300) + "\rversion\r", []string{"line too long (over 256 bytes): nothing done", "laned> version\r\nv1.2.3"}},
		{"exit ends the session", "exit\rversion\r", []string{"exit\r\nbye\r\n"}},
		{"end of input ends the session", "version", []string{"laned> version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newConsole(t, console.Options{Name: "test", Echo: true})
			got := serve(t, c, tt.in)
			wantInOrder(t, "Serve", got, tt.want...)
			if tt.name == "exit ends the session" && strings.Contains(got, "v1.2.3\r\nlaned>") {
				t.Errorf("Serve ran a command after exit: %q", got)
			}
		})
	}
}

func TestServeNoEcho(t *testing.T) {
	c, _ := newConsole(t, console.Options{Echo: false})
	got := serve(t, c, "version\n")
	if strings.Contains(got, "version\r\n") {
		t.Errorf("Serve without echo echoed the line: %q", got)
	}
	wantInOrder(t, "Serve", got, "laned> v1.2.3\r\nlaned> ")
}

func newPIN(t *testing.T, pin string, lockFor time.Duration) *console.PINCheck {
	t.Helper()
	h, err := console.HashPIN(pin, bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := console.NewPINCheck(h, console.PINOptions{LockFor: lockFor})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServePIN(t *testing.T) {
	clk := clock.NewFake(t0)
	c, b := newConsole(t, console.Options{Echo: true, PIN: newPIN(t, "1234", 0), Clock: clk})

	// Commands typed at the PIN prompt are PINs, not commands.
	got := serve(t, c, "lane 1 open x\r0000\r1234\rversion\r")
	wantInOrder(t, "Serve", got,
		"PIN: ", "*************\r\nwrong PIN: 4 tries left before a 5m0s lock", "PIN: ",
		"****\r\nwrong PIN: 3 tries left", "PIN: ****\r\nPIN accepted", "laned> version\r\nv1.2.3")
	if calls := b.CallList(); len(calls) != 0 {
		t.Fatalf("a command typed at the PIN prompt ran: %q", calls)
	}

	// The lock is shared by every session of the Console: reconnecting
	// does not reset it, and the right PIN is refused while locked.
	got = serve(t, c, "1\r2\r3\r4\r5\r")
	wantInOrder(t, "Serve", got, "4 tries left", "3 tries left", "2 tries left", "1 tries left",
		"locked for 300 more seconds; wait, then try again")
	clk.Advance(100 * time.Second)
	got = serve(t, c, "1234\rversion\r")
	wantInOrder(t, "Serve", got, "locked for 200 more seconds")
	if strings.Contains(got, "PIN accepted") || strings.Contains(got, "laned> ") {
		t.Fatalf("a locked console ran a command: %q", got)
	}
	clk.Advance(200 * time.Second)
	got = serve(t, c, "1234\rversion\r")
	wantInOrder(t, "Serve", got, "PIN accepted", "v1.2.3\r\n")
}

func TestServeIdleTimeout(t *testing.T) {
	clk := clock.NewFake(t0)
	c, _ := newConsole(t, console.Options{Clock: clk, IdleTimeout: 10 * time.Minute})
	pr, pw := io.Pipe()
	defer pw.Close()
	s := &script{in: pr}
	done := make(chan error, 1)
	go func() { done <- c.Serve(context.Background(), s) }()
	clk.WaitPending(1)
	pw.Write([]byte("version\r"))
	waitFor(s, "v1.2.3\r\nlaned> ") // the session has taken the input
	// The input reset the timer: it is still armed, 10 minutes from now.
	clk.Advance(9 * time.Minute)
	select {
	case err := <-done:
		t.Fatalf("Serve ended before the idle timeout: %v", err)
	default:
	}
	clk.Advance(10 * time.Minute)
	if err := <-done; err != nil {
		t.Fatalf("Serve after idle = %v; want nil", err)
	}
	wantInOrder(t, "Serve", s.String(), "v1.2.3", "idle for 10m0s: session closed")
}

func TestServeContextCancel(t *testing.T) {
	c, _ := newConsole(t, console.Options{})
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s := &script{in: pr}
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, s) }()
	pw.Write([]byte("version\r"))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after cancel = %v; want context.Canceled", err)
	}
	wantInOrder(t, "Serve", s.String(), "console closed")
}

// waitFor blocks until the session has written want.
func waitFor(s *script, want string) {
	for !strings.Contains(s.String(), want) {
		time.Sleep(time.Millisecond)
	}
}

type failReader struct{ err error }

func (f failReader) Read([]byte) (int, error) { return 0, f.err }

func TestServeReadError(t *testing.T) {
	c, _ := newConsole(t, console.Options{})
	boom := errors.New("port gone")
	err := c.Serve(context.Background(), &script{in: failReader{boom}})
	if !errors.Is(err, boom) {
		t.Fatalf("Serve on a failing reader = %v; want %v", err, boom)
	}
}

type failWriter struct{ io.Reader }

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestServeWriteError(t *testing.T) {
	c, _ := newConsole(t, console.Options{})
	err := c.Serve(context.Background(), failWriter{strings.NewReader("version\r")})
	if !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Serve on a failing writer = %v; want io.ErrClosedPipe", err)
	}
}

func TestServeConcurrentSessions(t *testing.T) {
	c, b := newConsole(t, console.Options{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			s := &script{in: strings.NewReader("status\rlane 1 open test\rqueue retry\r")}
			if err := c.Serve(context.Background(), s); err != nil {
				t.Errorf("session %d: Serve = %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := len(b.CallList()); n != 8 {
		t.Errorf("4 sessions made %d backend calls; want 8", n)
	}
}

// noise is n bytes of deterministic line noise: every byte value, 0x04
// (Ctrl-D) and line ends included.
func noise(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

// TestServeNoiseNeverEndsSession: a long burst of noise in a logged-in
// session runs nothing and does not end it (Ctrl-D bytes in it included);
// after the burst the session answers, and a Ctrl-D typed on a quiet line
// ends it.
func TestServeNoiseNeverEndsSession(t *testing.T) {
	clk := clock.NewFake(t0)
	c, b := newConsole(t, console.Options{Echo: true, PIN: newPIN(t, "1234", 0), Clock: clk})
	pr, pw := io.Pipe()
	s := &script{in: pr}
	done := make(chan error, 1)
	go func() { done <- c.Serve(context.Background(), s) }()
	pw.Write([]byte("1234\r"))
	waitFor(s, "PIN accepted")
	defer pw.Close()
	burst := noise(1<<20, 1)
	if strings.Count(burst, "\x04") < 1000 || strings.Count(burst, "\r") < 1000 {
		t.Fatalf("the burst lacks Ctrl-D or CR bytes")
	}
	for p := burst; len(p) > 0; {
		n := min(len(p), 777)
		pw.Write([]byte(p[:n]))
		p = p[n:]
	}
	// Two Ctrl-C: the first may only end an escape sequence of the noise.
	pw.Write([]byte("\x03\x03version\r"))
	deadline := time.Now().Add(time.Minute) // a hang guard, not a timing
	for !strings.Contains(s.String(), "version\r\nv1.2.3\r\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no answer to version after the burst: %q", s.String()[max(0, len(s.String())-300):])
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the session ended in the noise: %v", err)
	default:
	}
	if calls := b.CallList(); len(calls) != 0 {
		t.Errorf("noise ran backend calls %q", calls)
	}
	clk.Advance(3 * time.Second) // the line is quiet now
	pw.Write([]byte("\x04"))
	if err := <-done; err != nil {
		t.Fatalf("Serve after Ctrl-D = %v", err)
	}
	if !strings.HasSuffix(s.String(), "bye\r\n") {
		t.Errorf("Ctrl-D on a quiet line did not end the session: %q", s.String()[max(0, len(s.String())-200):])
	}
}

// TestServePINNoiseIsNoTry: empty lines and lines of noise at the PIN
// prompt are not tries; a typed wrong PIN is.
func TestServePINNoiseIsNoTry(t *testing.T) {
	clk := clock.NewFake(t0)
	pin := newPIN(t, "1234", 0)
	c, _ := newConsole(t, console.Options{Echo: true, PIN: pin, Clock: clk})
	in := "\r\r \r\n\x01\x02\r\xff\xfe\r12\x0734\r\x1b[99999999999999999999x\r" + noise(4096, 2)
	got := serve(t, c, in)
	if strings.Contains(got, "wrong PIN") || strings.Contains(got, "locked") || pin.Failures() != 0 {
		t.Fatalf("noise at the PIN prompt counted as tries (failures %d): %q", pin.Failures(), got)
	}
	got = serve(t, c, "0000\r")
	wantInOrder(t, "Serve", got, "wrong PIN: 4 tries left")
}
