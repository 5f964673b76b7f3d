//go:build linux

package camera

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// serialRS485 is struct serial_rs485 of <linux/serial.h> (32 bytes).
type serialRS485 struct {
	Flags              uint32
	DelayRTSBeforeSend uint32 // ms
	DelayRTSAfterSend  uint32 // ms
	Padding            [5]uint32
}

const (
	serRS485Enabled   = 1 << 0
	serRS485RTSOnSend = 1 << 1
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
	conf := serialRS485{Flags: serRS485Enabled | serRS485RTSOnSend}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.TIOCSRS485), uintptr(unsafe.Pointer(&conf)))
	if errno != 0 {
		return fmt.Errorf("rs485: TIOCSRS485 on %s (does the UART driver support RS-485 mode?): %w", path, errno)
	}
	return nil
}
