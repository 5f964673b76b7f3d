package camera

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// DefaultGuard is the quiet time a Turn waits after the last byte heard
// before it writes: a few character times at 9600 baud.
const DefaultGuard = 10 * time.Millisecond

// lineState is what the bus knows of the line for a Turn: when a byte
// was last heard (reader side, clock nanoseconds) and whether a camera's
// frame is half received.
type lineState struct {
	heardAt  atomic.Int64
	midFrame atomic.Bool
}

// heard is called by the reader with every chunk's arrival time.
func (s *lineState) heard(at time.Time) { s.heardAt.Store(at.UnixNano()) }

// Turn is another device's way to write on a camera's bus (a lane display
// board sharing the RS-485 pair): one writer at a time with the cameras'
// ACKs and TRIGGERs (under the bus's one DE), never while a camera's frame
// is arriving, and only after Guard of quiet since the last byte heard. The
// bus's reader goes on reading while a Turn waits or writes, so a camera's
// frames are never lost for it. Under a flood of camera frames that never
// leaves Guard of quiet, a Turn that has waited 20 × Guard writes in the
// first instant between two frames, so that it is never starved; what the other device answers reaches the
// camera decoder as foreign bytes and is dropped there.
type Turn struct {
	b     *Bus
	name  string
	guard time.Duration

	writes, waits atomic.Uint64
}

// TurnStats counts a Turn's writes and the times it found the line busy.
type TurnStats struct{ Writes, Waits uint64 }

// Share returns a Turn named name (for logs) with guard of quiet before
// each write (0: DefaultGuard).
func (b *Bus) Share(name string, guard time.Duration) *Turn {
	if guard <= 0 {
		guard = DefaultGuard
	}
	return &Turn{b: b, name: name, guard: guard}
}

// String names the turn.
func (t *Turn) String() string { return t.name }

// Stats returns the turn's counters.
func (t *Turn) Stats() TurnStats { return TurnStats{Writes: t.writes.Load(), Waits: t.waits.Load()} }

// Busy reports whether a camera frame is half received on the bus now.
func (t *Turn) Busy() bool { return t.b.line.midFrame.Load() }

// Write sends frame whole when the line is quiet. ctx bounds the wait for
// the turn only; once started the frame goes out whole. On a closed bus
// it wraps ErrHalted; with the port down, ErrNotConnected.
func (t *Turn) Write(ctx context.Context, frame []byte) error {
	b := t.b
	start := b.clk.Now()
	for {
		b.wmu.Lock()
		wait := t.wait(start)
		if wait <= 0 {
			err := b.writeLocked(frame)
			b.wmu.Unlock()
			if err != nil {
				return fmt.Errorf("camera: %s: %w", t.name, err)
			}
			t.writes.Add(1)
			return nil
		}
		b.wmu.Unlock()
		t.waits.Add(1)
		tm := b.clk.NewTimer(wait)
		select {
		case <-tm.C():
		case <-ctx.Done():
			tm.Stop()
			return fmt.Errorf("camera: %s: waiting for the bus: %w", t.name, ctx.Err())
		case <-b.done:
			tm.Stop()
			return fmt.Errorf("camera: %s: %w", t.name, ErrHalted)
		}
	}
}

// wait is how long the line must stay quiet still; 0: write now.
func (t *Turn) wait(start time.Time) time.Duration {
	if t.b.line.midFrame.Load() {
		return max(t.guard/4, time.Millisecond)
	}
	at := t.b.line.heardAt.Load()
	now := t.b.clk.Now()
	if at == 0 || now.Sub(start) >= 20*t.guard {
		return 0
	}
	return max(t.guard-now.Sub(time.Unix(0, at)), 0)
}
