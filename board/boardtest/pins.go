// Package boardtest has fakes for tests of code that opens a board: a pin
// source of gpiotest pins and a pin that records the levels driven.
package boardtest

import (
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// Pins hands out gpiotest pins by name, made on first use, and DE (when
// set) for GPIO4: the driver-enable pin comes from the board's pin
// source, like the relays', never from periph's global registry.
type Pins struct {
	mu   sync.Mutex
	pins map[string]*gpiotest.Pin
	DE   *RecordingPin
}

// NewPins returns a pin source; de may be nil.
func NewPins(de *RecordingPin) *Pins {
	return &Pins{pins: map[string]*gpiotest.Pin{}, DE: de}
}

// Pin implements board.PinSource.
func (f *Pins) Pin(name string) (gpio.PinIO, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "GPIO4" && f.DE != nil {
		return f.DE, nil
	}
	if p, ok := f.pins[name]; ok {
		return p, nil
	}
	p := &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level, 1)}
	f.pins[name] = p
	return p, nil
}

// RecordingPin is an output pin that records every level driven.
type RecordingPin struct {
	*gpiotest.Pin
	mu     sync.Mutex
	levels []gpio.Level
}

// NewRecordingPin is a recording pin named name with number n.
func NewRecordingPin(name string, n int) *RecordingPin {
	return &RecordingPin{Pin: &gpiotest.Pin{N: name, Num: n}}
}

// Out records l and drives it.
func (p *RecordingPin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.levels = append(p.levels, l)
	p.mu.Unlock()
	return p.Pin.Out(l)
}

// Take returns the levels driven since the last Take.
func (p *RecordingPin) Take() []gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.levels
	p.levels = nil
	return l
}
