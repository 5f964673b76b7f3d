package edge

import (
	"context"
	"testing"
	"time"

	"laned/hal/clock"
)

func TestSaneClock(t *testing.T) {
	build := time.Unix(1790000000, 0)
	base := clock.NewFake(time.Unix(30, 0)) // a Pi just booted: 1970
	fixes := make(chan Fixup, 1)
	c := NewSaneClock(base, build, func(f Fixup) { fixes <- f })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); c.Run(ctx) }()
	defer func() { cancel(); <-ran }()

	if !c.Unset() {
		t.Fatal("Unset() = false at 1970; want true")
	}
	if got := c.Now(); !got.Equal(build) {
		t.Errorf("Now() at boot = %v; want the floor %v", got, build)
	}
	base.Advance(90 * time.Second)
	if got, want := c.Now(), build.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("Now() after 90s unset = %v; want %v", got, want)
	}
	// The store knows a newer time: the estimate moves up to it.
	newest := build.Add(time.Hour)
	c.RaiseFloor(newest)
	if got := c.Now(); got.Before(newest) {
		t.Errorf("Now() after RaiseFloor = %v; want ≥ %v", got, newest)
	}
	base.Advance(10 * time.Second)
	if got, want := c.Now(), newest.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("Now() = %v; want %v", got, want)
	}

	// NTP sets the clock.
	real := newest.Add(48 * time.Hour)
	base.Set(real)
	if got := c.Now(); !got.Equal(real) {
		t.Errorf("Now() after NTP = %v; want %v", got, real)
	}
	if c.Unset() {
		t.Error("Unset() = true after NTP")
	}
	f := <-fixes
	if want := real.Sub(newest.Add(10 * time.Second)); f.Delta != want {
		t.Errorf("fix-up delta = %v; want %v", f.Delta, want)
	}
	if !f.From.Equal(build) || !f.To.Equal(newest.Add(10*time.Second)) {
		t.Errorf("fix-up window = [%v, %v]; want [%v, %v]", f.From, f.To, build, newest.Add(10*time.Second))
	}
}

func TestSaneClockNeverBelowFloor(t *testing.T) {
	build := time.Unix(1790000000, 0)
	base := clock.NewFake(build.Add(time.Hour))
	c := NewSaneClock(base, build, nil)
	if c.Unset() {
		t.Fatal("Unset() with a sane clock")
	}
	base.Set(time.Unix(0, 0)) // the RTC battery died and the clock jumped back
	if got := c.Now(); got.Before(build) {
		t.Errorf("Now() = %v; want ≥ floor %v", got, build)
	}
	if !c.Unset() {
		t.Error("Unset() = false after a jump below the floor")
	}
}

// TestSaneClockFixupsOwnedByRun: Now starts no goroutine for a fix-up (its
// store write): the fix-up waits for Run, which hands it over and stops
// when its context ends; one that comes after is kept, not run.
func TestSaneClockFixupsOwnedByRun(t *testing.T) {
	build := time.Unix(1790000000, 0)
	base := clock.NewFake(time.Unix(30, 0))
	fixes := make(chan Fixup, 4)
	c := NewSaneClock(base, build, func(f Fixup) { fixes <- f })
	pending := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending)
	}
	set := func(at time.Time) {
		base.Set(at)
		if got := c.Now(); !got.Equal(at) {
			t.Fatalf("Now() after the clock was set = %v; want %v", got, at)
		}
	}

	set(build.Add(time.Hour))
	if n := pending(); n != 1 {
		t.Fatalf("%d fix-ups pending after the clock was set; want 1, waiting for Run", n)
	}
	select {
	case f := <-fixes:
		t.Fatalf("fix-up %+v handed over without Run", f)
	default:
	}

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); c.Run(ctx) }()
	if f := <-fixes; f.Delta <= 0 {
		t.Errorf("fix-up delta = %v; want > 0", f.Delta)
	}
	cancel()
	<-ran // Run returns once its context ends

	base.Set(time.Unix(60, 0)) // unset again, then set: a second fix-up
	c.Now()
	set(build.Add(2 * time.Hour))
	if n := pending(); n != 1 {
		t.Errorf("%d fix-ups pending with Run stopped; want 1, kept", n)
	}
	select {
	case f := <-fixes:
		t.Errorf("fix-up %+v handed over after Run stopped", f)
	default:
	}
}
