//go:build linux

package board

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl numbers of <linux/gpio.h>: _IOWR(0xB4, nr, size) in the
// asm-generic encoding of arm, arm64 and x86 (read 2 | write 1 in bits
// 30–31, size in 16–29, type in 8–15).
func gpioIOWR(nr, size uintptr) uintptr {
	return (2|1)<<30 | size<<16 | 0xB4<<8 | nr
}

var (
	gpioV2GetLineIoctl      = gpioIOWR(0x07, unsafe.Sizeof(gpioV2LineRequest{}))
	gpioV2LineGetValuesIoct = gpioIOWR(0x0E, unsafe.Sizeof(gpioV2LineValues{}))
	gpioV2LineSetValuesIoct = gpioIOWR(0x0F, unsafe.Sizeof(gpioV2LineValues{}))
)

// cdevOps are the GPIO v2 character device ioctls.
type cdevOps struct{}

func (cdevOps) request(chip string, r gpioV2LineRequest) (int, error) {
	fd, err := unix.Open(chip, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fd) // the line's descriptor outlives the chip's
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), gpioV2GetLineIoctl, uintptr(unsafe.Pointer(&r))); errno != 0 {
		return -1, fmt.Errorf("GPIO_V2_GET_LINE_IOCTL: %w", errno)
	}
	return int(r.FD), nil
}

func (cdevOps) set(fd int, high bool) error {
	v := gpioV2LineValues{Mask: 1}
	if high {
		v.Bits = 1
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), gpioV2LineSetValuesIoct, uintptr(unsafe.Pointer(&v))); errno != 0 {
		return fmt.Errorf("GPIO_V2_LINE_SET_VALUES_IOCTL: %w", errno)
	}
	return nil
}

func (cdevOps) get(fd int) (bool, error) {
	v := gpioV2LineValues{Mask: 1}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), gpioV2LineGetValuesIoct, uintptr(unsafe.Pointer(&v))); errno != 0 {
		return false, fmt.Errorf("GPIO_V2_LINE_GET_VALUES_IOCTL: %w", errno)
	}
	return v.Bits&1 == 1, nil
}
