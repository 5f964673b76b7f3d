package edge

import (
	"context"
	"log/slog"
	"testing"

	"laned/hal"
)

// haltBarrier records Halt.
type haltBarrier struct{ halts int }

func (b *haltBarrier) String() string                  { return "lane1/barrier" }
func (b *haltBarrier) Halt() error                     { b.halts++; return nil }
func (b *haltBarrier) Open(context.Context) error      { return nil }
func (b *haltBarrier) Close(context.Context) error     { return nil }
func (b *haltBarrier) Stop(context.Context) error      { return nil }
func (b *haltBarrier) State() hal.BarrierState         { return hal.BarrierUnknown }
func (b *haltBarrier) Events() <-chan hal.BarrierEvent { return nil }

// TestLanePanicHaltsBarrier: a panic on a lane's goroutine halts that
// lane's barrier (relays to their safe state) and goes on panicking.
func TestLanePanicHaltsBarrier(t *testing.T) {
	b := &haltBarrier{}
	l := &lane{laneEnv: laneEnv{log: slog.New(slog.DiscardHandler)}, cfg: LaneConfig{Name: "lane1", Barrier: b}}
	var got any
	func() {
		defer func() { got = recover() }()
		defer l.haltOnPanic()
		panic("boom")
	}()
	if got != "boom" {
		t.Errorf("recovered %v after haltOnPanic; want the panic to go on (boom)", got)
	}
	if b.halts != 1 {
		t.Errorf("barrier halted %d times; want 1", b.halts)
	}
	func() {
		defer l.haltOnPanic()
	}()
	if b.halts != 1 {
		t.Errorf("barrier halted %d times after a normal return; want still 1", b.halts)
	}
}
