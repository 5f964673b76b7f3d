// Package appliancetest helps tests that run the appliance: systemd's end
// of the notify socket, an environment, and a pseudo-terminal standing
// for the technician's serial terminal.
package appliancetest

import (
	"bytes"
	"errors"
	"fmt"
	"laned/edge/console"
	"laned/edge/console/consoletest"
	"laned/internal/progress"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// NotifyListener is systemd's end of the notify socket.
func NotifyListener(t *testing.T, name string) (*net.UnixConn, string) {
	t.Helper()
	if name == "" {
		name = filepath.Join(t.TempDir(), "notify.sock")
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, name
}

// ReadNotify returns the next datagram; the deadline only bounds a
// broken test, it asserts nothing about timing.
func ReadNotify(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(progress.Stall))
	b := make([]byte, 4096)
	n, err := c.Read(b)
	if err != nil {
		t.Fatalf("read notify socket: %v", err)
	}
	return string(b[:n])
}

// Env is an environment of m, for Options.Getenv.
func Env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// PTY is the master side of a pseudo-terminal: the technician's terminal.
type PTY struct {
	t      *testing.T
	master *os.File
	Slave  string       // the terminal's path, /dev/pts/N
	seen   bytes.Buffer // everything read so far
	next   int          // start of what expect has not consumed
}

// OpenPTY opens /dev/ptmx, unlocks the slave and names it /dev/pts/N.
func OpenPTY(t *testing.T) *PTY {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlock PTY: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("PTY number: %v", err)
	}
	p := &PTY{t: t, master: os.NewFile(uintptr(fd), "/dev/ptmx"), Slave: fmt.Sprintf("/dev/pts/%d", n)}
	t.Cleanup(func() { p.master.Close() })
	return p
}

// Type writes s as typed at the terminal.
func (p *PTY) Type(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatalf("type %q: %v", s, err)
	}
}

// Expect reads until want appears after what earlier calls consumed and
// returns the text up to and including it. The deadline only keeps a
// broken session from hanging the test; nothing is timed.
func (p *PTY) Expect(want string) string {
	p.t.Helper()
	deadline := time.Now().Add(progress.Stall)
	buf := make([]byte, 1024)
	for {
		if i := strings.Index(p.seen.String()[p.next:], want); i >= 0 {
			got := p.seen.String()[p.next : p.next+i+len(want)]
			p.next += i + len(want)
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("terminal shows\n%q\nwant %q", p.seen.String()[p.next:], want)
		}
		p.master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := p.master.Read(buf)
		p.seen.Write(buf[:n])
		if errors.Is(err, syscall.EIO) {
			time.Sleep(time.Millisecond) // the slave is closed between sessions
		}
	}
}

// T0 is the console tests' time: NewConsole's backend and clock start at it.
var T0 = consoletest.T0

// NewConsole is a console over a consoletest backend at T0, in UTC+8.
func NewConsole(t *testing.T, opts console.Options) (*console.Console, *consoletest.Backend) {
	t.Helper()
	return consoletest.NewConsole(t, opts)
}
