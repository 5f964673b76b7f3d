package sim

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/hal"
	"laned/hal/clock"
	halgpio "laned/hal/gpio"
)

// Occupancy is what the simulated arm needs of the loop under it: whether
// a vehicle physically stands there.
type Occupancy interface {
	Present() bool
}

// Command is one entry of a simulated barrier's command log: a relay the
// driver energised (or Halt).
type Command struct {
	At    time.Time
	Op    string           // "open", "close", "stop" or "halt"
	From  hal.BarrierState // where the arm was when the command was given
	Fault string           // non-empty when the command was unsafe
}

// BarrierConfig sets up a simulated barrier.
type BarrierConfig struct {
	// Travel is the arm's travel between the limits; 0 means DefaultTravel.
	Travel time.Duration
	// Timeout is the driver's worst-case travel (hal/gpio's Travel): a
	// command the limit switches have not confirmed by then is a fault. 0
	// means twice Travel.
	Timeout time.Duration
	// Level drives the relays in level mode; else pulses of Pulse (0:
	// hal/gpio's default).
	Level bool
	Pulse time.Duration
	// Debounce of the limit switches; 0: hal/gpio's default.
	Debounce time.Duration
	// NoLimits leaves the limit switches unwired: the driver infers the
	// arm's position from Timeout.
	NoLimits bool
}

// Barrier is a boom barrier: the real hal/gpio barrier driver energising
// fake relay lines (open, close, stop; active low) wired to a simulated
// barrier controller whose arm moves. The controller acts on each
// relay's energising: open raises the arm, close lowers it, stop halts
// it; a reversal mid-way takes the time for the distance covered. Limit
// switches (active low) close when the arm arrives at their end and open
// once it has left it by a twentieth of its travel; the driver reads them
// through its debounce.
// The arm starts down.
//
// Unlike a real barrier, the arm watches the loop under it: a close while
// a vehicle stands there, or the arm reaching the bottom onto one, is
// recorded in Faults ("would have hit a vehicle"). That is how end-to-end
// tests catch unsafe lane logic. Every relay energised is recorded in Log.
//
// On a clock.Fake the arm moves at the exact instants (its timers run
// inline as the clock is advanced), so that a test sees the driver's
// state follow the limit switches deterministically.
type Barrier struct {
	*halgpio.Barrier
	name   string
	clk    clock.Clock
	travel time.Duration
	near   time.Duration // a limit switch is closed within near of its end
	safety Occupancy
	up     *line // nil when unwired
	down   *line
	busy   atomic.Int32 // arm steps running outside the clock's own goroutine

	mu     sync.Mutex
	state  hal.BarrierState
	height time.Duration // 0 = down, travel = up; valid at since
	since  time.Time
	timer  clock.Timer
	next   time.Time // when the pending timer is due
	gen    int
	halted bool
	log    []Command
	faults []hal.BarrierEvent
	on     map[string]bool // relays energised

	upClosed, downClosed bool // the limit switches, moved by step

	drives sync.Mutex // one arm step drives the limit switches at a time
}

var _ hal.Barrier = (*Barrier)(nil)

// FaultHit is the prefix of the Fault text a simulated barrier records
// when it would have hit a vehicle.
const FaultHit = "would have hit a vehicle"

// NewBarrier returns a barrier with limit switches, arm down, whose arm
// travels in travel (0: DefaultTravel), in pulse mode. safety may be nil
// (no safety check). A nil clk means the wall clock.
func NewBarrier(name string, clk clock.Clock, travel time.Duration, safety Occupancy) *Barrier {
	b, err := OpenBarrier(name, clk, BarrierConfig{Travel: travel}, safety)
	if err != nil {
		panic(err) // a fixed, valid configuration on fake lines
	}
	return b
}

// OpenBarrier returns a barrier, arm down; it fails on a bad
// configuration.
func OpenBarrier(name string, clk clock.Clock, cfg BarrierConfig, safety Occupancy) (*Barrier, error) {
	clk = clock.Or(clk)
	if cfg.Travel < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("sim: barrier %s: negative travel or timeout", name)
	}
	if cfg.Travel == 0 {
		cfg.Travel = DefaultTravel
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * cfg.Travel
	}
	b := &Barrier{
		name: name, clk: clk, travel: cfg.Travel, near: cfg.Travel / 20, safety: safety,
		state: hal.BarrierDown, since: clk.Now(), on: map[string]bool{}, downClosed: true,
	}
	relay := func(op string) *line {
		ln := newLine(name+"/"+op+"-relay", gpio.High, nil)
		ln.onOut = func(l gpio.Level) { b.relay(op, l == gpio.Low) }
		return ln
	}
	bc := halgpio.BarrierConfig{
		Name: name, Pulse: cfg.Pulse, Travel: cfg.Timeout, Debounce: cfg.Debounce, Clock: clk,
		Open:  halgpio.Relay{Pin: relay("open"), ActiveLow: true},
		Close: halgpio.Relay{Pin: relay("close"), ActiveLow: true},
		Stop:  halgpio.Relay{Pin: relay("stop"), ActiveLow: true},
	}
	if cfg.Level {
		bc.Mode = halgpio.Level
	}
	if !cfg.NoLimits {
		dc := newDebounceClock(clk)
		b.up = newLine(name+"/up-limit", gpio.High, dc)
		b.down = newLine(name+"/down-limit", gpio.Low, dc)
		bc.Up = halgpio.Switch{Pin: b.up, ActiveLow: true}
		bc.Down = halgpio.Switch{Pin: b.down, ActiveLow: true}
		bc.DebounceClock = dc
	}
	gb, err := halgpio.NewBarrier(bc)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	b.Barrier = gb
	return b, nil
}

// Travel is the arm's full travel time.
func (b *Barrier) Travel() time.Duration { return b.travel }

// relay is the controller seeing a relay line change; it runs with the
// driver's lock held, so it only moves the arm's plan and arms timers.
func (b *Barrier) relay(op string, energised bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.on[op]
	b.on[op] = energised
	if !energised || b.halted {
		return
	}
	now := b.clk.Now()
	entry := Command{At: now, Op: op, From: b.stateAt(now)}
	if was {
		b.log = append(b.log, entry) // commanded again while held: no new edge for the controller
		return
	}
	b.settle(now)
	switch op {
	case "open":
		if b.state != hal.BarrierUp && b.state != hal.BarrierOpening {
			b.move(now, hal.BarrierOpening)
		}
	case "close":
		if b.safety != nil && b.safety.Present() {
			entry.Fault = FaultHit + ": close commanded while the safety loop is occupied"
			b.fault(now, entry.Fault)
		}
		if b.state != hal.BarrierDown && b.state != hal.BarrierClosing {
			b.move(now, hal.BarrierClosing)
		}
	case "stop":
		if b.state.Moving() {
			b.height, b.since = b.heightAt(now), now
			b.state = hal.BarrierStopped
			b.schedule(now) // cancels the pending step
		}
	}
	b.log = append(b.log, entry)
}

// heightAt must be called with b.mu held.
func (b *Barrier) heightAt(now time.Time) time.Duration {
	d := now.Sub(b.since)
	switch b.state {
	case hal.BarrierOpening:
		return min(b.travel, b.height+d)
	case hal.BarrierClosing:
		return max(0, b.height-d)
	}
	return b.height
}

// stateAt is the arm's state at now; it must be called with b.mu held.
func (b *Barrier) stateAt(now time.Time) hal.BarrierState {
	h := b.heightAt(now)
	switch {
	case b.state == hal.BarrierOpening && h == b.travel:
		return hal.BarrierUp
	case b.state == hal.BarrierClosing && h == 0:
		return hal.BarrierDown
	}
	return b.state
}

// move must be called with b.mu held.
func (b *Barrier) move(now time.Time, to hal.BarrierState) {
	b.height, b.since, b.state = b.heightAt(now), now, to
	b.schedule(now)
}

// settle ends a travel whose time has come; it must be called with b.mu
// held. It reports whether the arm came down onto a vehicle.
func (b *Barrier) settle(now time.Time) {
	s := b.stateAt(now)
	if s == b.state {
		return
	}
	b.height, b.since, b.state = b.heightAt(now), now, s
	if s == hal.BarrierDown && b.safety != nil && b.safety.Present() {
		b.fault(now, FaultHit+": arm came down while the safety loop is occupied")
	}
}

// switches moves the limit switches with the arm: a switch closes when
// the arm arrives at its end and opens once the arm has left the end by
// near. It must be called with b.mu held.
func (b *Barrier) switches(now time.Time) (up, down bool) {
	h := b.heightAt(now)
	if h == b.travel {
		b.upClosed = true
	} else if h < b.travel-b.near {
		b.upClosed = false
	}
	if h == 0 {
		b.downClosed = true
	} else if h > b.near {
		b.downClosed = false
	}
	return b.upClosed, b.downClosed
}

// milestone is the next instant after now at which the arm leaves a
// limit switch or arrives at an end; zero when it rests. It must be
// called with b.mu held.
func (b *Barrier) milestone(now time.Time) time.Time {
	if !b.state.Moving() {
		return time.Time{}
	}
	h := b.heightAt(now)
	var marks []time.Duration // heights it will pass, in order
	if b.state == hal.BarrierOpening {
		for _, m := range []time.Duration{b.near + 1, b.travel} {
			if m > h {
				marks = append(marks, m-h)
			}
		}
	} else {
		for _, m := range []time.Duration{b.travel - b.near - 1, 0} {
			if m < h {
				marks = append(marks, h-m)
			}
		}
	}
	if len(marks) == 0 {
		return now
	}
	return now.Add(marks[0])
}

// schedule arms the timer of the next step (or a step now, for a stop);
// it must be called with b.mu held, under the driver's lock: a step due
// at once runs in a goroutine of its own.
func (b *Barrier) schedule(now time.Time) {
	b.gen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	gen := b.gen
	at := b.milestone(now)
	if at.IsZero() {
		return // at rest: the switches stand where the last step put them
	}
	if !at.After(now) {
		b.busy.Add(1)
		go func() {
			defer b.busy.Add(-1)
			b.step(gen)
		}()
		return
	}
	b.next = at
	f := func() { b.step(gen) }
	if in, ok := b.clk.(clock.Inliner); ok {
		b.timer = in.AfterFuncInline(at.Sub(now), f)
		return
	}
	b.timer = b.clk.AfterFunc(at.Sub(now), f)
}

// step moves the arm to the clock's time, sets the limit switches where it
// stands and schedules the next step.
func (b *Barrier) step(gen int) {
	b.drives.Lock()
	defer b.drives.Unlock()
	b.mu.Lock()
	if b.halted {
		b.mu.Unlock()
		return
	}
	now := b.clk.Now()
	b.settle(now)
	up, down := b.switches(now)
	if gen == b.gen {
		b.timer = nil
		if b.state.Moving() {
			b.schedule(now)
		}
	}
	b.mu.Unlock()
	b.set(b.up, up)
	b.set(b.down, down)
}

// set drives a limit switch line to where the arm puts it; it must be
// called without b.mu.
func (b *Barrier) set(ln *line, closed bool) {
	if ln == nil {
		return
	}
	if ln.Read() != level(closed) {
		ln.drive(level(closed))
	}
}

// fault must be called with b.mu held.
func (b *Barrier) fault(at time.Time, fault string) {
	b.faults = append(b.faults, hal.BarrierEvent{Barrier: b.name, State: b.state, At: at, Fault: fault})
}

// Arm reports where the arm physically is, at the clock's time.
func (b *Barrier) Arm() hal.BarrierState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateAt(b.clk.Now())
}

// Log returns a copy of every command given so far, oldest first.
func (b *Barrier) Log() []Command {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Command(nil), b.log...)
}

// Faults returns a copy of every fault recorded so far, oldest first.
func (b *Barrier) Faults() []hal.BarrierEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(b.clk.Now())
	return append([]hal.BarrierEvent(nil), b.faults...)
}

// Halt halts the driver (which releases the relays: the arm completes a
// travel under its controller) and then the arm. It is idempotent.
func (b *Barrier) Halt() error {
	err := b.Barrier.Halt()
	b.mu.Lock()
	if !b.halted {
		now := b.clk.Now()
		b.log = append(b.log, Command{At: now, Op: "halt", From: b.stateAt(now)})
		b.halted = true
		b.gen++
		if b.timer != nil {
			b.timer.Stop()
			b.timer = nil
		}
	}
	b.mu.Unlock()
	for _, ln := range []*line{b.up, b.down} {
		if ln != nil {
			ln.Halt()
		}
	}
	return err
}

// Idle reports whether the consumer has taken every event, and the arm
// has played every step due by the clock's time through the driver.
func (b *Barrier) Idle() bool {
	if b.busy.Load() != 0 || !b.Barrier.Idle() {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.timer == nil || b.clk.Now().Before(b.next)
}
