//go:build !linux

package camera

import "fmt"

func enableKernelRS485(path string) error {
	return fmt.Errorf("rs485: kernel RS-485 mode on %s: %w", path, ErrUnsupported)
}
