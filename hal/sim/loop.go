package sim

import (
	"sync"
	"time"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/evq"
)

// Loop is a simulated inductive loop. A script sets it occupied or clear;
// every change is delivered as a hal.LoopEvent stamped with the injected
// clock's time.
type Loop struct {
	name string
	clk  clock.Clock
	q    *evq.Queue[hal.LoopEvent]

	mu         sync.Mutex
	occupied   bool
	since      time.Time // when the current state began
	halted     bool
	stuckAfter time.Duration
	stuck      clock.Timer // armed while occupied and not yet warned
	stuckAt    time.Time
	gen        int // invalidates a stuck timer that fired late
}

var _ hal.Loop = (*Loop)(nil)

// NewLoop returns a clear loop named name. A nil clk means the wall clock.
func NewLoop(name string, clk clock.Clock) *Loop {
	clk = clock.Or(clk)
	return &Loop{name: name, clk: clk, q: evq.New[hal.LoopEvent](eventBuffer), since: clk.Now()}
}

func (l *Loop) String() string { return l.name }

// Set makes the loop occupied or clear. A change emits one LoopEvent at the
// clock's time; setting the state it already has emits nothing, as a real
// debounced loop would not. Set after Halt is ignored.
func (l *Loop) Set(occupied bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.halted || l.occupied == occupied {
		return
	}
	now := l.clk.Now()
	if l.stuck != nil && !now.Before(l.stuckAt) {
		l.stuckEvent() // due but its goroutine has not run yet
	}
	l.occupied, l.since = occupied, now
	l.gen++
	if l.stuck != nil {
		l.stuck.Stop()
		l.stuck = nil
	}
	l.q.Push(hal.LoopEvent{Loop: l.name, Occupied: occupied, At: now})
	if occupied && l.stuckAfter > 0 {
		l.armStuck(l.gen, now.Add(l.stuckAfter))
	}
}

// SetStuckAfter makes the loop warn (a LoopEvent with Stuck set) once it
// has been occupied for d without a break; 0 disables the warning. It
// applies from the next occupation.
func (l *Loop) SetStuckAfter(d time.Duration) {
	l.mu.Lock()
	l.stuckAfter = d
	l.mu.Unlock()
}

// armStuck must be called with l.mu held.
func (l *Loop) armStuck(gen int, at time.Time) {
	l.stuckAt = at
	l.stuck = l.clk.AfterFunc(at.Sub(l.clk.Now()), func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.halted || l.gen != gen || l.stuck == nil {
			return
		}
		l.stuckEvent()
	})
}

// stuckEvent must be called with l.mu held.
func (l *Loop) stuckEvent() {
	l.stuck = nil
	l.q.Push(hal.LoopEvent{Loop: l.name, Occupied: true, Stuck: true, At: l.stuckAt})
}

// Occupied reports the current state.
func (l *Loop) Occupied() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.occupied
}

// Events delivers every change in order; Halt closes it.
func (l *Loop) Events() <-chan hal.LoopEvent { return l.q.Out() }

// Halt stops the loop and closes its Events channel. It is idempotent.
func (l *Loop) Halt() error {
	l.mu.Lock()
	l.halted = true
	l.gen++
	if l.stuck != nil {
		l.stuck.Stop()
		l.stuck = nil
	}
	l.mu.Unlock()
	l.q.Close()
	return nil
}

// Idle reports whether the consumer has taken every event emitted so far;
// tests wait for it before moving the clock.
func (x *Loop) Idle() bool { return x.q.Idle() }
