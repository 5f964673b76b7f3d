package edge

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"laned/cmb"
	"laned/hal"
	"laned/internal/progress"
	"laned/store"
)

var errDiskFull = errors.New("write: no space left on device")

// gateBarrier holds Open while its gate is shut, as a relay pulse takes
// time; the sim barrier under it then refuses a context that ended, as a
// relay driver does.
type gateBarrier struct {
	hal.Barrier
	shut    atomic.Bool
	entered chan struct{}
	release chan struct{}
	errs    chan error
}

func newGate(b hal.Barrier) *gateBarrier {
	return &gateBarrier{Barrier: b, entered: make(chan struct{}, 1), release: make(chan struct{}), errs: make(chan error, 8)}
}

// newGatedHarness is a harness whose lane named lane drives its barrier
// through a gateBarrier; it returns the gate of the first start (a restart
// gives the lane a new one, open).
func newGatedHarness(t *testing.T, lane string) (*harness, *gateBarrier) {
	t.Helper()
	var first *gateBarrier
	h := newHarnessWith(t, harnessSetup{barrier: func(name string, b hal.Barrier) hal.Barrier {
		if name != lane {
			return b
		}
		gate := newGate(b)
		if first == nil {
			first = gate
		}
		return gate
	}})
	return h, first
}

func (b *gateBarrier) Open(ctx context.Context) error {
	if b.shut.Load() {
		b.entered <- struct{}{}
		<-b.release
		err := b.Barrier.Open(ctx)
		b.errs <- err
		return err
	}
	return b.Barrier.Open(ctx)
}

// consoleLanes is what the console's `lanes` shows for name.
func consoleLanes(h *harness, name string) string {
	for _, l := range (&Console{Ctl: h.ctl}).Lanes() {
		if l.ID == name {
			return l.State
		}
	}
	return ""
}

// Item 1: a decided barrier moves even when the caller that asked is gone
// before the relay is driven: a console session that closes during a
// manual open, a platform request that times out during NoVpln.
func TestDecidedBarrierOutlivesTheCaller(t *testing.T) {
	tests := []struct {
		name  string
		lane  string
		setup func(h *harness) // puts the vehicle at the lane
		call  func(h *harness, ctx context.Context) error
		after func(t *testing.T, h *harness)
	}{
		{
			name: "manual open from a console that closes",
			lane: "exit1",
			setup: func(h *harness) {
				h.enter("京A12345")
				h.advance(2 * time.Hour)
				if st := h.arriveExit("京A12345"); st.State != vWaitPay.String() {
					h.t.Fatalf("exit lane = %+v; want waiting to pay", st)
				}
			},
			call: func(h *harness, ctx context.Context) error {
				return h.ctl.ManualOpen(ctx, "exit1", "guard", "ambulance")
			},
			after: func(t *testing.T, h *harness) {
				before := opens(h.exit) - 1
				h.leaveExit(before)
				if _, err := h.db.OpenByPlate("京A12345"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("OpenByPlate after the manual open = %v; want the record closed", err)
				}
			},
		},
		{
			name: "NoVpln whose platform request is abandoned",
			lane: "entry1",
			setup: func(h *harness) {
				h.entry.Arrive("")
				h.settle()
			},
			call: func(h *harness, ctx context.Context) error {
				_, err := h.ctl.NoVpln(ctx, cmb.NoVplnRequest{ParkCode: testPark, VplNumber: "临A00000000000000001", InCode: 1})
				return err
			},
			after: func(t *testing.T, h *harness) {
				rec, err := h.db.OpenByPlate("临A00000000000000001")
				if err != nil || !rec.Unlicensed {
					t.Errorf("OpenByPlate(virtual) = %+v, %v; want the unlicensed record", rec, err)
				}
				h.entry.PassThrough()
				h.eventually("entry barrier down", func() bool { return lastOp(h.entry) == "close" })
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, gate := newGatedHarness(t, tt.lane)
			tt.setup(h)
			gate.shut.Store(true)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- tt.call(h, ctx) }()
			progress.Recv(t, "the relay command", gate.entered)
			cancel() // the caller leaves while the relay is being driven
			if err := progress.Recv(t, "the caller's answer", errc); !errors.Is(err, context.Canceled) {
				t.Logf("caller got %v (it left: context.Canceled expected, an answer is fine too)", err)
			}
			gate.shut.Store(false)
			close(gate.release)
			if err := progress.Recv(t, "the relay's result", gate.errs); err != nil {
				t.Fatalf("barrier Open = %v; want it driven under the lane's context", err)
			}
			h.settle()
			ln, _ := h.ctl.lane(tt.lane)
			if st := ln.status(); st.State != vReleased.String() {
				t.Errorf("lane = %+v; want released", st)
			}
			tt.after(t, h)
		})
	}
}

// Item 2: an entry whose commit fails never raises the barrier silently:
// the vehicle is refused, the lane (and the console) says why, no Indata
// is queued; once the store is well the next arrival is admitted.
func TestEntryCommitFailureRefuses(t *testing.T) {
	tests := []struct {
		name  string
		stale bool   // the plate has an open record already: the replace-stale path
		op    string // the store operation that fails
	}{
		{"new record", false, "open record"},
		{"stale record replaced", true, "replace stale record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			const plate = "京A77777"
			var stale store.Record
			if tt.stale {
				// A stay that began yesterday and was never seen leaving.
				in := h.clk.Now().Add(-24 * time.Hour)
				r := store.Record{ID: h.db.NewRecordID(in, 1), Plate: plate, InCode: 1, InTime: in, CarType: 1, PowerType: 1, State: store.StateInside}
				msgs, err := h.ctl.indata(r)
				if err != nil {
					t.Fatal(err)
				}
				if stale, err = h.db.OpenRecord(r, msgs...); err != nil {
					t.Fatal(err)
				}
			}
			h.drain()
			indata := len(h.received(cmb.EpIndata, ""))
			h.failCommits(errDiskFull, tt.op)
			before := opens(h.entry)
			h.entry.Arrive(plate)
			h.settle()
			if got := opens(h.entry); got != before {
				t.Fatalf("barrier opened %d times on a failed commit; want 0", got-before)
			}
			st := h.laneStatus(h.entry)
			if st.State != vRefused.String() || !strings.Contains(st.Reason, tt.op) || !strings.Contains(st.Reason, "no space left") {
				t.Errorf("entry lane = %+v; want refused, saying %q failed and why", st, tt.op)
			}
			if got := consoleLanes(h, "entry1"); !strings.Contains(got, "no space left") {
				t.Errorf("console lanes shows %q; want the reason", got)
			}
			rec, err := h.db.OpenByPlate(plate)
			switch {
			case tt.stale && (err != nil || rec.ID != stale.ID):
				t.Errorf("OpenByPlate = %+v, %v; want the stale record %s still open", rec, err, stale.ID)
			case !tt.stale && !errors.Is(err, store.ErrNotFound):
				t.Errorf("OpenByPlate = %+v, %v; want no record", rec, err)
			}
			h.drain()
			if got := len(h.received(cmb.EpIndata, "")); got != indata {
				t.Errorf("platform got %d new Indata; want none", got-indata)
			}
			// The store heals: the car backs off and comes again.
			h.failCommits(nil)
			h.entry.Back()
			h.advance(time.Minute)
			rec = h.enter(plate)
			if tt.stale && rec.ID == stale.ID {
				t.Errorf("entry after the store healed kept record %s; want a new one", rec.ID)
			}
			h.checkPlatform()
		})
	}
}

// Item 3: a manual open raises the barrier when the store cannot commit;
// the record's close and the audit are held in memory, shown as pending on
// the console, and committed once the store takes them again.
func TestManualOpenWithFailingStore(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	if st := h.arriveExit("京A12345"); st.State != vWaitPay.String() {
		t.Fatalf("exit lane = %+v; want waiting to pay", st)
	}
	h.failCommits(errDiskFull) // every commit, audits too
	before := opens(h.exit)
	if err := h.ctl.ManualOpen(context.Background(), "exit1", "guard", "fire drill"); err != nil {
		t.Fatalf("ManualOpen with a failing store = %v; want the barrier raised", err)
	}
	h.settle()
	if opens(h.exit) <= before {
		t.Fatalf("barrier not raised by a manual open with a failing store")
	}
	if got := consoleLanes(h, "exit1"); !strings.Contains(got, "PENDING") || !strings.Contains(got, rec.ID) {
		t.Errorf("console lanes shows %q; want the record's close pending", got)
	}
	// A manual open of the (empty) entry: only an audit, held too.
	if err := h.ctl.ManualOpen(context.Background(), "entry1", "guard", "fire drill"); err != nil {
		t.Fatalf("ManualOpen(entry1) = %v", err)
	}
	h.settle()
	if lastOp(h.entry) != "open" {
		t.Errorf("entry barrier: last command %q; want open", lastOp(h.entry))
	}
	if got := consoleLanes(h, "entry1"); !strings.Contains(got, "audit manual_open") {
		t.Errorf("console lanes shows %q for the entry; want the audit pending", got)
	}
	h.exit.PassThrough()
	h.advance(30 * time.Second) // retries, refused
	if r, err := h.db.RecordByID(rec.ID); err != nil || r.State == store.StateClosed {
		t.Fatalf("record while the store fails = %+v, %v; want still open", r, err)
	}

	h.failCommits(nil)
	h.advance(heldPeriod)
	h.eventually("held commits committed", func() bool { return len(h.ctl.heldFor("exit1"))+len(h.ctl.heldFor("entry1")) == 0 })
	got := h.closed(rec.ID)
	if len(got.Items) != 1 || got.Items[0].PayType != int(cmb.PayManualFree) {
		t.Errorf("charge items = %+v; want the manual free opening", got.Items)
	}
	evs, err := h.db.RecentAudit(20)
	if err != nil {
		t.Fatal(err)
	}
	var manual int
	for _, e := range evs {
		if e.Kind == "manual_open" && strings.Contains(e.Detail, "fire drill") {
			manual++
		}
	}
	if manual != 2 {
		t.Errorf("%d manual_open audit events for the fire drill; want 2 (exit and entry): %+v", manual, evs)
	}
	if got := consoleLanes(h, "exit1"); strings.Contains(got, "PENDING") {
		t.Errorf("console lanes shows %q after the store healed; want nothing pending", got)
	}
	h.drain()
	if out := h.received(cmb.EpOutdata, rec.ID); len(out) != 1 {
		t.Errorf("platform got %d Outdata for %s; want 1", len(out), rec.ID)
	}
	h.checkPlatform()
}
