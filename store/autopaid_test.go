package store_test

import (
	"errors"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// An answered AutoPay's outcome in the lane's closing transaction: the
// payment recorded once (seen by the exit's pricing), the AutoPay off the
// outbox, the record closed, all or nothing.
func TestSettleAutoPaid(t *testing.T) {
	errFn := errors.New("repriced")
	errDisk := errors.New("disk full")
	for _, tc := range []struct {
		name      string
		notice    bool  // a pay notice recorded the AutoPay's money first
		noPayment bool  // the dispatcher knew the payment: nothing to record
		fnErr     error // the exit's decision fails
		diskErr   error // the commit fails
		wantNote  string
	}{
		{name: "answer"},
		{name: "notice first", notice: true, wantNote: "N1"},
		{name: "known payment", notice: true, noPayment: true, wantNote: "N1"},
		{name: "decision fails", fnErr: errFn},
		{name: "commit fails", diskErr: errDisk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fail error
			o := opts()
			o.FailCommit = func(op string) error {
				if op == "settle autopaid" {
					return fail
				}
				return nil
			}
			db, _ := storetest.Open(t, o)
			r, _ := db.OpenRecord(car("沪C1", 1, t0))
			ap := store.Message{Kind: store.KindAutoPay, RecordID: r.ID, RequestOrder: "RO1"}
			if _, err := db.MarkLeaving(r.ID, 1, t0.Add(time.Hour), ap); err != nil {
				t.Fatal(err)
			}
			queued, _ := db.QueuedAutoPays(r.ID)
			if len(queued) != 1 {
				t.Fatalf("queued AutoPays = %+v", queued)
			}
			if tc.notice {
				if err := db.AddAutoPayment(store.Payment{Order: "N1", BankNotice: "N1", RecordID: r.ID, RequestOrder: "RO1", Amount: 500, PayType: 99}); err != nil {
					t.Fatal(err)
				}
			}
			a := store.AutoPaid{Seq: queued[0].Seq}
			if !tc.noPayment {
				a.Payment = &store.Payment{Order: "CH1", RecordID: r.ID, RequestOrder: "RO1", BillID: "RO1", Amount: 500, PayType: 99, PayTime: t0.Add(time.Hour)}
			}
			fail = tc.diskErr
			var seen int64
			_, err := db.SettleAutoPaid(r.ID, a, func(rec store.Record, pays []store.Payment) (store.Exit, []store.Message, error) {
				for _, p := range pays {
					seen += p.Amount
				}
				if tc.fnErr != nil {
					return store.Exit{}, nil, tc.fnErr
				}
				return store.Exit{OutCode: 1, OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 500, Paid: 500}}, []store.Message{{Kind: store.KindOutdata, RecordID: r.ID}}, nil
			})
			ps, _ := db.Payments(r.ID)
			queued, _ = db.QueuedAutoPays(r.ID)
			rec, _ := db.RecordByID(r.ID)
			if failed := tc.fnErr != nil || tc.diskErr != nil; failed {
				if err == nil || (!errors.Is(err, tc.fnErr) && !errors.Is(err, tc.diskErr)) {
					t.Fatalf("SettleAutoPaid = %v; want the failure", err)
				}
				if len(ps) != 0 || len(queued) != 1 || !rec.State.Open() {
					t.Fatalf("after a failure: payments %+v, queued %d, state %v; want nothing changed", ps, len(queued), rec.State)
				}
				// Recorded on its own, once, however often.
				fail = nil
				for range 2 {
					if err := db.RecordAutoPaid(a); err != nil {
						t.Fatalf("RecordAutoPaid = %v", err)
					}
				}
				ps, _ = db.Payments(r.ID)
				queued, _ = db.QueuedAutoPays(r.ID)
				if len(ps) != 1 || ps[0].Amount != 500 || len(queued) != 0 {
					t.Errorf("RecordAutoPaid: payments %+v, queued %d; want one of 500, none queued", ps, len(queued))
				}
				return
			}
			if err != nil {
				t.Fatalf("SettleAutoPaid = %v", err)
			}
			if seen != 500 {
				t.Errorf("the exit's decision saw %d fen paid; want 500", seen)
			}
			if len(ps) != 1 || ps[0].Amount != 500 || ps[0].BankNotice != tc.wantNote {
				t.Errorf("payments = %+v; want one of 500 with notice %q", ps, tc.wantNote)
			}
			if len(queued) != 0 || rec.State != store.StateClosed {
				t.Errorf("queued %d, state %v; want the AutoPay gone and the record closed", len(queued), rec.State)
			}
			if ms, _ := db.Messages(0, 10); len(ms) != 1 || ms[0].Kind != store.KindOutdata {
				t.Errorf("outbox = %+v; want the Outdata alone", ms)
			}
		})
	}
	db, _ := storetest.Open(t, opts())
	if err := db.RecordAutoPaid(store.AutoPaid{Payment: &store.Payment{Order: "x", RecordID: "r", Amount: 1}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RecordAutoPaid without request_order = %v; want ErrInvalid", err)
	}
}
