package gpio

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/evq"
	"laned/hal/internal/halog"
)

// LoopConfig configures a loop detector input.
type LoopConfig struct {
	// Name is the loop's String(), e.g. "exit1/arming-loop".
	Name string
	// ActiveLow: the pin reads Low while a vehicle is present: a detector
	// relay contact that closes to ground on presence (normally open)
	// against the pull-up. Active-high with the pull-up is the fail-safe
	// wiring of a normally-closed output: the contact opens on presence,
	// on a detector without power and on a cut wire alike.
	ActiveLow bool
	// Pull is the input's bias; zero is PullUp.
	Pull Pull
	// Fault, when set, is the detector's fault output: while it is active
	// the loop reads occupied (Occupied true, LoopEvent.Fault set), as a
	// detector that cannot see must not be taken for an empty loop.
	Fault gpio.PinIn
	// FaultActiveLow and FaultPull are the fault input's polarity and bias.
	FaultActiveLow bool
	FaultPull      Pull
	// Debounce is how long the level must hold before a change counts;
	// 0 means DefaultDebounce.
	Debounce time.Duration
	// StuckAfter is how long the loop may stay occupied before a warning
	// (a LoopEvent with Stuck set); 0 disables it.
	StuckAfter time.Duration
	// Clock drives debounce and the stuck timer; nil means the wall clock.
	Clock clock.Clock
	// DebounceClock, when set, makes the debounce timer only (Now still
	// comes from Clock): hal/sim plays a simulated change through the
	// debounce without moving the lane's clock. Nil means Clock.
	DebounceClock clock.Clock
	// Logger; nil discards.
	Logger *slog.Logger
}

// Loop is an inductive loop detector read through a dry contact on a GPIO
// input: pulled as configured, edge-driven (no polling), debounced on the
// injected clock, with a stuck-occupied warning and an optional detector
// fault input.
type Loop struct {
	name       string
	clk        clock.Clock
	log        *slog.Logger
	stuckAfter time.Duration
	in         *input
	fault      *input // nil without a fault input
	q          *evq.Queue[hal.LoopEvent]

	mu       sync.Mutex
	present  bool        // the loop input's debounced state
	faulted  bool        // the fault input's debounced state
	occupied bool        // present or faulted
	stuck    clock.Timer // armed while occupied and not yet warned
	stuckAt  time.Time
	gen      int
	halted   bool
}

var _ hal.Loop = (*Loop)(nil)

// NewLoop configures pin (and the fault input, if any) as an input on
// both edges and starts watching it. The initial state is read from the
// pins and not reported as an event; an occupied loop at start arms the
// stuck warning.
func NewLoop(pin gpio.PinIn, cfg LoopConfig) (*Loop, error) {
	if pin == nil {
		return nil, fmt.Errorf("gpio: loop %s: no pin: %w", cfg.Name, ErrConfig)
	}
	if cfg.Debounce < 0 || cfg.StuckAfter < 0 {
		return nil, fmt.Errorf("gpio: loop %s: negative duration: %w", cfg.Name, ErrConfig)
	}
	if cfg.Pull < PullUp || cfg.Pull > PullNone || cfg.FaultPull < PullUp || cfg.FaultPull > PullNone {
		return nil, fmt.Errorf("gpio: loop %s: unknown pull: %w", cfg.Name, ErrConfig)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	l := &Loop{
		name: cfg.Name, clk: clock.Or(cfg.Clock), log: halog.Or(cfg.Logger),
		stuckAfter: cfg.StuckAfter,
		q:          evq.New[hal.LoopEvent](eventBuffer),
	}
	in, err := newInput(pin, cfg.ActiveLow, cfg.Pull, cfg.Debounce, l.clk, l.change)
	if err != nil {
		l.q.Close()
		return nil, fmt.Errorf("gpio: loop %s: configure %s: %w", cfg.Name, pin, err)
	}
	if cfg.DebounceClock != nil {
		in.timers = cfg.DebounceClock
	}
	l.in = in
	if cfg.Fault != nil {
		if l.fault, err = newInput(cfg.Fault, cfg.FaultActiveLow, cfg.FaultPull, cfg.Debounce, l.clk, l.faultChange); err != nil {
			l.q.Close()
			return nil, fmt.Errorf("gpio: loop %s: configure fault input %s: %w", cfg.Name, cfg.Fault, err)
		}
		if cfg.DebounceClock != nil {
			l.fault.timers = cfg.DebounceClock
		}
		l.faulted = l.fault.active
		if l.faulted {
			l.log.Warn("loop detector reports a fault at start: loop taken as occupied", "loop", l.name)
		}
	}
	// nothing runs yet: no lock needed
	l.present = in.active
	l.occupied = l.present || l.faulted
	if l.occupied {
		l.armStuck(l.clk.Now())
	}
	in.start()
	if l.fault != nil {
		l.fault.start()
	}
	return l, nil
}

func (l *Loop) String() string { return l.name }

// change is the loop input's onChange.
func (l *Loop) change(present bool, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted {
		return
	}
	l.present = present
	l.update(at, false)
}

// faultChange is the fault input's onChange.
func (l *Loop) faultChange(faulted bool, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted {
		return
	}
	l.faulted = faulted
	if faulted {
		l.log.Warn("loop detector reports a fault: loop taken as occupied", "loop", l.name)
	} else {
		l.log.Info("loop detector fault cleared", "loop", l.name)
	}
	l.update(at, true)
}

// update reports the combined state after a change; it must be called
// with l.mu held.
func (l *Loop) update(at time.Time, faultChanged bool) {
	occupied := l.present || l.faulted
	if occupied == l.occupied && !faultChanged {
		return
	}
	if l.stuck != nil && !at.Before(l.stuckAt) {
		l.stuckEvent() // due but its goroutine has not run yet
	}
	if occupied != l.occupied {
		l.occupied = occupied
		l.gen++
		if l.stuck != nil {
			l.stuck.Stop()
			l.stuck = nil
		}
		if occupied {
			l.armStuck(at) // armed before the event is queued: a test may advance once it sees it
		}
	}
	l.q.Push(hal.LoopEvent{Loop: l.name, Occupied: occupied, Fault: l.faulted, At: at})
}

// armStuck must be called with l.mu held.
func (l *Loop) armStuck(since time.Time) {
	if l.stuckAfter <= 0 {
		return
	}
	gen := l.gen
	l.stuckAt = since.Add(l.stuckAfter)
	l.stuck = l.clk.AfterFunc(l.stuckAt.Sub(l.clk.Now()), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.halted || l.gen != gen || l.stuck == nil {
			return
		}
		l.stuckEvent()
	})
}

// stuckEvent reports the stuck warning; it must be called with l.mu held.
func (l *Loop) stuckEvent() {
	l.stuck = nil
	l.log.Warn("loop stuck occupied", "loop", l.name, "since", l.stuckAt.Add(-l.stuckAfter), "limit", l.stuckAfter)
	l.q.Push(hal.LoopEvent{Loop: l.name, Occupied: true, Stuck: true, Fault: l.faulted, At: l.stuckAt})
}

// Occupied reports the debounced state: a vehicle on the loop, or the
// detector's fault input active.
func (l *Loop) Occupied() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.occupied
}

// Faulted reports whether the detector's fault input is active.
func (l *Loop) Faulted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.faulted
}

// Edges counts the raw edges seen on the pin: a technician's view of a
// chattering detector or a loose contact.
func (l *Loop) Edges() int64 { return l.in.edges.Load() }

// Idle reports whether the consumer has taken every event emitted so far.
func (l *Loop) Idle() bool { return l.q.Idle() }

// Events delivers every debounced change in order; Halt closes it.
func (l *Loop) Events() <-chan hal.LoopEvent { return l.q.Out() }

// Halt stops watching the pins and closes Events; the reading goroutines
// have ended when it returns (or after a bound, on a pin whose wait
// cannot be interrupted). It is idempotent.
func (l *Loop) Halt() error {
	l.in.halt()
	if l.fault != nil {
		l.fault.halt()
	}
	l.mu.Lock()
	l.halted = true
	l.gen++
	if l.stuck != nil {
		l.stuck.Stop()
		l.stuck = nil
	}
	l.mu.Unlock()
	l.q.Close()
	l.in.wait()
	if l.fault != nil {
		l.fault.wait()
	}
	return nil
}
