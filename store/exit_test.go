package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestSettleSeesPaymentsAndCloses(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	if err := db.AddPayment(store.Payment{Order: "o1", RecordID: r.ID, Amount: 400, PayTime: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Settle(r.ID, func(rec store.Record, pays []store.Payment) (store.Exit, []store.Message, error) {
		if len(pays) != 1 || pays[0].Amount != 400 || rec.ID != r.ID {
			t.Errorf("fn(%s, %+v); want the record and its payment of 400", rec.ID, pays)
		}
		return store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 400, Paid: 400}},
			[]store.Message{{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"x": "1"}}}, nil
	})
	if err != nil || got.State != store.StateClosed || got.Fees.Paid != 400 {
		t.Fatalf("Settle = %+v, %v; want closed, paid 400", got, err)
	}
	if msgs, _ := db.Messages(0, 10); len(msgs) != 1 || msgs[0].Kind != store.KindOutdata {
		t.Errorf("queued = %+v; want the Outdata", msgs)
	}
	if _, err := db.Settle(r.ID, nil); !errors.Is(err, store.ErrRecordClosed) {
		t.Errorf("Settle(closed) = %v; want ErrRecordClosed", err)
	}
}

func TestSettleErrorChangesNothing(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	boom := errors.New("repriced")
	_, err := db.Settle(r.ID, func(store.Record, []store.Payment) (store.Exit, []store.Message, error) {
		return store.Exit{}, nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Settle = %v; want the fn's error", err)
	}
	if got, _ := db.RecordByID(r.ID); !got.State.Open() {
		t.Error("a failed Settle closed the record")
	}
}

// A payment racing the exit is either seen by the settle function or
// recorded after the close (AfterExit): never lost from both.
func TestSettleRacingPayment(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	for i := range 40 {
		r, err := db.OpenRecord(car(fmt.Sprintf("京A%d", i), 1, t0))
		if err != nil {
			t.Fatal(err)
		}
		var seen bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := db.Settle(r.ID, func(_ store.Record, pays []store.Payment) (store.Exit, []store.Message, error) {
				seen = len(pays) == 1
				return store.Exit{OutTime: t0.Add(time.Hour)}, nil, nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, _, err := db.AddPayments([]store.Payment{{Order: fmt.Sprint("o", i), RecordID: r.ID, Amount: 100, PayTime: t0}}); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		p, err := db.PaymentByOrder(fmt.Sprint("o", i))
		if err != nil {
			t.Fatal(err)
		}
		if seen == p.AfterExit {
			t.Fatalf("round %d: seen by the exit %v, after exit %v; want exactly one", i, seen, p.AfterExit)
		}
	}
}

func TestAddPaymentsBoundsAndAtomicity(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	item := func(order string, amount int64) store.Payment {
		return store.Payment{Order: order, RecordID: r.ID, Amount: amount, PayTime: t0}
	}
	many := make([]store.Payment, store.MaxNoticeItems+1)
	for i := range many {
		many[i] = item(fmt.Sprint("m", i), 1)
	}
	tests := []struct {
		name string
		ps   []store.Payment
		want error
	}{
		{"too many items", many, store.ErrInvalid},
		{"amount beyond bound", []store.Payment{item("a", store.MaxAmount+1)}, store.ErrOverflow},
		{"total would overflow", []store.Payment{item("b", store.MaxAmount), item("c", store.MaxAmount)}, store.ErrOverflow},
		{"one bad order spoils all", []store.Payment{item("d", 1), item("", 1)}, store.ErrInvalid},
		{"unknown record", []store.Payment{{Order: "e", RecordID: "nope", Amount: 1}}, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := db.AddPayments(tc.ps); !errors.Is(err, tc.want) {
				t.Errorf("AddPayments = %v; want %v", err, tc.want)
			}
		})
	}
	if ps, _ := db.Payments(r.ID); len(ps) != 0 {
		t.Fatalf("payments after refused notices = %+v; want none", ps)
	}
	fresh, _, err := db.AddPayments([]store.Payment{item("f", 100), item("g", 200)})
	if err != nil || len(fresh) != 2 {
		t.Fatalf("AddPayments = %d, %v; want 2 fresh", len(fresh), err)
	}
	fresh, _, err = db.AddPayments([]store.Payment{item("f", 100), item("h", 5)})
	if err != nil || len(fresh) != 1 || fresh[0].Order != "h" {
		t.Errorf("AddPayments(replayed f, new h) = %+v, %v; want only h", fresh, err)
	}
}
