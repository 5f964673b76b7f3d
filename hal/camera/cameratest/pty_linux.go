//go:build linux

package cameratest

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenPTY opens a pseudo-terminal pair: the master as an *os.File (reads
// and writes go through the runtime poller, so deadlines and Close work)
// and the slave's path (/dev/pts/N) for go.bug.st/serial to open. The
// slave is put in raw mode and one descriptor of it is held open until the
// test ends, so that the master never reads EIO before the code under
// test opens the slave. Closing the master hangs the slave up, like an
// adapter being unplugged. Both are closed at the end of the test.
func OpenPTY(t testing.TB) (master *os.File, slavePath string) {
	t.Helper()
	m, path, hold, err := openPTY()
	if err != nil {
		t.Fatalf("cameratest: open pty: %v", err)
	}
	t.Cleanup(func() {
		m.Close()
		unix.Close(hold)
	})
	return m, path
}

func openPTY() (master *os.File, slavePath string, hold int, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", -1, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fail := func(op string, err error) (*os.File, string, int, error) {
		unix.Close(fd)
		return nil, "", -1, fmt.Errorf("%s: %w", op, err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		return fail("unlock pty (TIOCSPTLCK)", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		return fail("pty number (TIOCGPTN)", err)
	}
	slavePath = fmt.Sprintf("/dev/pts/%d", n)
	hold, err = unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open "+slavePath, err)
	}
	tio, err := unix.IoctlGetTermios(hold, unix.TCGETS)
	if err == nil {
		// cfmakeraw: no echo, no line editing, no CR/LF translation.
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		err = unix.IoctlSetTermios(hold, unix.TCSETS, tio)
	}
	if err != nil {
		unix.Close(hold)
		return fail("raw mode on "+slavePath, err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), slavePath, hold, nil
}
