package store_test

import (
	"errors"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// One AutoPay, one payment, whichever order names it first.
func TestAddAutoPayment(t *testing.T) {
	for _, tc := range []struct {
		name         string
		first, later store.Payment
		wantNotice   string
	}{
		{"answer then notice",
			store.Payment{Order: "CH1", RequestOrder: "RO1", Amount: 500},
			store.Payment{Order: "N1", BankNotice: "N1", RequestOrder: "RO1", Amount: 500}, "N1"},
		{"notice then answer",
			store.Payment{Order: "N1", BankNotice: "N1", RequestOrder: "RO1", Amount: 500},
			store.Payment{Order: "CH1", RequestOrder: "RO1", Amount: 500}, "N1"},
		{"answer repeated",
			store.Payment{Order: "CH1", RequestOrder: "RO1", Amount: 500},
			store.Payment{Order: "CH1", RequestOrder: "RO1", Amount: 500}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := storetest.Open(t, opts())
			r, _ := db.OpenRecord(car("沪C1", 1, t0))
			tc.first.RecordID, tc.later.RecordID = r.ID, r.ID
			if err := db.AddAutoPayment(tc.first); err != nil {
				t.Fatalf("AddAutoPayment(first) = %v", err)
			}
			if err := db.AddAutoPayment(tc.later, store.Message{Kind: "X", RecordID: r.ID}); !errors.Is(err, store.ErrAlreadyRecorded) {
				t.Fatalf("AddAutoPayment(later) = %v; want ErrAlreadyRecorded", err)
			}
			ps, _ := db.Payments(r.ID)
			if len(ps) != 1 || ps[0].Amount != 500 || ps[0].BankNotice != tc.wantNotice {
				t.Errorf("payments = %+v; want one of 500 with notice %q", ps, tc.wantNotice)
			}
			if ms, _ := db.Messages(0, 10); len(ms) != 0 {
				t.Errorf("a refused payment queued %d messages", len(ms))
			}
		})
	}
	db, _ := storetest.Open(t, opts())
	if err := db.AddAutoPayment(store.Payment{Order: "x", RecordID: "r", Amount: 1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddAutoPayment without request_order = %v; want ErrInvalid", err)
	}
}

// Released owing, then the outcome: paid (the record shows it), or refused
// (an arrears of the plate, collected by its next exit, once). Across a
// reopen of the file, and a repeated outcome changes nothing.
func TestOwedAndArrears(t *testing.T) {
	for _, paid := range []bool{true, false} {
		name := map[bool]string{true: "paid", false: "refused"}[paid]
		t.Run(name, func(t *testing.T) {
			db, path := storetest.Open(t, opts())
			r, _ := db.OpenRecord(car("沪C1", 1, t0))
			exit := store.Exit{OutCode: 1, OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 500, Due: 500}, AwaitOrder: "RO1"}
			if _, err := db.CloseRecord(r.ID, exit); err != nil {
				t.Fatal(err)
			}
			db = reopen(t, db, path)
			o := store.Owed{Paid: paid, At: t0.Add(2 * time.Hour), Reason: "no agreement"}
			if paid {
				o.Payment = store.Payment{Order: "CH1", Amount: 500, PayTime: t0.Add(2 * time.Hour), PayType: 99}
				o.Item = store.ChargeItem{PayType: 99, ShouldPay: 500, ActualPay: 500, SeqNum: "CH1"}
			}
			out := store.Message{Kind: store.KindOutdata, RecordID: r.ID}
			got, err := db.SettleOwed(r.ID, o, out)
			if err != nil {
				t.Fatalf("SettleOwed = %v", err)
			}
			if _, err := db.SettleOwed(r.ID, o, out); !errors.Is(err, store.ErrNotAwaiting) {
				t.Errorf("SettleOwed again = %v; want ErrNotAwaiting", err)
			}
			if ms, _ := db.Messages(0, 10); len(ms) != 1 {
				t.Errorf("%d messages queued; want the one Outdata", len(ms))
			}
			as, _ := db.Arrears("沪C1")
			if paid {
				if got.Fees.Paid != 500 || got.Fees.Due != 0 || len(got.Items) != 1 || len(as) != 0 {
					t.Errorf("paid: %+v, arrears %+v; want 500 paid, one item, no arrears", got, as)
				}
				if sum, _, _ := db.PaidFor(r.ID); sum != 500 {
					t.Errorf("PaidFor = %d; want 500", sum)
				}
				return
			}
			if got.Arrears != 500 || len(as) != 1 || as[0].Amount != 500 || as[0].RecordID != r.ID {
				t.Fatalf("refused: record %+v, arrears %+v; want 500 in arrears", got, as)
			}
			// The next stay collects it, once.
			r2, _ := db.OpenRecord(car("沪C1", 1, t0.Add(3*time.Hour)))
			if _, err := db.CloseRecord(r2.ID, store.Exit{OutTime: t0.Add(4 * time.Hour), Collected: as}); err != nil {
				t.Fatalf("CloseRecord collecting = %v", err)
			}
			if left, _ := db.Arrears(""); len(left) != 0 {
				t.Errorf("arrears after collection: %+v", left)
			}
			r3, _ := db.OpenRecord(car("沪C1", 1, t0.Add(5*time.Hour)))
			if _, err := db.CloseRecord(r3.ID, store.Exit{OutTime: t0.Add(6 * time.Hour), Collected: as}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("collecting twice = %v; want ErrNotFound", err)
			}
			if c, _ := db.RecordByID(r3.ID); c.State != store.StateLeaving && c.State != store.StateInside {
				t.Errorf("the refused close changed the record: %+v", c)
			}
		})
	}
}

// A bind that repeats one a later unbind undid is refused; others pass;
// the history survives a reopen.
func TestBindReplay(t *testing.T) {
	db, path := storetest.Open(t, opts())
	at := t0
	bind := func(plate string, limit int64, serial, post string) error {
		at = at.Add(time.Minute)
		return db.Bind(store.Binding{Plate: plate, Limit: limit, SerialNo: serial, PostURL: post, Source: store.SourceBind, Updated: at})
	}
	unbind := func(plate string) {
		at = at.Add(time.Minute)
		if _, err := db.Unbind(plate, at); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		do     func() error
		replay bool
	}{
		{"bind S1", func() error { return bind("A", 5000, "S1", "") }, false},
		{"bind S1 again before any unbind", func() error { return bind("A", 5000, "S1", "") }, false},
		{"unbind", func() error { unbind("A"); return nil }, false},
		{"replay S1", func() error { return bind("A", 5000, "S1", "") }, true},
		{"replay S1 after a reopen", func() error { db = reopen(t, db, path); return bind("A", 9000, "S1", "") }, true},
		{"new serial", func() error { return bind("A", 5000, "S2", "") }, false},
		{"no serial", func() error { return bind("B", 3000, "", "https://x/AutoPay") }, false},
		{"unbind B", func() error { unbind("B"); return nil }, false},
		{"same limit and post_url", func() error { return bind("B", 3000, "", "https://x/AutoPay") }, true},
		{"same limit, other post_url", func() error { return bind("B", 3000, "", "https://y/AutoPay") }, false},
		{"another plate, same serial", func() error { return bind("C", 5000, "S1", "") }, false},
	}
	for _, s := range steps {
		err := s.do()
		if got := errors.Is(err, store.ErrReplayed); got != s.replay || (err != nil && !got) {
			t.Errorf("%s = %v; want replay %v", s.name, err, s.replay)
		}
	}
	if b, err := db.Binding("A"); err != nil || b.SerialNo != "S2" {
		t.Errorf("binding A = %+v, %v; want S2", b, err)
	}
	if h, _ := db.BindHistory("A"); len(h) != 4 {
		t.Errorf("history of A = %+v; want 4 events (3 binds, 1 unbind)", h)
	}
}

func reopen(t *testing.T, db *store.DB, path string) *store.DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, _, err := store.Open(path, opts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestAckAutoPayment: the AutoPay leaves the outbox and its payment is
// recorded in one transaction, once; an unknown message records nothing.
func TestAckAutoPayment(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	if _, err := db.OpenRecord(store.Record{ID: "R", Plate: "沪C1", InTime: t0}); err != nil {
		t.Fatal(err)
	}
	ap := store.Message{Kind: store.KindAutoPay, RecordID: "R", RequestOrder: "R-1", Params: map[string]string{"request_order": "R-1"}}
	rec, err := db.MarkLeaving("R", 2, t0.Add(time.Hour), ap, ap)
	if err != nil || rec.State != store.StateLeaving {
		t.Fatal(rec, err)
	}
	msgs, _ := db.Messages(0, 10)
	p := store.Payment{Order: "CMB1", RecordID: "R", Plate: "沪C1", PayType: 99, Amount: 500, PayTime: t0.Add(time.Hour), RequestOrder: "R-1"}
	if err := db.AckAutoPayment(msgs[0].Seq, p); err != nil {
		t.Fatal(err)
	}
	// The same AutoPay answered again (its second copy): acked, no
	// second payment.
	p2 := p
	p2.Order = "CMB2"
	if err := db.AckAutoPayment(msgs[1].Seq, p2); err != nil {
		t.Fatal(err)
	}
	if err := db.AckAutoPayment(msgs[0].Seq, p); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AckAutoPayment of an acked message = %v; want ErrNotFound", err)
	}
	pays, _ := db.Payments("R")
	if len(pays) != 1 || pays[0].Order != "CMB1" || pays[0].Amount != 500 {
		t.Errorf("payments = %+v; want CMB1 once", pays)
	}
	if left, _ := db.Messages(0, 10); len(left) != 0 {
		t.Errorf("outbox = %s; want empty", kinds(left))
	}
	if err := db.AckAutoPayment(1, store.Payment{Order: "x", RecordID: "R"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AckAutoPayment without request_order = %v; want ErrInvalid", err)
	}
}
