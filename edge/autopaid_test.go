package edge

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// Issue 12 item 9: a contactless exit released on the AutoPay answer
// commits twice: the decision (the AutoPay queued with the leaving record)
// and the close, which records the payment and takes the AutoPay off the
// outbox with it. Nothing commits between the answer and the barrier.
func TestAutoPaidOneClosingCommit(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	// The entry's uplinks (and the hour's SpaceInfo) are delivered and
	// acked before counting, so that no ack of theirs falls into the exit's
	// window without its uplink.
	h.drain()
	before := len(h.commitOps())
	uplinks := len(h.sim.Received(cmbsim.Filter{}))
	h.passExit("沪C88888")
	h.drain()
	ops := h.commitOps()[before:]
	count := func(op string) int {
		n := 0
		for _, o := range ops {
			if o == op {
				n++
			}
		}
		return n
	}
	if count("settle autopaid") != 1 || count("add autopay payment") != 0 || count("settle") != 0 || count("record autopaid") != 0 {
		t.Errorf("commits of the exit = %q; want one settle autopaid, no separate payment or settle", ops)
	}
	// Every uplink delivered is acked by the dispatcher, except the AutoPay
	// (the closing transaction deleted it).
	var others int
	for _, u := range h.sim.Received(cmbsim.Filter{})[uplinks:] {
		if u.Endpoint != cmb.EpAutoPay {
			others++
		}
	}
	if n := count("ack"); n != others {
		t.Errorf("acks = %d, uplinks other than the AutoPay = %d (commits %q); want the AutoPay not acked on its own", n, others, ops)
	}
	pays, _ := h.db.Payments(rec.ID)
	if len(pays) != 1 || pays[0].Amount != 500 || pays[0].RequestOrder == "" {
		t.Errorf("payments = %+v; want the AutoPay's 500 once", pays)
	}
	h.checkPaid(rec.ID, 500)
	if n := h.sim.RecordCharges(rec.ID); n != 1 {
		t.Errorf("platform charges = %d; want 1", n)
	}
	h.checkPlatform()
}

// The power fails between the AutoPay's answer and the lane's closing
// commit: nothing of the outcome is durable. After the restart the AutoPay
// is still queued with its request_order, is sent again, the platform
// answers it idempotently, and the payment is recorded once; the stay is
// charged once.
func TestAutoPaidCrashBeforeClosingCommit(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	errPower := errors.New("power failed")
	var once sync.Once
	crashed := make(chan struct{})
	h.setOnCommit(func(op string) error {
		if op == "settle autopaid" {
			once.Do(func() { close(crashed) })
		}
		select {
		case <-crashed:
			return errPower // dead: nothing commits any more
		default:
			return nil
		}
	})
	h.exit.Arrive("沪C88888")
	h.eventually("the closing commit", func() bool {
		select {
		case <-crashed:
			return true
		default:
			return false
		}
	})
	h.settle()
	queued, _ := h.db.QueuedAutoPays(rec.ID)
	if pays, _ := h.db.Payments(rec.ID); len(queued) != 1 || len(pays) != 0 {
		t.Fatalf("at the crash: queued %+v, payments %+v; want the AutoPay queued, nothing paid", queued, pays)
	}
	order := queued[0].RequestOrder
	h.stop()
	h.setOnCommit(nil)
	h.restart(nil) // the vehicle is gone (a guard let it out)
	h.advanceUntilDrained(time.Minute, 20)
	if aps := h.received(cmb.EpAutoPay, rec.ID); len(aps) < 2 {
		t.Errorf("AutoPays sent = %d; want it sent again after the restart", len(aps))
	}
	checkAutoPaidOnce(t, h, rec.ID, order)
}

// The lane's closing commit fails (a full disk, for that transaction):
// the AutoPay stays queued, is sent again, and its payment is recorded
// once then.
func TestAutoPaidClosingCommitFails(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	h.failCommits(errDiskFull, "settle autopaid", "record autopaid")
	h.exit.Arrive("沪C88888")
	h.eventually("the AutoPay recorded after it was sent again", func() bool {
		h.ctl.kick()
		pays, _ := h.db.Payments(rec.ID)
		return len(pays) > 0
	})
	h.failCommits(nil)
	h.advanceUntilDrained(time.Minute, 20)
	aps := h.received(cmb.EpAutoPay, rec.ID)
	if len(aps) < 2 {
		t.Errorf("AutoPays sent = %d; want it sent again after the failed commit", len(aps))
	}
	checkAutoPaidOnce(t, h, rec.ID, aps[0].RequestOrder)
	if ops := h.commitOps(); !slices.Contains(ops, "settle autopaid") {
		t.Errorf("commits %q; want the lane's closing commit tried", ops)
	}
}

// checkAutoPaidOnce: every AutoPay of the record carried order, the
// platform charged once, the store holds its payment once and no AutoPay.
func checkAutoPaidOnce(t *testing.T, h *harness, recordID, order string) {
	t.Helper()
	aps := h.received(cmb.EpAutoPay, recordID)
	for _, u := range aps {
		if u.RequestOrder != order {
			t.Errorf("AutoPay sent with request_order %s; want only %s", u.RequestOrder, order)
		}
	}
	if n := h.sim.RecordCharges(recordID); n != 1 {
		t.Errorf("platform charges = %d; want 1", n)
	}
	pays, _ := h.db.Payments(recordID)
	if len(pays) != 1 || pays[0].Amount != 500 || pays[0].RequestOrder != order {
		t.Errorf("payments = %+v; want 500 once, of %s", pays, order)
	}
	if q, _ := h.db.QueuedAutoPays(recordID); len(q) != 0 {
		t.Errorf("queued AutoPays = %+v; want none", q)
	}
}
