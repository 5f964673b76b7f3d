//go:build linux

package camera

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// enableKernelRS485 switches the UART at path into the kernel's RS-485
// mode: the driver raises RTS (wired to the transceiver's DE) while it
// sends and lowers it once the last stop bit is out. go.bug.st/serial does
// not expose its file descriptor, so the ioctl goes through a descriptor
// of our own, opened just for it and closed again: the kernel keeps the
// RS-485 setting per port (struct uart_port), not per open file, so it
// holds for the descriptor go.bug.st/serial opens next. This is done
// before every open because a USB adapter that reappears starts with its
// defaults.
func enableKernelRS485(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("rs485: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	want := serialRS485{Flags: serRS485Enabled | serRS485RTSOnSend}
	conf := want
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.TIOCSRS485), uintptr(unsafe.Pointer(&conf)))
	if errno != 0 {
		return fmt.Errorf("rs485: TIOCSRS485 on %s (does the UART driver support RS-485 mode?): %w", path, errno)
	}
	// Read the mode back: a driver may accept the call and ignore (or
	// trim) the flags it does not support.
	var got serialRS485
	_, _, errno = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.TIOCGRS485), uintptr(unsafe.Pointer(&got)))
	if errno != 0 {
		return fmt.Errorf("rs485: TIOCGRS485 on %s: %w", path, errno)
	}
	return checkRS485(path, want, got)
}
