package gpio

import (
	"context"
	"errors"
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

// Mode is how a barrier's relays drive the barrier controller's inputs.
type Mode int

const (
	// Pulse energises the commanded relay for BarrierConfig.Pulse and
	// releases it: for controllers with momentary open/close/stop inputs.
	Pulse Mode = iota
	// Level holds the commanded relay energised until the next command or
	// Halt.
	Level
)

func (m Mode) String() string {
	if m == Level {
		return "level"
	}
	return "pulse"
}

// Switch is a limit switch input. ActiveLow: the pin reads Low while the
// arm is at the limit (a contact closing to ground against the pull-up).
type Switch struct {
	Pin       gpio.PinIn
	ActiveLow bool
	Pull      Pull // zero: PullUp
}

// BarrierConfig configures a barrier. Open and Close are required; Stop,
// Up and Down are optional (nil Pin).
//
// Level mode never closes the barrier by itself: Halt keeps a held open
// relay energised (a restart or an update must not drop the arm on what
// stands under it), and NewBarrier holds it again when the up limit
// switch finds the arm up.
type BarrierConfig struct {
	Name              string // the barrier's String(), e.g. "exit1/barrier"
	Open, Close, Stop Relay
	Up, Down          Switch // limit switches
	Mode              Mode
	Pulse             time.Duration // pulse length; 0 means DefaultPulse
	// Travel is the arm's worst-case travel time: without a limit switch
	// for a direction, the arm is taken to arrive after Travel; with one,
	// a command it has not confirmed within Travel is a fault. 0 means
	// DefaultTravel.
	Travel   time.Duration
	Debounce time.Duration // limit switch debounce; 0 means DefaultDebounce
	Clock    clock.Clock   // nil means the wall clock
	// DebounceClock, when set, makes the limit switches' debounce timers
	// only (see LoopConfig.DebounceClock). Nil means Clock.
	DebounceClock clock.Clock
	Logger        *slog.Logger // nil discards
}

// Barrier is a boom barrier driven through relay outputs. Open and Close
// never energise both directions at once: the other relays are released
// before the commanded one is energised.
//
// With limit switches the state follows them, and a command they do not
// confirm within Travel is reported as a fault event. Without them the
// state is inferred: Opening, then Up once Travel has passed.
type Barrier struct {
	name   string
	clk    clock.Clock
	log    *slog.Logger
	mode   Mode
	pulse  time.Duration
	travel time.Duration
	open   relay
	close  relay
	stop   *relay
	up     *input
	down   *input
	q      *evq.Queue[hal.BarrierEvent]

	mu         sync.Mutex
	state      hal.BarrierState
	target     hal.BarrierState // BarrierUp or BarrierDown while a command awaits arrival; else BarrierUnknown
	deadline   time.Time
	timer      clock.Timer
	gen        int
	upActive   bool
	downActive bool
	pulsing    *relay
	held       *relay // level mode: the relay held energised, nil for none
	pulseTimer clock.Timer
	pulseGen   int
	halted     bool
}

var _ hal.Barrier = (*Barrier)(nil)

// NewBarrier configures the limit switches, drives every relay to its
// inactive level (each relay's first level: a pin that becomes an output
// at its first Out never blips) — except, in level mode, the open relay
// of an arm the up limit switch finds up, which is held energised from
// its first instant so that a restart never closes the barrier — and
// starts watching the switches.
func NewBarrier(cfg BarrierConfig) (*Barrier, error) {
	if cfg.Open.Pin == nil || cfg.Close.Pin == nil {
		return nil, fmt.Errorf("gpio: barrier %s: open and close relays are required: %w", cfg.Name, ErrConfig)
	}
	if cfg.Pulse < 0 || cfg.Travel < 0 || cfg.Debounce < 0 || cfg.Mode < Pulse || cfg.Mode > Level {
		return nil, fmt.Errorf("gpio: barrier %s: negative duration or unknown mode: %w", cfg.Name, ErrConfig)
	}
	if cfg.Pulse == 0 {
		cfg.Pulse = DefaultPulse
	}
	if cfg.Travel == 0 {
		cfg.Travel = DefaultTravel
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	b := &Barrier{
		name: cfg.Name, clk: clock.Or(cfg.Clock), log: halog.Or(cfg.Logger),
		mode: cfg.Mode, pulse: cfg.Pulse, travel: cfg.Travel,
		open:  newRelay("open", cfg.Open),
		close: newRelay("close", cfg.Close),
		q:     evq.New[hal.BarrierEvent](eventBuffer),
	}
	if cfg.Stop.Pin != nil {
		s := newRelay("stop", cfg.Stop)
		b.stop = &s
	}
	// The limit switches are read before any relay is driven: in level
	// mode an arm found up stays up (its open relay is driven energised
	// from its first instant), wherever a previous run left it.
	var err error
	if b.up, b.upActive, err = b.limitSwitch(cfg, cfg.Up, true); err != nil {
		b.q.Close()
		return nil, err
	}
	if b.down, b.downActive, err = b.limitSwitch(cfg, cfg.Down, false); err != nil {
		b.q.Close()
		return nil, err
	}
	var hold *relay
	if b.mode == Level && b.upActive && !b.downActive {
		hold = &b.open
		b.held = hold
		b.log.Info("arm found up at start: open relay held", "barrier", b.name)
	}
	err = b.releaseAll(hold)
	if err == nil && hold != nil {
		err = hold.set(true)
	}
	if err != nil {
		b.q.Close()
		return nil, fmt.Errorf("gpio: barrier %s: %w", cfg.Name, err)
	}
	b.state = b.fromSwitches()
	if b.upActive && b.downActive {
		b.log.Warn("both limit switches active", "barrier", b.name)
	}
	if b.up != nil {
		b.up.start()
	}
	if b.down != nil {
		b.down.start()
	}
	return b, nil
}

func (b *Barrier) String() string { return b.name }

// fromSwitches must be called with b.mu held (or before start).
func (b *Barrier) fromSwitches() hal.BarrierState {
	switch {
	case b.upActive && b.downActive:
		return hal.BarrierUnknown
	case b.upActive:
		return hal.BarrierUp
	case b.downActive:
		return hal.BarrierDown
	}
	return hal.BarrierUnknown
}

func (b *Barrier) hasSwitch(s hal.BarrierState) bool {
	if s == hal.BarrierUp {
		return b.up != nil
	}
	return b.down != nil
}

// Open commands the arm up; it returns once the relay is energised.
func (b *Barrier) Open(ctx context.Context) error { return b.command(ctx, "open") }

// Close commands the arm down. It does not look at any loop: the caller
// keeps the lane safe.
func (b *Barrier) Close(ctx context.Context) error { return b.command(ctx, "close") }

// Stop halts the arm. In pulse mode it needs a stop relay
// (ErrNoStopRelay otherwise); in level mode it releases the open and close
// relays and holds the stop relay, if any.
func (b *Barrier) Stop(ctx context.Context) error { return b.command(ctx, "stop") }

func (b *Barrier) command(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gpio: %s %s: %w", b.name, op, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.halted {
		return fmt.Errorf("gpio: %s %s: %w", b.name, op, ErrHalted)
	}
	var r *relay
	switch op {
	case "open":
		r = &b.open
	case "close":
		r = &b.close
	default:
		r = b.stop
		if r == nil && b.mode == Pulse {
			return fmt.Errorf("gpio: %s stop: %w", b.name, ErrNoStopRelay)
		}
	}
	if err := b.drive(r); err != nil {
		return fmt.Errorf("gpio: %s %s: %w", b.name, op, err)
	}
	now := b.clk.Now()
	b.settle(now)
	switch op {
	case "open":
		b.expect(now, hal.BarrierUp, hal.BarrierOpening)
	case "close":
		b.expect(now, hal.BarrierDown, hal.BarrierClosing)
	default:
		b.cancel()
		s := b.fromSwitches()
		if s == hal.BarrierUnknown && (b.state.Moving() || b.state == hal.BarrierStopped) {
			s = hal.BarrierStopped
		} else if s == hal.BarrierUnknown && (b.up == nil || b.down == nil) {
			s = b.state // an inferred end position stays as it is
		}
		b.setState(now, s, "")
	}
	b.log.Debug("barrier command", "barrier", b.name, "op", op, "state", b.state)
	return nil
}

// drive releases every relay but r, then energises r (nil: none) and, in
// pulse mode, arms its release. It must be called with b.mu held.
func (b *Barrier) drive(r *relay) error {
	b.pulseGen++
	if b.pulseTimer != nil {
		b.pulseTimer.Stop()
		b.pulseTimer = nil
	}
	b.pulsing, b.held = nil, nil
	if err := b.releaseAll(r); err != nil {
		return err
	}
	if r == nil {
		return nil
	}
	if err := r.set(true); err != nil {
		return err
	}
	if b.mode == Level {
		b.held = r
	}
	if b.mode == Pulse {
		gen := b.pulseGen
		b.pulsing = r
		b.pulseTimer = b.clk.AfterFunc(b.pulse, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.pulseGen != gen || b.halted {
				return
			}
			if err := r.set(false); err != nil {
				b.log.Error("relay release failed", "barrier", b.name, "err", err)
			}
			b.pulsing, b.pulseTimer = nil, nil
		})
	}
	return nil
}

// releaseAll releases every relay except keep.
func (b *Barrier) releaseAll(keep *relay) error {
	var errs []error
	for _, r := range []*relay{&b.open, &b.close, b.stop} {
		if r != nil && r != keep {
			errs = append(errs, r.set(false))
		}
	}
	return errors.Join(errs...)
}

// expect starts a travel towards to; it must be called with b.mu held.
func (b *Barrier) expect(now time.Time, to, moving hal.BarrierState) {
	if b.hasSwitch(to) && b.fromSwitches() == to {
		// Already there, confirmed by the switch; or reversed before the
		// arm left it: it will not close again to confirm.
		b.cancel()
		b.setState(now, to, "")
		return
	}
	if b.state == to && b.target == hal.BarrierUnknown && !b.hasSwitch(to) {
		return // inferred there already; the pulse was repeated
	}
	b.cancel()
	b.target, b.deadline = to, now.Add(b.travel)
	gen := b.gen
	b.timer = b.clk.AfterFunc(b.travel, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.gen != gen || b.halted {
			return
		}
		b.settle(b.clk.Now())
	})
	b.setState(now, moving, "")
}

// cancel drops a pending travel; it must be called with b.mu held.
func (b *Barrier) cancel() {
	b.gen++
	b.target = hal.BarrierUnknown
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// settle ends a travel whose deadline has passed: arrival when inferred, a
// fault when a limit switch should have confirmed it. State is derived
// from the clock so that it is exact as soon as a fake clock moves; the
// timer only makes sure the event is sent. It must be called with b.mu
// held.
func (b *Barrier) settle(now time.Time) {
	if b.target == hal.BarrierUnknown || now.Before(b.deadline) {
		return
	}
	to, at := b.target, b.deadline
	b.cancel()
	if !b.hasSwitch(to) {
		b.setState(at, to, "")
		return
	}
	verb := "open"
	if to == hal.BarrierDown {
		verb = "close"
	}
	fault := fmt.Sprintf("%s not confirmed by the %s limit switch within %s", verb, to, b.travel)
	b.log.Warn("barrier fault", "barrier", b.name, "fault", fault)
	b.setState(at, b.fromSwitches(), fault)
}

// setState changes the state and reports it; a fault is always reported.
// It must be called with b.mu held.
func (b *Barrier) setState(at time.Time, s hal.BarrierState, fault string) {
	if s == b.state && fault == "" {
		return
	}
	b.state = s
	b.q.Push(hal.BarrierEvent{Barrier: b.name, State: s, At: at, Fault: fault})
}

// limitSwitch configures the up (or down) limit switch sw, nil when it
// has no pin, and returns it with its initial active state.
func (b *Barrier) limitSwitch(cfg BarrierConfig, sw Switch, up bool) (*input, bool, error) {
	if sw.Pin == nil {
		return nil, false, nil
	}
	in, err := newInput(sw.Pin, sw.ActiveLow, sw.Pull, cfg.Debounce, b.clk, b.limit(up))
	if err != nil {
		which := "down"
		if up {
			which = "up"
		}
		return nil, false, fmt.Errorf("gpio: barrier %s: configure %s limit %s: %w", cfg.Name, which, sw.Pin, err)
	}
	if cfg.DebounceClock != nil {
		in.timers = cfg.DebounceClock
	}
	return in, in.active, nil
}

// limit returns the onChange of a limit switch.
func (b *Barrier) limit(up bool) func(bool, time.Time) {
	return func(active bool, at time.Time) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.halted {
			return
		}
		b.settle(at)
		name := "down"
		if up {
			b.upActive = active
			name = "up"
		} else {
			b.downActive = active
		}
		switch s := b.fromSwitches(); {
		case b.upActive && b.downActive:
			b.cancel()
			b.setState(at, hal.BarrierUnknown, "both limit switches active")
		case s != hal.BarrierUnknown:
			fault := ""
			if b.target != hal.BarrierUnknown && b.target != s {
				fault = fmt.Sprintf("arm reached the %s limit while commanded %s", s, b.target)
			}
			b.cancel()
			b.setState(at, s, fault)
		case b.target != hal.BarrierUnknown:
			// left a limit on the way to the other: as commanded
		case b.state == hal.BarrierStopped:
		default:
			b.setState(at, hal.BarrierUnknown, fmt.Sprintf("arm left the %s limit without a command", name))
		}
	}
}

// State reports the known state at the clock's current time.
func (b *Barrier) State() hal.BarrierState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(b.clk.Now())
	return b.state
}

// Idle reports whether the consumer has taken every event emitted so far.
func (b *Barrier) Idle() bool { return b.q.Idle() }

// Events delivers state changes and faults in order; Halt closes it.
func (b *Barrier) Events() <-chan hal.BarrierEvent { return b.q.Out() }

// Halt releases every relay — but, in level mode, a held open relay:
// the arm stays up, as dropping it would close the barrier on whatever
// stands under it —, stops watching the limit switches (their goroutines
// have ended when it returns, or after a bound on a pin whose wait cannot
// be interrupted) and closes Events. It does not pulse stop: an arm
// already travelling completes its travel under the barrier controller.
// It is idempotent.
func (b *Barrier) Halt() error {
	if b.up != nil {
		b.up.halt()
	}
	if b.down != nil {
		b.down.halt()
	}
	b.mu.Lock()
	if b.halted {
		b.mu.Unlock()
		return nil
	}
	b.halted = true
	b.cancel()
	b.pulseGen++
	if b.pulseTimer != nil {
		b.pulseTimer.Stop()
		b.pulseTimer = nil
	}
	var keep *relay
	if b.mode == Level && b.held == &b.open {
		keep = &b.open
		b.log.Info("halted with the arm held up: open relay left energised", "barrier", b.name)
	}
	err := b.releaseAll(keep)
	b.mu.Unlock()
	b.q.Close()
	if b.up != nil {
		b.up.wait()
	}
	if b.down != nil {
		b.down.wait()
	}
	if err != nil {
		return fmt.Errorf("gpio: %s halt: %w", b.name, err)
	}
	return nil
}
