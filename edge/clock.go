package edge

import (
	"context"
	"sync"
	"time"

	"laned/hal/clock"
)

// SaneClock is the wall clock as the lanes may use it. A Pi has no
// real-time clock: it boots reading 1970 until NTP answers. While the wall
// clock reads earlier than the floor (the build time, or the newest time in
// the store), SaneClock counts on from the floor with the elapsed time of
// the underlying clock, so that no record is stamped, no stay priced and no
// uplink signed in the past; it reports Unset so that the console and logs
// can say so. Once the wall clock passes the floor it is used as it is, and
// the callback tells by how much the times handed out meanwhile were
// behind (see Fixup).
type SaneClock struct {
	base clock.Clock

	mu       sync.Mutex
	floor    time.Time
	unset    bool
	anchor   time.Duration // base monotonic reading when the estimate started
	estStart time.Time     // the estimate at anchor
	fixFrom  time.Time     // the first estimate handed out while unset
	fixup    time.Duration
	onSet    func(Fixup)
	pending  []Fixup       // fix-ups Run has yet to hand to onSet
	ready    chan struct{} // pending has some
}

// Fixup says how to correct the times a SaneClock estimated while the wall
// clock was unset: every time in [From, To] was Delta too early.
type Fixup struct {
	From, To time.Time
	Delta    time.Duration
}

var _ clock.Clock = (*SaneClock)(nil)

// NewSaneClock wraps base with floor as the earliest time it will tell.
// onSet, if not nil, is called by Run each time the wall clock becomes
// sane after having been unset, with the window of estimated times and the
// amount by which they were behind.
func NewSaneClock(base clock.Clock, floor time.Time, onSet func(Fixup)) *SaneClock {
	c := &SaneClock{base: clock.Or(base), floor: floor, onSet: onSet, ready: make(chan struct{}, 1)}
	c.Now()
	return c
}

// Now returns the wall time, or the estimate while the wall clock is unset.
func (c *SaneClock) Now() time.Time {
	now, mono := c.base.Now(), c.base.Mono()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !now.Before(c.floor) {
		if c.unset {
			// The wall clock has been set: the estimate was behind by
			// the difference.
			est := c.estStart.Add(mono - c.anchor)
			c.unset = false
			c.fixup = now.Sub(est)
			if c.onSet != nil {
				// For Run: onSet writes to the store and waits on the
				// lanes, and Now is called from both.
				c.pending = append(c.pending, Fixup{From: c.fixFrom, To: est, Delta: c.fixup})
				select {
				case c.ready <- struct{}{}:
				default:
				}
			}
		}
		return now
	}
	if !c.unset {
		c.unset = true
		c.anchor = mono
		c.estStart = c.floor
		c.fixFrom = c.floor
	}
	est := c.estStart.Add(mono - c.anchor)
	if est.Before(c.floor) {
		est = c.floor
	}
	return est
}

// Run hands the fix-ups to onSet, in order and one at a time, until ctx
// ends; those not handed over by then are dropped. Now never calls onSet
// nor starts a goroutine: whoever runs Run owns the fix-ups' work (their
// store writes) and stops it.
func (c *SaneClock) Run(ctx context.Context) {
	for {
		c.mu.Lock()
		fs := c.pending
		c.pending = nil
		c.mu.Unlock()
		for _, f := range fs {
			if ctx.Err() != nil {
				return
			}
			c.onSet(f)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.ready:
		}
	}
}

// Unset reports whether the wall clock reads earlier than the floor.
func (c *SaneClock) Unset() bool {
	c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unset
}

// RaiseFloor moves the floor up to t (never down): the store's newest time
// is a floor too.
func (c *SaneClock) RaiseFloor(t time.Time) {
	c.mu.Lock()
	if t.After(c.floor) {
		c.floor = t
		if c.unset && c.estStart.Before(t) {
			c.estStart, c.anchor = t, c.base.Mono()
		}
	}
	c.mu.Unlock()
}

// Floor returns the current floor.
func (c *SaneClock) Floor() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.floor
}

func (c *SaneClock) Mono() time.Duration { return c.base.Mono() }

func (c *SaneClock) NewTimer(d time.Duration) clock.Timer { return c.base.NewTimer(d) }

func (c *SaneClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return c.base.AfterFunc(d, f)
}

// AfterFuncInline runs f inline as the base clock moves when the base can
// (clock.Fake, the sim clock), else as AfterFunc does.
func (c *SaneClock) AfterFuncInline(d time.Duration, f func()) clock.Timer {
	if in, ok := c.base.(clock.Inliner); ok {
		return in.AfterFuncInline(d, f)
	}
	return c.base.AfterFunc(d, f)
}
