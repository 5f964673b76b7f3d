package gpio

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
)

// Relay is a relay output. ActiveLow: the relay is energised by driving
// the pin Low, as on most opto-isolated relay boards.
type Relay struct {
	Pin       gpio.PinOut
	ActiveLow bool
}

type relay struct {
	name string
	pin  gpio.PinOut
	on   gpio.Level
}

func (r *relay) set(energised bool) error {
	l := r.on
	if !energised {
		l = !l
	}
	if err := r.pin.Out(l); err != nil {
		return fmt.Errorf("%s relay %s: %w", r.name, r.pin, err)
	}
	return nil
}

func newRelay(name string, r Relay) relay {
	on := gpio.High
	if r.ActiveLow {
		on = gpio.Low
	}
	return relay{name: name, pin: r.Pin, on: on}
}
