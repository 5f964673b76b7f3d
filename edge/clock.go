package edge

import (
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
}

// Fixup says how to correct the times a SaneClock estimated while the wall
// clock was unset: every time in [From, To] was Delta too early.
type Fixup struct {
	From, To time.Time
	Delta    time.Duration
}

var _ clock.Clock = (*SaneClock)(nil)

// NewSaneClock wraps base with floor as the earliest time it will tell.
// onSet, if not nil, is called (in its own goroutine) each time the wall
// clock becomes sane after having been unset, with the window of estimated
// times and the amount by which they were behind.
func NewSaneClock(base clock.Clock, floor time.Time, onSet func(Fixup)) *SaneClock {
	c := &SaneClock{base: clock.Or(base), floor: floor, onSet: onSet}
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
				go c.onSet(Fixup{From: c.fixFrom, To: est, Delta: c.fixup})
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
