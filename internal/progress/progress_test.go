package progress

import (
	"fmt"
	"testing"
)

type recorder struct{ failed string }

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestUntilHolds(t *testing.T) {
	n := 0
	r := &recorder{}
	Until(r, "three polls", func() bool { n++; return n >= 3 }, nil)
	if r.failed != "" || n != 3 {
		t.Errorf("Until() polled %d times, failed %q; want 3 polls, no failure", n, r.failed)
	}
}

func TestWatchSeesMovement(t *testing.T) {
	c := 0
	w := NewWatch(func() any { c++; return c })
	w.checked = w.checked.Add(-Stall) // as if sampled long ago
	w.since = w.since.Add(-Stall)
	if w.Stalled() {
		t.Errorf("Stalled() = true after the snapshot changed; want false")
	}
	still := NewWatch(func() any { return 1 })
	still.checked = still.checked.Add(-Stall)
	still.since = still.since.Add(-Stall)
	if !still.Stalled() {
		t.Errorf("Stalled() = false with nothing moving for Stall; want true")
	}
}

func TestRecvOK(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if v, ok := RecvOK(ch); v != 7 || !ok {
		t.Errorf("RecvOK() = %d, %v; want 7, true", v, ok)
	}
	close(ch)
	if _, ok := RecvOK(ch); ok {
		t.Errorf("RecvOK(closed) ok = true; want false")
	}
}

func TestDrainClosed(t *testing.T) {
	ch := make(chan int, 3)
	ch <- 1
	ch <- 2
	close(ch)
	r := &recorder{}
	if got := DrainClosed(r, "events", ch); fmt.Sprint(got) != "[1 2]" || r.failed != "" {
		t.Errorf("DrainClosed() = %v, failed %q; want [1 2], no failure", got, r.failed)
	}
	empty := make(chan int)
	close(empty)
	if got := DrainClosed(r, "events", empty); len(got) != 0 || r.failed != "" {
		t.Errorf("DrainClosed(closed) = %v, failed %q; want nothing, no failure", got, r.failed)
	}
}
