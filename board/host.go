package board

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/gpioioctl"
	"periph.io/x/host/v3/rpi"
)

type gpioPin = pgpio.PinIO

// rp1Label is the label of the Pi 5's GPIO chip (the RP1 south bridge).
// Older kernels number it gpiochip4, newer ones gpiochip0, so the label is
// what identifies it.
const rp1Label = "pinctrl-rp1"

// hostPins initialises periph's host drivers and returns the pin source of
// the profile. It is chosen at run time by profile name and compiles on
// every platform; off a Pi it fails with ErrNoHardware.
func hostPins(profile, chip string) (PinSource, error) {
	state, err := host.Init()
	if err != nil {
		return nil, fmt.Errorf("board: %s: periph host init: %w: %w", profile, ErrNoHardware, err)
	}
	// Drivers that failed (e.g. /dev/gpiomem: permission denied) are
	// reported as they are: they explain a pin or chip not found.
	var failed []string
	for _, f := range state.Failed {
		failed = append(failed, f.String())
	}
	why := ""
	if len(failed) > 0 {
		why = "; drivers failed: " + strings.Join(failed, "; ")
	}
	switch profile {
	case ProfileRPi3, ProfileRPi4:
		if !rpi.Present() {
			return nil, fmt.Errorf("board: %s: not a Raspberry Pi%s: %w", profile, why, ErrNoHardware)
		}
		if len(failed) > 0 {
			return nil, fmt.Errorf("board: %s: periph host init%s: %w", profile, why, ErrNoHardware)
		}
		return regPins{}, nil
	case ProfileRPi5:
		if chip == "" {
			c := findChip(rp1Label)
			if c == nil {
				c = findChip("gpiochip4")
			}
			if c == nil {
				return nil, fmt.Errorf("board: rpi5: no GPIO chip labelled %s nor gpiochip4 (%s): %w", rp1Label, chipList(), ErrNoHardware)
			}
			return newChipPins(c, true), nil
		}
		fallthrough
	default: // gpiochip
		c := findChip(chip)
		if c == nil {
			return nil, fmt.Errorf("board: %s: GPIO chip %q not found (%s): %w", profile, chip, chipList(), ErrNoHardware)
		}
		return newChipPins(c, profile == ProfileRPi5), nil
	}
}

func findChip(want string) *gpioioctl.GPIOChip {
	for _, c := range gpioioctl.Chips {
		if c.Name() == want || c.Label() == want || c.Path() == want {
			return c
		}
	}
	return nil
}

// chipList describes the chips periph found, or why it found none: a
// chip it could not open (permission denied, …) is skipped by its driver
// with a log line only, so the files are tried here to say so.
func chipList() string {
	if len(gpioioctl.Chips) == 0 {
		paths, _ := filepath.Glob("/dev/gpiochip*")
		return noChips(paths, func(p string) error {
			f, err := os.OpenFile(p, os.O_RDONLY, 0)
			if err == nil {
				f.Close()
			}
			return err
		})
	}
	var s []string
	for _, c := range gpioioctl.Chips {
		s = append(s, c.Name()+"="+c.Label())
	}
	return "chips: " + strings.Join(s, ", ")
}

// regPins finds Pi pins in periph's registry (bcm283x on a Pi 3 or 4).
type regPins struct{}

func (regPins) Pin(name string) (gpioPin, error) {
	n, ok := bcm(name)
	if !ok {
		return nil, fmt.Errorf("unknown pin %q", name)
	}
	p := gpioreg.ByName("GPIO" + strconv.Itoa(n))
	if p == nil {
		return nil, fmt.Errorf("GPIO%d not registered by periph: %w", n, ErrNoHardware)
	}
	return p, nil
}

// chipPins finds lines on one GPIO character device. With bcm set (the Pi
// 5's RP1) a "GPIO17" is line 17. Every line is handed out as an outLine
// (one per line), so that an output is requested at its first level; see
// cdev.go.
type chipPins struct {
	c   *gpioioctl.GPIOChip
	bcm bool

	mu    sync.Mutex
	lines map[int]*outLine
}

func newChipPins(c *gpioioctl.GPIOChip, bcm bool) *chipPins {
	return &chipPins{c: c, bcm: bcm, lines: map[int]*outLine{}}
}

func (cp *chipPins) Pin(name string) (gpioPin, error) {
	l, err := cp.line(name)
	if err != nil {
		return nil, err
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if o, ok := cp.lines[l.Number()]; ok {
		return o, nil
	}
	o := newOutLine(l, cp.c.Path(), l.Number(), cdevOps{})
	cp.lines[l.Number()] = o
	return o, nil
}

func (cp *chipPins) line(name string) (*gpioioctl.GPIOLine, error) {
	if cp.bcm {
		n, ok := bcm(name)
		if !ok {
			return nil, fmt.Errorf("unknown pin %q", name)
		}
		name = strconv.Itoa(n)
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < 0 || n >= cp.c.LineCount() {
			return nil, fmt.Errorf("line %d not on %s (%d lines): %w", n, cp.c.Name(), cp.c.LineCount(), ErrNoHardware)
		}
		return cp.c.ByNumber(n), nil
	}
	if l := cp.c.ByName(name); l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("line %q not on %s: %w", name, cp.c.Name(), ErrNoHardware)
}

// noChips says why no chip was registered: none there, or the errors
// opening them.
func noChips(paths []string, open func(string) error) string {
	if len(paths) == 0 {
		return "no /dev/gpiochip* found"
	}
	var errs []string
	for _, p := range paths {
		if err := open(p); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return strings.Join(errs, "; ")
	}
	return "periph registered none of " + strings.Join(paths, ", ")
}
