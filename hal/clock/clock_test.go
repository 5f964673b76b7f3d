package clock

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestFakeTimersFireInOrder(t *testing.T) {
	start := time.Unix(1700000000, 0)
	f := NewFake(start)
	t1 := f.NewTimer(2 * time.Second)
	t2 := f.NewTimer(time.Second)
	var called atomic.Int32
	done := make(chan struct{})
	f.AfterFunc(3*time.Second, func() { called.Add(1); close(done) })

	f.Advance(1500 * time.Millisecond)
	select {
	case got := <-t2.C():
		if want := start.Add(time.Second); !got.Equal(want) {
			t.Errorf("t2 fired at %v; want %v", got, want)
		}
	default:
		t.Fatal("t2 did not fire after 1.5s")
	}
	select {
	case <-t1.C():
		t.Fatal("t1 fired early")
	default:
	}
	if t1.Stop() != true {
		t.Error("Stop of an armed timer = false; want true")
	}
	f.Advance(2 * time.Second)
	<-done
	if called.Load() != 1 {
		t.Errorf("AfterFunc called %d times; want 1", called.Load())
	}
	select {
	case <-t1.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if got, want := f.Now(), start.Add(3500*time.Millisecond); !got.Equal(want) {
		t.Errorf("Now() = %v; want %v", got, want)
	}
}

func TestFakeReset(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tm := f.NewTimer(time.Second)
	f.Advance(time.Second)
	if tm.Reset(time.Second) {
		t.Error("Reset of a fired timer = true; want false")
	}
	select {
	case <-tm.C():
		t.Fatal("Reset did not drain the stale value")
	default:
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("fired early")
	default:
	}
	f.Advance(time.Millisecond)
	select {
	case <-tm.C():
	default:
		t.Fatal("did not fire after reset period")
	}
	if f.Pending() != 0 {
		t.Errorf("Pending() = %d; want 0", f.Pending())
	}
}

func TestOr(t *testing.T) {
	if _, ok := Or(nil).(Real); !ok {
		t.Error("Or(nil) is not Real")
	}
	f := NewFake(time.Time{})
	if Or(f) != Clock(f) {
		t.Error("Or(f) != f")
	}
}

// A timer armed by another goroutine while the clock moves must never
// take the clock back to the reading it saw when it armed (the demo once
// printed a step at 11:31 that Advance had taken to 11:40).
func TestFakeNeverRunsBackwards(t *testing.T) {
	start := time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC)
	f := NewFake(start)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			f.AfterFunc(0, func() {})
			f.NewTimer(time.Hour).Stop()
		}
	}()
	for i := 1; i <= 2000; i++ {
		f.Advance(time.Minute)
		if got, want := f.Now(), start.Add(time.Duration(i)*time.Minute); !got.Equal(want) {
			close(stop)
			<-done
			t.Fatalf("after %d Advance(1m) Now() = %s; want %s", i, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
	}
	close(stop)
	<-done
	// Set alone may go back.
	f.Set(start)
	if got := f.Now(); !got.Equal(start) {
		t.Errorf("Set(%s) then Now() = %s", start, got)
	}
}
