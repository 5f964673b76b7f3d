//go:build !linux

package board

import "fmt"

// cdevOps: the GPIO character device is Linux's.
type cdevOps struct{}

func (cdevOps) request(chip string, _ gpioV2LineRequest) (int, error) {
	return -1, fmt.Errorf("%s: GPIO character device: %w", chip, ErrNoHardware)
}
func (cdevOps) set(int, bool) error   { return ErrNoHardware }
func (cdevOps) get(int) (bool, error) { return false, ErrNoHardware }
