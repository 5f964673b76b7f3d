package clock

import (
	"context"
	"testing"
	"time"
)

// TestEvery: fn runs after first, then every period after it returns,
// and Every returns once ctx ends.
func TestEvery(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, f, time.Second, 5*time.Second, func() { calls <- f.Now() })
	}()
	for i, want := range []int64{1, 6, 11} {
		f.WaitPending(1)
		f.Advance(time.Duration(want)*time.Second - f.Now().Sub(time.Unix(0, 0)))
		if got := <-calls; got.Unix() != want {
			t.Errorf("call %d at %d; want %d", i, got.Unix(), want)
		}
	}
	f.WaitPending(1)
	cancel()
	<-done
	if n := f.Pending(); n != 0 {
		t.Errorf("Pending() = %d after Every returned; want 0 (timer stopped)", n)
	}
}
