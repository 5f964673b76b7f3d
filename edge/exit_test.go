package edge

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/store"
)

// auditKinds returns the audit events of kind, oldest first.
func (h *harness) audits(kind string) []store.AuditEvent {
	h.t.Helper()
	evs, err := h.db.RecentAudit(1000)
	if err != nil {
		h.t.Fatalf("RecentAudit = %v", err)
	}
	var out []store.AuditEvent
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Issue 11 item 7: a pay notice that commits between the lane's quote and
// its closing transaction is in the fee and the Outdata.
func TestExitPaymentCommittedMeanwhileIsInOutdata(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	if res, err := h.sim.PayPlate(context.Background(), "京A12345"); err != nil || res.Amount != 900 {
		t.Fatalf("PayPlate = %+v, %v; want 900", res, err)
	}
	h.advance(5 * time.Minute)
	// The vehicle arrives within its grace; between the lane's quote (0
	// due) and its closing transaction, a further notice commits.
	ln, _ := h.ctl.lane("exit1")
	var relErr error
	if err := ln.do(context.Background(), func() {
		ln.veh = &vehicle{at: h.clk.Now(), plate: rec.Plate, recordID: rec.ID, state: vIdentifying}
		q, err := h.ctl.quote(rec, ln.priceAt())
		if err != nil || q.Due != 0 {
			t.Errorf("quote = %+v, %v; want 0 due within the grace", q, err)
		}
		if _, _, err := h.db.AddPayments([]store.Payment{{Order: "LATE-1", RecordID: rec.ID, Plate: rec.Plate, PayType: 99, Amount: 200, PayTime: h.clk.Now()}}); err != nil {
			t.Errorf("AddPayments = %v", err)
		}
		relErr = ln.release(context.Background(), rec, q, nil, "test")
	}); err != nil {
		t.Fatal(err)
	}
	if relErr != nil {
		t.Fatalf("release = %v", relErr)
	}
	h.exit.PassThrough()
	h.drain()
	got := h.closed(rec.ID)
	if got.Fees.Paid != 1100 {
		t.Errorf("closed fees = %+v; want paid 1100 (900 + the 200 that committed meanwhile)", got.Fees)
	}
	out := h.received(cmb.EpOutdata, rec.ID)
	if len(out) != 1 {
		t.Fatalf("Outdata sent %d times; want 1", len(out))
	}
	var sum int64
	seen := false
	for _, it := range chargeItems(t, out[0]) {
		sum += it.ActualPay
		seen = seen || it.SeqNum == "LATE-1"
	}
	if sum != 1100 || !seen {
		t.Errorf("Outdata items sum %d, LATE-1 there %v; want 1100 with LATE-1", sum, seen)
	}
	h.checkPlatform()
}

// Issue 11 item 7: a payment that finds the record closed is a payment
// after the exit: recorded, flagged, audited, never lost.
func TestPaymentAfterExitIsRecorded(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(10 * time.Minute) // free period
	h.passExit("京A12345")
	h.closed(rec.ID)
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: rec.Plate, RecordID: rec.ID, Amount: 300, Order: "AFTER-1"}); err != nil {
		t.Fatalf("pay after exit = %v; want status 0 (the money was taken)", err)
	}
	p, err := h.db.PaymentByOrder("AFTER-1")
	if err != nil || !p.AfterExit || p.Amount != 300 {
		t.Fatalf("PaymentByOrder = %+v, %v; want 300 fen flagged after the exit", p, err)
	}
	if len(h.audits("late_payment")) != 1 {
		t.Errorf("late_payment audits = %d; want 1", len(h.audits("late_payment")))
	}
}

// Issue 11 item 7: the pay-amount check compares with the quote the lane
// used (the price when the vehicle arrived), not a fresh one: a driver
// paying what the exit showed 20 minutes later is not a mismatch, and is
// let out.
func TestPayCheckUsesTheLanesQuote(t *testing.T) {
	h := newHarness(t)
	rec, st, before := h.atExitAfter("京A12345", 2*time.Hour)
	if st.Due != 900 {
		t.Fatalf("exit = %+v; want 900 due", st)
	}
	h.advance(20 * time.Minute) // a fresh quote would now say 1100
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: rec.Plate, RecordID: rec.ID, Amount: 900}); err != nil {
		t.Fatalf("Pay = %v", err)
	}
	h.leaveExit(before)
	if n := len(h.audits("pay_mismatch")); n != 0 {
		t.Errorf("pay_mismatch audits = %d; want 0 (900 was the lane's quote)", n)
	}
	// calc's quote travels as bill_id: a notice answering it is checked
	// against it.
	rec2 := h.enter("京B22222")
	h.advance(2 * time.Hour)
	a, err := h.sim.Calc(context.Background(), nil, "京B22222")
	if err != nil || a.BillID == "" || a.Charge.ShouldPay != 900 {
		t.Fatalf("Calc = %+v, %v; want 900 with a bill_id", a, err)
	}
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: rec2.Plate, RecordID: rec2.ID, BillID: a.BillID, Amount: 800}); err != nil {
		t.Fatalf("Pay = %v", err)
	}
	mm := h.audits("pay_mismatch")
	if len(mm) != 1 || !strings.Contains(mm[0].Detail, "paid 800 fen, quoted 900") {
		t.Errorf("pay_mismatch audits = %+v; want one: paid 800, quoted 900", mm)
	}
	p, _ := h.db.Payments(rec2.ID)
	if len(p) != 1 || p[0].Quoted != 900 || p[0].QuotedAt.IsZero() {
		t.Errorf("payment = %+v; want the quote 900 kept", p)
	}
}

// Issue 11 item 8: a part payment never opens the barrier, even when the
// grace look-back falls in the free period; paying the rest does.
func TestPartPaymentNeverOpens(t *testing.T) {
	for _, paid := range []int64{1, 100} {
		t.Run(cmbsimAmount(paid), func(t *testing.T) {
			h := newHarness(t)
			rec := h.enter("京A12345")
			h.advance(20 * time.Minute) // 500 due: the first hour
			if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: rec.Plate, RecordID: rec.ID, Amount: paid}); err != nil {
				t.Fatalf("Pay = %v", err)
			}
			h.advance(5 * time.Minute)
			before := opens(h.exit)
			st := h.arriveExit("京A12345")
			if st.State != vWaitPay.String() || st.Due != 500-paid {
				t.Fatalf("exit after paying %d of 500 = %+v; want waiting for %d", paid, st, 500-paid)
			}
			if opens(h.exit) != before {
				t.Fatal("the barrier rose on a part payment")
			}
			res, err := h.sim.ScanPay(context.Background(), 1)
			if err != nil || res.Amount != 500-paid {
				t.Fatalf("ScanPay = %+v, %v; want %d", res, err, 500-paid)
			}
			h.leaveExit(before)
			h.drain()
			got := h.closed(rec.ID)
			if got.Fees.Paid != 500 || got.Fees.Discount != 0 {
				t.Errorf("fees = %+v; want 500 paid, nothing waived", got.Fees)
			}
			for _, it := range chargeItems(t, h.received(cmb.EpOutdata, rec.ID)[0]) {
				if it.PayType == cmb.PayPrepaidGrace {
					t.Errorf("Outdata reports a grace release: %+v", it)
				}
			}
			h.checkPlatform()
		})
	}
}

func cmbsimAmount(fen int64) string { return yuan(fen) }

// Issue 11 item 8: a notice whose plate differs from the record's is
// credited by record_id and audited.
func TestPayPlateDiffersCreditedByRecord(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12346", RecordID: rec.ID, Amount: 900, Order: "P-1"}); err != nil {
		t.Fatalf("Pay = %v", err)
	}
	if sum, _, _ := h.db.PaidFor(rec.ID); sum != 900 {
		t.Errorf("PaidFor = %d; want 900 credited to the record", sum)
	}
	if ev := h.audits("pay_plate"); len(ev) != 1 || !strings.Contains(ev[0].Detail, "京A12346") {
		t.Errorf("pay_plate audits = %+v; want one naming 京A12346", ev)
	}
	h.passExit("京A12345")
}

// Issue 11 item 7: a decision made on a quote that a payment overtook
// closes nothing (errRepriced); decided again, no fen is waived twice.
func TestExitRepricedInTheClosingTransaction(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	h.arriveExit("京A12345")
	ln, _ := h.ctl.lane("exit1")
	var relErr error
	if err := ln.do(context.Background(), func() {
		q, _ := h.ctl.quote(rec, ln.priceAt())
		if _, _, err := h.db.AddPayments([]store.Payment{{Order: "RACE-1", RecordID: rec.ID, Plate: rec.Plate, PayType: 99, Amount: q.Due, PayTime: h.clk.Now()}}); err != nil {
			t.Errorf("AddPayments = %v", err)
		}
		manual := store.ChargeItem{PayType: int(cmb.PayManualFree), ShouldPay: q.Due, Time: h.clk.Now(), SeqNum: rec.ID + "M"}
		relErr = ln.release(context.Background(), rec, q, []store.ChargeItem{manual}, "guard")
	}); err != nil {
		t.Fatal(err)
	}
	if !errorsIs(relErr, errRepriced) {
		t.Fatalf("release on a stale quote = %v; want errRepriced", relErr)
	}
	if r, _ := h.db.RecordByID(rec.ID); !r.State.Open() {
		t.Fatal("a repriced exit closed the record")
	}
	before := opens(h.exit)
	if err := h.ctl.ManualOpen(context.Background(), "exit1", "guard", "test"); err != nil {
		t.Fatalf("ManualOpen = %v", err)
	}
	h.leaveExit(before)
	got := h.closed(rec.ID)
	for _, it := range got.Items {
		if it.PayType == int(cmb.PayManualFree) {
			t.Errorf("items = %+v; want no manual waiver: the stay was paid", got.Items)
		}
	}
	if got.Fees.Paid != 900 || got.Fees.Discount != 0 {
		t.Errorf("fees = %+v; want 900 paid, nothing waived", got.Fees)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// A driver who pays what calc quoted is not caught by a period that began
// while the payment travelled, with calc's bill_id carried back or not.
func TestQuotePaidAsAPeriodBegan(t *testing.T) {
	for _, withBill := range []bool{true, false} {
		t.Run(map[bool]string{true: "bill_id", false: "no bill_id"}[withBill], func(t *testing.T) {
			h := newHarness(t)
			rec := h.enter("京A12345")
			h.advance(118 * time.Minute) // 10:58: 900 due
			a, err := h.sim.Calc(context.Background(), nil, "京A12345")
			if err != nil || a.Charge.ShouldPay != 900 {
				t.Fatalf("calc = %+v, %v; want 900", a, err)
			}
			h.advance(3 * time.Minute) // 11:01: a new period began, 1100 now
			n := cmbsim.PayNotice{Plate: rec.Plate, RecordID: rec.ID, Amount: 900}
			if withBill {
				n.BillID = a.BillID
			}
			if _, err := h.sim.Pay(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			h.advance(4 * time.Minute)
			h.passExit("京A12345")
			if got := h.closed(rec.ID); got.Fees.Paid != 900 {
				t.Errorf("fees = %+v; want 900 paid, left within the grace", got.Fees)
			}
			if n := len(h.audits("pay_mismatch")); n != 0 {
				t.Errorf("pay_mismatch audits = %d; want 0", n)
			}
		})
	}
}
