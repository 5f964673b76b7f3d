package sim

import (
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/hal"
	"laned/hal/clock"
	halgpio "laned/hal/gpio"
)

// LoopConfig sets up a simulated loop.
type LoopConfig struct {
	Debounce   time.Duration // the driver's debounce; 0 means hal/gpio's default
	StuckAfter time.Duration // the driver's stuck warning; 0 disables it
}

// Loop is an inductive loop: the real hal/gpio loop driver reading a fake
// GPIO line that a simulated detector drives. The detector's relay
// contact closes to ground on presence (active low, the usual wiring). A
// script sets a vehicle present or gone; the change goes through the
// driver's edge, debounce and event code as on a Pi, and the event is
// queued when Set returns, stamped one debounce after the lane clock's
// time (the clock itself does not move).
type Loop struct {
	*halgpio.Loop
	line *line

	mu      sync.Mutex
	present bool
	halted  bool
}

var _ hal.Loop = (*Loop)(nil)

// NewLoop returns a clear loop named name with the default debounce and no
// stuck warning. A nil clk means the wall clock.
func NewLoop(name string, clk clock.Clock) *Loop {
	l, err := OpenLoop(name, clk, LoopConfig{})
	if err != nil {
		panic(err) // a fixed, valid configuration on a fake line
	}
	return l
}

// OpenLoop returns a clear loop; it fails on a bad configuration.
func OpenLoop(name string, clk clock.Clock, cfg LoopConfig) (*Loop, error) {
	clk = clock.Or(clk)
	ln := newLine(name, gpio.High, newDebounceClock(clk))
	gl, err := halgpio.NewLoop(ln, halgpio.LoopConfig{
		Name: name, ActiveLow: true, Debounce: cfg.Debounce, StuckAfter: cfg.StuckAfter,
		Clock: clk, DebounceClock: ln.dc,
	})
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return &Loop{Loop: gl, line: ln}, nil
}

// Set puts a vehicle on the loop or takes it away. A change goes through
// the driver and its event is queued on return; setting the state the
// loop already has does nothing, as a detector's output would not move.
// Set after Halt is ignored.
func (l *Loop) Set(present bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted || l.present == present {
		return
	}
	l.present = present
	l.line.drive(level(present))
}

// Chatter makes the detector's contact bounce n times within the
// debounce and come back to where it was: the driver must report nothing.
func (l *Loop) Chatter(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted || n <= 0 {
		return
	}
	var levels []gpio.Level
	for range n {
		levels = append(levels, level(!l.present), level(l.present))
	}
	l.line.drive(levels...)
}

// Present reports whether a vehicle stands on the loop, whatever the
// driver has made of it.
func (l *Loop) Present() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.present
}

// Halt halts the driver and the detector. It is idempotent.
func (l *Loop) Halt() error {
	l.mu.Lock()
	l.halted = true
	l.mu.Unlock()
	return l.Loop.Halt()
}

// level is the line level of an active-low input.
func level(active bool) gpio.Level {
	if active {
		return gpio.Low
	}
	return gpio.High
}
