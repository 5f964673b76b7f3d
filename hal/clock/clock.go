// Package clock is the time source injected into drivers and lane logic, so
// that tests control time precisely. Real wraps package time; Fake moves only
// when a test advances it. It is not a scheduler and holds no business rules.
package clock

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// Mono is a monotonic reading: it only moves forward, at the pace of
	// real time, whatever the wall clock does (NTP setting it, a battery-
	// less RTC reading 1970). Only differences between readings mean
	// anything.
	Mono() time.Duration
	// NewTimer returns a timer that sends the current time on C after d.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is the part of *time.Timer that callers use.
type Timer interface {
	// C is nil for timers made by AfterFunc.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
	// Reset changes the timer to fire after d; it reports whether the
	// timer had been active.
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

func (Real) Now() time.Time { return time.Now() }

var monoStart = time.Now()

func (Real) Mono() time.Duration { return time.Since(monoStart) }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Or returns c, or Real when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Every calls fn after first and then every period after fn returns,
// until ctx ends, on one timer of c.
func Every(ctx context.Context, c Clock, first, period time.Duration, fn func()) {
	t := c.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		fn()
		t.Reset(period)
	}
}

// Fake is a clock for tests: time stands still until Advance or Set.
// Timers whose deadline is reached fire in deadline order, synchronously
// for channel timers (buffered, one slot, like package time) and in a new
// goroutine for AfterFunc timers.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	mono   time.Duration
	timers []*fakeTimer
	seq    int
}

var _ Clock = (*Fake)(nil)

// NewFake returns a fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Mono moves with Advance, not with Set.
func (f *Fake) Mono() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mono
}

func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.start(&fakeTimer{f: f, c: make(chan time.Time, 1)}, d)
}

func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.start(&fakeTimer{f: f, fn: fn}, d)
}

// start arms t to fire after d and fires what is due (t itself when d <= 0).
func (f *Fake) start(t *fakeTimer, d time.Duration) Timer {
	f.mu.Lock()
	f.arm(t, d)
	f.mu.Unlock()
	f.fire()
	return t
}

// AfterFuncInline is AfterFunc whose f runs in the goroutine that moves
// the clock, at the timer's deadline and before later timers fire: a
// simulator's physics (hal/sim's barrier arm reaching a limit switch) is
// applied at the exact instant, and Advance returns only once it has. f
// must not move the clock. A timer that falls due other than by Advance or
// Set (d <= 0, or reached by a concurrent Advance while the caller arms
// its own timer) runs f in a goroutine of its own, as AfterFunc does: the
// caller may hold a lock f needs.
func (f *Fake) AfterFuncInline(d time.Duration, fn func()) Timer {
	return f.start(&fakeTimer{f: f, fn: fn, inline: true}, d)
}

// Inliner is a clock that can run a timer's function inline (Fake).
type Inliner interface {
	AfterFuncInline(d time.Duration, f func()) Timer
}

// Advance moves the clock forward by d, firing every timer due on the way
// in deadline order. The monotonic reading moves by d too.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mono += d
	f.mu.Unlock()
	f.advanceTo(target, true, false)
}

// Set moves the wall clock to t, as NTP or an operator would: the
// monotonic reading does not move. Moving backwards is allowed and fires
// nothing; moving forwards fires the timers due (timers here run on the
// wall reading, a simplification tests can live with).
func (f *Fake) Set(t time.Time) { f.advanceTo(t, true, true) }

// Pending reports how many timers are armed; tests use it to wait until a
// goroutine under test has armed its timer.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitPending blocks until at least n timers are armed.
func (f *Fake) WaitPending(n int) {
	for f.Pending() < n {
		time.Sleep(time.Millisecond)
	}
}

// advanceTo fires the timers due by target; inline timers run in the
// caller only when it is moving the clock (inline). Only Set (set) may move
// the clock backwards: another goroutine may have moved it past target
// meanwhile (fire reads the time, then delivers), and going back to a
// stale reading would run the clock backwards under everyone.
func (f *Fake) advanceTo(target time.Time, inline, set bool) {
	for {
		f.mu.Lock()
		if len(f.timers) == 0 || f.timers[0].when.After(target) {
			if set || target.After(f.now) {
				f.now = target
			}
			f.mu.Unlock()
			return
		}
		t := f.timers[0]
		f.timers = f.timers[1:]
		t.active = false
		if t.when.After(f.now) {
			f.now = t.when
		}
		now := f.now
		f.mu.Unlock()
		t.deliver(now, inline)
	}
}

// fire delivers timers already due (a timer armed with d <= 0).
func (f *Fake) fire() {
	f.mu.Lock()
	now := f.now
	f.mu.Unlock()
	f.advanceTo(now, false, false)
}

// arm must be called with f.mu held.
func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	f.remove(t)
	f.seq++
	t.when, t.seq, t.active = f.now.Add(d), f.seq, true
	f.timers = append(f.timers, t)
	sort.SliceStable(f.timers, func(i, j int) bool {
		a, b := f.timers[i], f.timers[j]
		if !a.when.Equal(b.when) {
			return a.when.Before(b.when)
		}
		return a.seq < b.seq
	})
}

// remove must be called with f.mu held.
func (f *Fake) remove(t *fakeTimer) bool {
	i := slices.Index(f.timers, t)
	if i >= 0 {
		f.timers = slices.Delete(f.timers, i, i+1)
	}
	return i >= 0
}

type fakeTimer struct {
	f      *Fake
	c      chan time.Time
	fn     func()
	inline bool // fn runs in the goroutine moving the clock
	when   time.Time
	seq    int
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.active = false
	return t.f.remove(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	was := t.f.remove(t)
	if t.c != nil { // like Go 1.23+ timers: a reset drains a stale value
		select {
		case <-t.c:
		default:
		}
	}
	t.f.arm(t, d)
	t.f.mu.Unlock()
	t.f.fire()
	return was
}

func (t *fakeTimer) deliver(now time.Time, inline bool) {
	if t.fn != nil && t.inline && inline {
		t.fn()
		return
	}
	if t.fn != nil {
		go t.fn()
		return
	}
	select {
	case t.c <- now:
	default:
	}
}
