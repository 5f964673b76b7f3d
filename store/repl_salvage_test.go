package store_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// A salvaged file keeps the site's state: its log under the same seqs, the
// head and published mark (a seq handed out again would be skipped by
// every other box), the cursors and shadow queues, and record ids go on.
func TestSalvageKeepsRepl(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "b")
	a, b := s.db["a"], s.db["b"]
	r, _ := b.OpenRecord(car("京E1", 1, t0), indata("rb"))
	_ = r
	id := b.NewRecordID(t0, 1)
	rb := car("京E2", 1, t0)
	rb.ID = id
	if _, err := b.OpenRecord(rb, indata(id)); err != nil {
		t.Fatal(err)
	}
	s.sync("a", "b")
	// One AutoPay under two orders: a keeps A1, Z9 an alias.
	if err := b.AddAutoPayment(store.Payment{Order: "Z9", RecordID: id, RequestOrder: "RO1", Amount: 300}); err != nil {
		t.Fatal(err)
	}
	if err := a.AddAutoPayment(store.Payment{Order: "A1", RecordID: id, RequestOrder: "RO1", Amount: 300}); err != nil {
		t.Fatal(err)
	}
	s.sync("a", "b")
	if ps, _ := a.Payments(id); len(ps) != 1 || ps[0].Order != "A1" {
		t.Fatalf("payments at a = %+v; want A1 kept", ps)
	}
	ra, _ := a.OpenRecord(car("京E3", 1, t0))
	a.PutVehicle(store.Vehicle{Plate: "京E3", List: store.ListVIP})
	if err := a.SetReplPublished(1); err != nil {
		t.Fatal(err)
	}
	wantLog, _ := a.ReplOwn(0, 100)
	wantCur, _ := a.ReplCursors()
	wantShadow, _ := a.ReplShadow("b")
	a.Close()
	path := s.path["a"]
	if err := os.WriteFile(path+".salvage-needed", []byte("test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := store.Options{Box: "a", Now: func() time.Time { return t0 }}
	db, rep := storetest.Reopen(t, path, o)
	if rep.Salvage == nil || rep.Salvage.Kept[store.KindRepl] == 0 {
		t.Fatalf("reopen = %+v; want a salvage that kept the replication state", rep)
	}
	gotLog, _ := db.ReplOwn(0, 100)
	if mustJSON(t, gotLog) != mustJSON(t, wantLog) {
		t.Errorf("log after salvage = %v; want %v", kindsOf(gotLog), kindsOf(wantLog))
	}
	if h, p, _ := db.ReplHead(); h != uint64(len(wantLog)) || p != 1 {
		t.Errorf("ReplHead after salvage = %d, %d; want %d, 1", h, p, len(wantLog))
	}
	if got, _ := db.ReplCursors(); mustJSON(t, got) != mustJSON(t, wantCur) {
		t.Errorf("cursors after salvage = %+v; want %+v", got, wantCur)
	}
	if got, _ := db.ReplShadow("b"); len(got) != 2 || mustJSON(t, got) != mustJSON(t, wantShadow) {
		t.Errorf("shadow after salvage = %+v; want %+v", got, wantShadow)
	}
	for _, o := range []string{"A1", "Z9"} {
		if _, _, err := db.AddPayments([]store.Payment{{Order: o, RecordID: id, Amount: 300}}); err != nil {
			t.Fatal(err)
		}
	}
	if sum, _, _ := db.PaidFor(id); sum != 300 {
		t.Errorf("after salvage and repeated notices paid %d; want 300", sum)
	}
	r2, err := db.OpenRecord(car("京E4", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID <= ra.ID {
		t.Errorf("id after salvage %s; want after %s", r2.ID, ra.ID)
	}
	es, _ := db.ReplOwn(uint64(len(wantLog)), 10)
	if !slices.Equal(kindsOf(es), []string{store.ReplRecord}) || es[0].Seq != uint64(len(wantLog))+1 {
		t.Errorf("next entry after salvage = %+v; want seq %d", es, len(wantLog)+1)
	}
}
