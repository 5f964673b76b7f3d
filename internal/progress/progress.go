// Package progress lets tests wait on progress instead of on a wall-clock
// deadline. A wait fails only when what it waits for has not happened and
// nothing it watches has moved for Stall: on a busy machine a wait is slow,
// never failed. It is for tests only; no production code imports it.
package progress

import (
	"fmt"
	"time"
)

// Stall is how long nothing may move before a wait gives up. It only turns
// a hang into a failure: no test asserts anything about it.
const Stall = 2 * time.Minute

// TB is the part of testing.TB a wait needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Watch tells a stall from slow progress. moved (nil: nothing to watch)
// returns a comparable snapshot of what the system under test has done —
// counters, lengths, sequence numbers; a wait is stalled when the snapshot
// has not changed for Stall.
type Watch struct {
	moved   func() any
	last    any
	since   time.Time
	checked time.Time
}

// NewWatch starts watching.
func NewWatch(moved func() any) *Watch {
	now := time.Now()
	w := &Watch{moved: moved, since: now, checked: now}
	if moved != nil {
		w.last = moved()
	}
	return w
}

// Stalled reports whether nothing moved for Stall. It samples moved at
// most every 50 ms, so that an expensive snapshot costs little.
func (w *Watch) Stalled() bool {
	now := time.Now()
	if w.moved != nil && now.Sub(w.checked) >= 50*time.Millisecond {
		w.checked = now
		if s := w.moved(); s != w.last {
			w.last, w.since = s, now
		}
	}
	return now.Sub(w.since) >= Stall
}

// Until polls cond until it holds. It fails t when cond is still false and
// moved's snapshot has not changed for Stall (without moved: after Stall).
func Until(t TB, what string, cond func() bool, moved func() any) {
	t.Helper()
	w := NewWatch(moved)
	pause := 50 * time.Microsecond
	for !cond() {
		if w.Stalled() {
			t.Fatalf("waiting for %s: nothing moved for %s", what, Stall)
		}
		time.Sleep(pause)
		pause = min(2*pause, 2*time.Millisecond)
	}
}

// Recv waits for the next value of ch; it fails t when none came for Stall
// or ch was closed.
func Recv[T any](t TB, what string, ch <-chan T) T {
	t.Helper()
	v, ok := RecvOK(ch)
	if !ok {
		t.Fatalf("waiting for %s: %s", what, errNone)
	}
	return v
}

var errNone = fmt.Errorf("channel closed or nothing for %s", Stall)

// RecvOK waits for the next value of ch for up to Stall; ok is false when
// ch was closed or nothing came.
func RecvOK[T any](ch <-chan T) (v T, ok bool) {
	t := time.NewTimer(Stall)
	defer t.Stop()
	select {
	case v, ok = <-ch:
		return v, ok
	case <-t.C:
		return v, false
	}
}

// DrainClosed collects what ch still delivers until it is closed; it
// fails t when ch neither delivered nor closed for Stall.
func DrainClosed[T any](t TB, what string, ch <-chan T) []T {
	t.Helper()
	var got []T
	for {
		v, ok, closed := recvOrClosed(ch)
		if closed {
			return got
		}
		if !ok {
			t.Fatalf("waiting for %s to close: nothing for %s", what, Stall)
			return got
		}
		got = append(got, v)
	}
}

// recvOrClosed waits up to Stall for the next value of ch or its close.
func recvOrClosed[T any](ch <-chan T) (v T, ok, closed bool) {
	t := time.NewTimer(Stall)
	defer t.Stop()
	select {
	case v, ok = <-ch:
		return v, ok, !ok
	case <-t.C:
		return v, false, false
	}
}
