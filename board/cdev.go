package board

import (
	"fmt"
	"sync"

	pgpio "periph.io/x/conn/v3/gpio"
)

// Relay outputs on a GPIO character device (rpi5, gpiochip).
//
// periph's gpioioctl requests a line with no configuration and makes it an
// output on the first Out() with GPIO_V2_LINE_SET_CONFIG_IOCTL, whose
// config carries no GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES: the kernel drives
// the line Low at that instant, and only the following
// GPIO_V2_LINE_SET_VALUES_IOCTL sets the level asked for. An active-low
// relay energises for that moment at every start. Its LineSet API builds
// its request the same way. So relay lines are requested here instead:
// one GPIO_V2_GET_LINE_IOCTL with the output flag and the output value
// attribute, which the kernel applies as it makes the line an output —
// the line is never driven to any level but the one asked for.

// Linux <linux/gpio.h> GPIO v2 uAPI.
const (
	gpioV2LineFlagOutput     uint64 = 1 << 3
	gpioV2LineAttrIDOutValue uint32 = 2
	gpioV2LinesMax                  = 64
	gpioMaxNameSize                 = 32
	gpioV2LineNumAttrsMax           = 10
)

type gpioV2LineAttribute struct {
	ID      uint32
	Padding uint32
	Value   uint64 // a union: flags, output values or debounce period
}

type gpioV2LineConfigAttribute struct {
	Attr gpioV2LineAttribute
	Mask uint64
}

type gpioV2LineConfig struct {
	Flags    uint64
	NumAttrs uint32
	Padding  [5]uint32
	Attrs    [gpioV2LineNumAttrsMax]gpioV2LineConfigAttribute
}

// gpioV2LineRequest is struct gpio_v2_line_request (592 bytes).
type gpioV2LineRequest struct {
	Offsets         [gpioV2LinesMax]uint32
	Consumer        [gpioMaxNameSize]byte
	Config          gpioV2LineConfig
	NumLines        uint32
	EventBufferSize uint32
	Padding         [5]uint32
	FD              int32
}

// gpioV2LineValues is struct gpio_v2_line_values.
type gpioV2LineValues struct {
	Bits uint64
	Mask uint64
}

// outputRequest is the request of one line as an output driven to high
// from the first instant.
func outputRequest(offset uint32, high bool, consumer string) gpioV2LineRequest {
	var r gpioV2LineRequest
	r.Offsets[0] = offset
	r.NumLines = 1
	copy(r.Consumer[:gpioMaxNameSize-1], consumer)
	r.Config.Flags = gpioV2LineFlagOutput
	var bits uint64
	if high {
		bits = 1
	}
	r.Config.NumAttrs = 1
	r.Config.Attrs[0] = gpioV2LineConfigAttribute{
		Attr: gpioV2LineAttribute{ID: gpioV2LineAttrIDOutValue, Value: bits},
		Mask: 1, // bit 0: the request's first (only) line
	}
	return r
}

// lineOps is the kernel side of an output line: the ioctls on Linux,
// a recorder in tests.
type lineOps interface {
	// request asks chip for line offset as an output at level high and
	// returns the line's file descriptor.
	request(chip string, r gpioV2LineRequest) (fd int, err error)
	set(fd int, high bool) error
	get(fd int) (high bool, err error)
}

// outLine is a line of a GPIO character device. Its Out requests the line
// as an output at the level asked for (see above); its inputs (In,
// WaitForEdge, Read before any Out) are periph's.
type outLine struct {
	gpioPin // periph's line: name, number, inputs
	chip    string
	offset  uint32
	ops     lineOps

	mu sync.Mutex
	fd int // the output request's; -1 until the first Out
}

func newOutLine(p gpioPin, chip string, offset int, ops lineOps) *outLine {
	return &outLine{gpioPin: p, chip: chip, offset: uint32(offset), ops: ops, fd: -1}
}

// Out drives the line; the first call requests it as an output already at
// l.
func (o *outLine) Out(l pgpio.Level) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fd >= 0 {
		if err := o.ops.set(o.fd, bool(l)); err != nil {
			return fmt.Errorf("%s line %d: set %v: %w", o.chip, o.offset, l, err)
		}
		return nil
	}
	fd, err := o.ops.request(o.chip, outputRequest(o.offset, bool(l), "laned"))
	if err != nil {
		return fmt.Errorf("%s line %d: request as output at %v: %w", o.chip, o.offset, l, err)
	}
	o.fd = fd
	return nil
}

// Read reads back the driven level of a requested output, else reads
// the input.
func (o *outLine) Read() pgpio.Level {
	o.mu.Lock()
	fd := o.fd
	o.mu.Unlock()
	if fd < 0 {
		return o.gpioPin.Read()
	}
	high, err := o.ops.get(fd)
	if err != nil {
		return pgpio.Low
	}
	return pgpio.Level(high)
}
