package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/evq"
)

// Occupancy is what the simulated barrier needs of its safety loop.
type Occupancy interface {
	Occupied() bool
}

// Command is one entry of a simulated barrier's command log.
type Command struct {
	At    time.Time
	Op    string           // "open", "close", "stop" or "halt"
	From  hal.BarrierState // the state when the command was given
	Fault string           // non-empty when the command was unsafe
}

// Barrier is a simulated boom barrier. The arm travels between down and up
// in Travel; a reversal mid-way takes the time needed for the distance
// already covered. It starts down.
//
// Unlike a real barrier, it watches its safety loop: a Close while the loop
// is occupied, or the arm reaching the bottom with the loop occupied, is
// reported as a BarrierEvent with Fault set ("would have hit a vehicle") and
// recorded in Faults. That is how end-to-end tests catch unsafe lane logic.
// Every command is recorded with its time in Log.
type Barrier struct {
	name   string
	clk    clock.Clock
	travel time.Duration
	safety Occupancy
	q      *evq.Queue[hal.BarrierEvent]

	mu     sync.Mutex
	state  hal.BarrierState
	height time.Duration // 0 = down, travel = up; valid at since
	since  time.Time
	arrive time.Time // when a moving arm reaches its end
	timer  clock.Timer
	gen    int
	halted bool
	log    []Command
	faults []hal.BarrierEvent
}

var _ hal.Barrier = (*Barrier)(nil)

// FaultHit is the prefix of the Fault text a simulated barrier reports when
// it would have hit a vehicle.
const FaultHit = "would have hit a vehicle"

// NewBarrier returns a barrier, arm down, whose arm travels in travel (0:
// instantly). safety may be nil (no safety check). A nil clk means the wall
// clock.
func NewBarrier(name string, clk clock.Clock, travel time.Duration, safety Occupancy) *Barrier {
	clk = clock.Or(clk)
	if travel < 0 {
		travel = 0
	}
	return &Barrier{
		name: name, clk: clk, travel: travel, safety: safety,
		q:     evq.New[hal.BarrierEvent](eventBuffer),
		state: hal.BarrierDown, since: clk.Now(),
	}
}

func (b *Barrier) String() string { return b.name }

// Travel is the full travel time.
func (b *Barrier) Travel() time.Duration { return b.travel }

// Open starts the arm up.
func (b *Barrier) Open(ctx context.Context) error { return b.command(ctx, "open") }

// Close starts the arm down. It never refuses; if the safety loop is
// occupied it reports a fault (see Barrier).
func (b *Barrier) Close(ctx context.Context) error { return b.command(ctx, "close") }

// Stop halts the arm where it is.
func (b *Barrier) Stop(ctx context.Context) error { return b.command(ctx, "stop") }

func (b *Barrier) command(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: %s %s: %w", b.name, op, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.halted {
		return fmt.Errorf("sim: %s %s: %w", b.name, op, ErrHalted)
	}
	now := b.clk.Now()
	b.settle(now)
	entry := Command{At: now, Op: op, From: b.state}
	switch op {
	case "open":
		if b.state != hal.BarrierUp && b.state != hal.BarrierOpening {
			b.move(now, hal.BarrierOpening)
		}
	case "close":
		if b.safety != nil && b.safety.Occupied() {
			entry.Fault = fmt.Sprintf("%s: close commanded while the safety loop is occupied", FaultHit)
		}
		if b.state != hal.BarrierDown && b.state != hal.BarrierClosing {
			b.move(now, hal.BarrierClosing)
		}
		if entry.Fault != "" {
			b.fault(now, entry.Fault)
		}
	case "stop":
		if b.state.Moving() {
			b.halt(now)
		}
	}
	b.log = append(b.log, entry)
	b.settle(now) // a zero travel arrives at once
	return nil
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

// move must be called with b.mu held.
func (b *Barrier) move(now time.Time, to hal.BarrierState) {
	b.height = b.heightAt(now)
	b.state, b.since = to, now
	left := b.height
	if to == hal.BarrierOpening {
		left = b.travel - b.height
	}
	b.arrive = now.Add(left)
	b.emit(now, "")
	b.arm(left)
}

// halt stops a moving arm where it is; it must be called with b.mu held.
func (b *Barrier) halt(now time.Time) {
	b.height = b.heightAt(now)
	b.since = now
	b.disarm()
	switch b.height {
	case 0:
		b.state = hal.BarrierDown
	case b.travel:
		b.state = hal.BarrierUp
	default:
		b.state = hal.BarrierStopped
	}
	b.emit(now, "")
}

// settle completes a travel whose time has come; it must be called with
// b.mu held. State is derived from the clock, so a test that advances a
// fake clock sees the new state at once; the event follows from the timer.
func (b *Barrier) settle(now time.Time) {
	if !b.state.Moving() || now.Before(b.arrive) {
		return
	}
	at := b.arrive
	b.disarm()
	b.since = at
	if b.state == hal.BarrierOpening {
		b.state, b.height = hal.BarrierUp, b.travel
		b.emit(at, "")
		return
	}
	b.state, b.height = hal.BarrierDown, 0
	b.emit(at, "")
	if b.safety != nil && b.safety.Occupied() {
		b.fault(at, FaultHit+": arm came down while the safety loop is occupied")
	}
}

// arm and disarm must be called with b.mu held.
func (b *Barrier) arm(d time.Duration) {
	b.disarm()
	gen := b.gen
	b.timer = b.clk.AfterFunc(d, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.halted || b.gen != gen {
			return
		}
		b.settle(b.clk.Now())
	})
}

func (b *Barrier) disarm() {
	b.gen++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

func (b *Barrier) emit(at time.Time, fault string) {
	b.q.Push(hal.BarrierEvent{Barrier: b.name, State: b.state, At: at, Fault: fault})
}

func (b *Barrier) fault(at time.Time, fault string) {
	b.emit(at, fault)
	b.faults = append(b.faults, hal.BarrierEvent{Barrier: b.name, State: b.state, At: at, Fault: fault})
}

// State reports the state at the clock's current time.
func (b *Barrier) State() hal.BarrierState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(b.clk.Now())
	return b.state
}

// Events delivers state changes and faults in order; Halt closes it.
func (b *Barrier) Events() <-chan hal.BarrierEvent { return b.q.Out() }

// Log returns a copy of every command given so far, oldest first.
func (b *Barrier) Log() []Command {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Command(nil), b.log...)
}

// Faults returns a copy of every fault reported so far, oldest first.
func (b *Barrier) Faults() []hal.BarrierEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(b.clk.Now())
	return append([]hal.BarrierEvent(nil), b.faults...)
}

// Halt stops a moving arm where it is, records "halt" and closes Events.
// It is idempotent.
func (b *Barrier) Halt() error {
	b.mu.Lock()
	if b.halted {
		b.mu.Unlock()
		return nil
	}
	now := b.clk.Now()
	b.settle(now)
	b.log = append(b.log, Command{At: now, Op: "halt", From: b.state})
	if b.state.Moving() {
		b.halt(now)
	}
	b.disarm()
	b.halted = true
	b.mu.Unlock()
	b.q.Close()
	return nil
}

// Idle reports whether the consumer has taken every event emitted so far;
// tests wait for it before moving the clock.
func (x *Barrier) Idle() bool { return x.q.Idle() }
