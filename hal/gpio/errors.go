package gpio

import (
	"errors"
	"time"
)

// Errors callers branch on.
var (
	// ErrHalted is returned by commands given to a device after Halt.
	ErrHalted = errors.New("gpio: device halted")
	// ErrNoStopRelay is returned by Barrier.Stop in pulse mode when no stop
	// relay is wired.
	ErrNoStopRelay = errors.New("gpio: no stop relay")
	// ErrConfig wraps every configuration error of NewLoop and NewBarrier.
	ErrConfig = errors.New("gpio: bad configuration")
)

// Defaults applied to zero configuration fields.
const (
	DefaultDebounce = 30 * time.Millisecond
	DefaultPulse    = 500 * time.Millisecond
	DefaultTravel   = 6 * time.Second
)

// eventBuffer is the capacity of every Events channel; more events wait in
// an unbounded queue so that a driver never blocks and never drops.
const eventBuffer = 64

// edgeWait bounds one WaitForEdge call so that Halt is noticed even on a
// pin whose Halt cannot interrupt a wait, and so that a missed edge is
// healed by re-reading the level. It is not a poll of the level: edges
// wake the reader at once.
const edgeWait = 250 * time.Millisecond
