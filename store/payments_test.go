package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/store"
	"laned/store/storetest"
)

func TestPayments(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	pays := []struct {
		name string
		p    store.Payment
		want error
	}{
		{"first", store.Payment{Order: "o1", RecordID: r.ID, PayType: 99, Amount: 400, PayTime: t0.Add(time.Hour)}, nil},
		{"second", store.Payment{Order: "o2", RecordID: r.ID, PayType: 99, Amount: 200, PayTime: t0.Add(2 * time.Hour)}, nil},
		{"repeat", store.Payment{Order: "o1", RecordID: r.ID, PayType: 99, Amount: 400, PayTime: t0.Add(3 * time.Hour)}, store.ErrAlreadyRecorded},
		{"repeat other amount", store.Payment{Order: "o2", RecordID: r.ID, Amount: 999, PayTime: t0}, store.ErrAlreadyRecorded},
		{"unknown record", store.Payment{Order: "o3", RecordID: "nope", Amount: 1, PayTime: t0}, store.ErrNotFound},
		{"no order", store.Payment{RecordID: r.ID, Amount: 1}, store.ErrInvalid},
		{"negative", store.Payment{Order: "o4", RecordID: r.ID, Amount: -1}, store.ErrInvalid},
	}
	for _, tc := range pays {
		t.Run(tc.name, func(t *testing.T) {
			msg := store.Message{Kind: "PayNote", RecordID: r.ID, Params: map[string]string{"order": tc.p.Order}}
			if err := db.AddPayment(tc.p, msg); !errors.Is(err, tc.want) {
				t.Errorf("AddPayment(%s) = %v; want %v", tc.p.Order, err, tc.want)
			}
		})
	}
	sum, last, err := db.PaidFor(r.ID)
	if err != nil || sum != 600 || !last.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("PaidFor = %d, %v, %v; want 600, %v", sum, last, err, t0.Add(2*time.Hour))
	}
	if p, err := db.PaymentByOrder("o1"); err != nil || p.Amount != 400 {
		t.Errorf("PaymentByOrder(o1) = %+v, %v", p, err)
	}
	if ps, _ := db.Payments(r.ID); len(ps) != 2 {
		t.Errorf("Payments = %d; want 2", len(ps))
	}
	// Only the two recorded payments enqueued their message.
	if msgs, _ := db.Messages(0, 10); len(msgs) != 2 {
		t.Errorf("messages = %d; want 2 (repeats and failures enqueue nothing)", len(msgs))
	}
	// A late notice for a closed record still counts.
	if _, err := db.CloseRecord(r.ID, store.Exit{OutTime: t0.Add(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddPayment(store.Payment{Order: "o5", RecordID: r.ID, Amount: 100, PayTime: t0.Add(5 * time.Hour)}); err != nil {
		t.Errorf("AddPayment(closed record) = %v", err)
	}
	if got := db.NewestTime(); !got.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("NewestTime() = %v; want the last pay time", got)
	}
	if sum, _, _ := db.PaidFor(r.ID); sum != 700 {
		t.Errorf("PaidFor after late notice = %d; want 700", sum)
	}
}

func TestBindings(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	b := store.Binding{Plate: "京A1", Limit: 5000, SerialNo: "s", PostURL: "https://x/api/AutoPay", Source: store.SourceBind, Updated: t0}
	if err := db.PutBinding(b); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Binding("京A1"); err != nil || got.Limit != 5000 || got.PostURL != b.PostURL || got.Source != store.SourceBind {
		t.Errorf("Binding = %+v, %v", got, err)
	}
	b.Limit, b.Source = 3000, store.SourceIndata
	if err := db.PutBinding(b); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Binding("京A1"); got.Limit != 3000 {
		t.Errorf("Binding after update: limit %d; want 3000", got.Limit)
	}
	if err := db.PutBinding(store.Binding{Plate: "x", Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PutBinding(negative limit) = %v; want ErrInvalid", err)
	}
	if all, _ := db.Bindings(); len(all) != 1 {
		t.Errorf("Bindings = %d; want 1", len(all))
	}
	for i, want := range []bool{true, false} {
		if existed, err := db.DeleteBinding("京A1"); err != nil || existed != want {
			t.Errorf("DeleteBinding #%d = %v, %v; want %v", i, existed, err, want)
		}
	}
	if _, err := db.Binding("京A1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Binding after unbind = %v; want ErrNotFound", err)
	}
}

func TestVehicles(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	day := 24 * time.Hour
	for _, v := range []store.Vehicle{
		{Plate: "京M1", List: store.ListMonthly, From: t0, Until: t0.Add(30 * day)},
		{Plate: "京V1", List: store.ListVIP},
		{Plate: "京B1", List: store.ListBlack, From: t0.Add(day)},
		{Plate: "京B1", List: store.ListMonthly, From: t0, Until: t0.Add(30 * day)},
	} {
		if err := db.PutVehicle(v); err != nil {
			t.Fatalf("PutVehicle(%+v) = %v", v, err)
		}
	}
	for _, bad := range []store.Vehicle{
		{Plate: "x", List: "gold"},
		{Plate: "", List: store.ListVIP},
		{Plate: "x", List: store.ListVIP, From: t0, Until: t0},
	} {
		if err := db.PutVehicle(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PutVehicle(%+v) = %v; want ErrInvalid", bad, err)
		}
	}
	tests := []struct {
		plate string
		at    time.Time
		want  store.List // "" = not found
	}{
		{"京M1", t0.Add(-time.Second), ""},
		{"京M1", t0, store.ListMonthly},
		{"京M1", t0.Add(30*day - time.Second), store.ListMonthly},
		{"京M1", t0.Add(30 * day), ""},
		{"京V1", t0.Add(-1000 * day), store.ListVIP},
		{"京B1", t0, store.ListMonthly},
		{"京B1", t0.Add(day), store.ListBlack},
		{"京X1", t0, ""},
	}
	for _, tc := range tests {
		v, err := db.LookupVehicle(tc.plate, tc.at)
		switch {
		case tc.want == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("LookupVehicle(%s, %v) = %+v, %v; want ErrNotFound", tc.plate, tc.at.Unix(), v, err)
		case tc.want != "" && (err != nil || v.List != tc.want):
			t.Errorf("LookupVehicle(%s, %v) = %q, %v; want %q", tc.plate, tc.at.Unix(), v.List, err, tc.want)
		}
	}
	if all, _ := db.ListVehicles(); len(all) != 4 {
		t.Errorf("ListVehicles = %d; want 4", len(all))
	}
	if err := db.DeleteVehicle("京B1", store.ListBlack); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteVehicle("京B1", store.ListBlack); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteVehicle = %v; want ErrNotFound", err)
	}
	if v, _ := db.LookupVehicle("京B1", t0.Add(day)); v.List != store.ListMonthly {
		t.Errorf("after unblacklisting: %q; want monthly", v.List)
	}
}

func TestAudit(t *testing.T) {
	o := opts()
	o.AuditMax = 3
	db, _ := storetest.Open(t, o)
	for i := 0; i < 5; i++ {
		if err := db.Audit(store.AuditEvent{Kind: "barrier", Lane: i, Detail: "up"}); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	// An audit event riding with a domain operation.
	if _, err := db.CloseRecord(r.ID, store.Exit{OutTime: t0}, outdata(r.ID),
		store.Audited(store.AuditEvent{Kind: "manual_open", Lane: 7, Detail: "free exit"})); err != nil {
		t.Fatal(err)
	}
	evs, err := db.RecentAudit(10)
	if err != nil || len(evs) != 3 {
		t.Fatalf("RecentAudit(10) = %d events, %v; want 3 (the ring)", len(evs), err)
	}
	if evs[0].Kind != "manual_open" || evs[0].Lane != 7 || !evs[0].Time.Equal(t0) || evs[1].Lane != 4 || evs[2].Lane != 3 {
		t.Errorf("RecentAudit = %+v; want manual_open, lane 4, lane 3", evs)
	}
	if msgs, _ := db.Messages(0, 10); len(msgs) != 1 {
		t.Errorf("messages = %+v; want only the Outdata (an audit is no uplink)", msgs)
	}
	if err := db.Audit(store.AuditEvent{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Audit(no kind) = %v; want ErrInvalid", err)
	}
}

// The ring is trimmed in batches: RecentAudit shows exactly the AuditMax
// newest events, and the file never holds more than AuditMax plus the
// slack (a sixteenth of the ring, at least one, at most 256).
func TestAuditRing(t *testing.T) {
	tests := []struct{ max, events, slack int }{
		{3, 20, 1},
		{32, 100, 2},
		{160, 500, 10},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			o := opts()
			o.AuditMax = tc.max
			db, _ := storetest.Open(t, o)
			for i := 1; i <= tc.events; i++ {
				if err := db.Audit(store.AuditEvent{Kind: "barrier", Lane: i}); err != nil {
					t.Fatal(err)
				}
				var stored int
				db.Bolt().View(func(tx *bolt.Tx) error {
					stored = tx.Bucket([]byte("audit")).Stats().KeyN
					return nil
				})
				if stored > tc.max+tc.slack || stored < min(i, tc.max) {
					t.Fatalf("after %d events the ring stores %d; want %d…%d", i, stored, min(i, tc.max), tc.max+tc.slack)
				}
				evs, err := db.RecentAudit(1 << 20)
				if err != nil || len(evs) != min(i, tc.max) || evs[0].Lane != i || evs[len(evs)-1].Lane != i-len(evs)+1 {
					t.Fatalf("after %d events RecentAudit = %d events (%v); want the %d newest", i, len(evs), err, min(i, tc.max))
				}
			}
		})
	}
}
