package edge

import (
	"context"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge/tariff"
	"laned/hal/sim"
	"laned/internal/progress"
	"laned/store"
)

// Item 6: entry and exit share no stale state. Whatever happens in the
// middle of a decision, the record and the barrier agree: the barrier was
// raised for a vehicle exactly when its record was closed (exit) or opened
// (entry).

// consistentExit checks that the exit's barrier was raised iff rec is
// closed.
func consistentExit(t *testing.T, h *harness, id string, opensBefore int) (released bool) {
	t.Helper()
	h.settle()
	rec, err := h.db.RecordByID(id)
	if err != nil {
		t.Fatal(err)
	}
	up := opens(h.exit) > opensBefore
	if up != (rec.State == store.StateClosed) {
		t.Errorf("exit barrier raised %v, record %s %s: want the barrier up iff the record closed (lane %+v)", up, id, rec.State, h.laneStatus(h.exit))
	}
	return up
}

// A late frame of the car just let out must not become the next car's
// plate, nor touch the first car's closed record.
func TestLateFrameAtExit(t *testing.T) {
	h := newHarness(t)
	a := h.enter("京A00001")
	b := h.enter("京A00002")
	h.advance(10 * time.Minute) // free
	h.passExit("京A00001")
	h.closed(a.ID)
	h.exit.Camera.SetAnswerTriggers(false)
	h.exit.ArriveUnread("京A00002")
	h.settle()
	before := opens(h.exit)
	h.exit.Camera.Show("京A00001", 0, 90) // late
	h.settle()
	if opens(h.exit) != before {
		t.Fatal("a late frame of the previous car opened the exit")
	}
	if st := h.laneStatus(h.exit); st.RecordID == a.ID {
		t.Fatalf("exit lane took the previous car's record: %+v", st)
	}
	if r, _ := h.db.RecordByID(b.ID); r.State != store.StateInside {
		t.Fatalf("second car's record = %+v; want still inside", r)
	}
	h.exit.Camera.Show("京A00002", 0, 95)
	h.leaveExit(before)
	h.closed(b.ID)
	h.checkPlatform()
}

// A tariff reload while a vehicle waits to pay: the payment of the amount
// quoted before is re-priced under the new tariff; the vehicle is let out
// exactly when its record closes.
func TestReloadDuringExitDecision(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(time.Hour)
	if st := h.arriveExit("京A12345"); st.State != vWaitPay.String() || st.Due != 500 {
		t.Fatalf("exit = %+v; want 5 yuan due", st)
	}
	cfg := shenzhen()
	cfg.Small.FirstPrice = 800 // dearer: the first hour 8 yuan
	dearer, err := tariff.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.ctl.SetTariff(dearer)
	before := opens(h.exit)
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 500, Order: "o1", PayType: 99}); err != nil {
		t.Fatal(err)
	}
	if consistentExit(t, h, rec.ID, before) {
		t.Fatalf("released after paying 5 of 8 yuan")
	}
	if st := h.laneStatus(h.exit); st.State != vWaitPay.String() || st.Due != 300 {
		t.Errorf("exit after the reload and a 5 yuan payment = %+v; want 3 yuan still due", st)
	}
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 300, Order: "o2", PayType: 99}); err != nil {
		t.Fatal(err)
	}
	if !consistentExit(t, h, rec.ID, before) {
		t.Fatalf("not released after paying in full")
	}
	h.exit.PassThrough()
	h.settle()
	h.checkPlatform()
}

// The wall clock is set (a clock fix-up) while a vehicle waits to pay at
// the exit: the record's times move, and so must the lane's notion of when
// the vehicle arrived, or the stay is priced from a time before its entry.
func TestClockFixupDuringExitDecision(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.SetFault(cmb.EpIndata, cmbsim.Fault{Down: true}); err != nil {
		t.Fatal(err) // no network yet, as without NTP
	}
	stamped := h.clk.Now()
	rec := h.enter("京A12345")
	h.advance(time.Hour)
	if st := h.arriveExit("京A12345"); st.State != vWaitPay.String() || st.Due != 500 {
		t.Fatalf("exit = %+v; want 5 yuan due", st)
	}
	const delta = 7 * time.Hour
	if err := h.ctl.FixClock(Fixup{From: stamped.Add(-time.Minute), To: h.clk.Now(), Delta: delta}); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(delta) // the wall clock now reads the real time
	h.settle()
	if st := h.laneStatus(h.exit); st.State != vWaitPay.String() || st.Due != 500 {
		t.Fatalf("exit after the fix-up = %+v; want still 5 yuan due", st)
	}
	before := opens(h.exit)
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 500, Order: "o1", PayType: 99}); err != nil {
		t.Fatal(err)
	}
	if !consistentExit(t, h, rec.ID, before) {
		t.Fatalf("not released after paying what was due: lane %+v", h.laneStatus(h.exit))
	}
	got := h.closed(rec.ID)
	if stay := got.OutTime.Sub(got.InTime); stay < time.Hour || stay > time.Hour+time.Minute {
		t.Errorf("record in %v out %v: stay %v; want about an hour", got.InTime, got.OutTime, stay)
	}
	if got.Fees.Total != 500 || got.Fees.Paid != 500 {
		t.Errorf("fees = %+v; want 5 yuan charged, 5 paid (an hour's stay)", got.Fees)
	}
	h.exit.PassThrough()
	h.sim.ClearFaults()
	h.advanceUntilDrained(time.Minute, 10)
	h.checkPlatform()
}

// A restart between the commit and the relay: the record is decided, the
// barrier never moved, the vehicle still stands on the loop. The new
// process identifies it and raises the barrier for the committed decision,
// without a second record or a second close.
func TestRestartBetweenCommitAndBarrier(t *testing.T) {
	tests := []struct {
		name  string
		lane  string
		setup func(h *harness) string // returns the plate
		check func(t *testing.T, h *harness, plate string)
	}{
		{"entry", "entry1",
			func(h *harness) string { return "京R00001" },
			func(t *testing.T, h *harness, plate string) {
				recs, err := h.db.Records(plate, 5)
				if err != nil || len(recs) != 1 || recs[0].State != store.StateInside {
					t.Errorf("records of %s = %+v, %v; want one, inside", plate, recs, err)
				}
			}},
		{"exit", "exit1",
			func(h *harness) string {
				h.enter("京R00002")
				h.advance(10 * time.Minute) // free
				return "京R00002"
			},
			func(t *testing.T, h *harness, plate string) {
				recs, err := h.db.Records(plate, 5)
				if err != nil || len(recs) != 1 || recs[0].State != store.StateClosed {
					t.Errorf("records of %s = %+v, %v; want one, closed", plate, recs, err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, first := newGatedHarness(t, tt.lane)
			plate := tt.setup(h)
			lane := map[string]func() *sim.Lane{"entry1": func() *sim.Lane { return h.entry }, "exit1": func() *sim.Lane { return h.exit }}[tt.lane]
			first.shut.Store(true)
			lane().Arrive(plate)
			progress.Recv(t, "the relay command", first.entered) // committed; the relay is next
			h.cancel()                                           // the power fails
			close(first.release)
			if err := progress.Recv(t, "the relay's result", first.errs); err == nil {
				t.Fatalf("the barrier moved; want it still down at the restart")
			}
			h.restart(func(entry, exit *sim.Lane) {
				map[string]*sim.Lane{"entry1": entry, "exit1": exit}[tt.lane].Arrive(plate)
			})
			h.eventually("barrier raised after the restart", func() bool { return opens(lane()) > 0 })
			tt.check(t, h, plate)
			lane().PassThrough()
			h.eventually("barrier down", func() bool { return lastOp(lane()) == "close" })
			// An uplink cut short by the power failure waits for its
			// backoff: simulated time runs past it.
			h.advanceUntilDrained(time.Minute, 10)
			h.checkPlatform()
		})
	}
}
