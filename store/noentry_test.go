package store_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func noEntry(plate string, at time.Time, state store.State) store.Record {
	return store.Record{Plate: plate, InCode: 1, InTime: at, OutCode: 1, OutTime: at, State: state, NoEntry: &store.NoEntry{}}
}

func queued(t *testing.T, db *store.DB) int {
	t.Helper()
	msgs, err := db.Messages(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

// A no-entry record is matched once, with its entry closed and its
// messages queued in the same transaction; a repeat, a settle after it or
// a reopened file change nothing.
func TestMatchNoEntryOnce(t *testing.T) {
	db, path := storetest.Open(t, opts())
	exitAt := t0.Add(2 * time.Hour)
	ne, err := db.AddNoEntry(noEntry("京A1", exitAt, store.StateClosed))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddPayment(store.Payment{Order: "o1", RecordID: ne.ID, Amount: 1000, PayTime: exitAt}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddNoEntry(store.Record{Plate: "京A2", InCode: 1, InTime: exitAt, State: store.StateClosed}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddNoEntry(no mark) = %v; want ErrInvalid", err)
	}
	real, err := db.OpenRecord(car("京A1", 3, t0))
	if err != nil {
		t.Fatal(err)
	}
	match := func(calls *int) store.MatchFunc {
		return func(r, n store.Record, pays, nePays []store.Payment) (store.Exit, store.NoEntry, []store.Message, error) {
			*calls++
			if r.ID != real.ID || n.ID != ne.ID || len(pays) != 0 || len(nePays) != 1 || nePays[0].Amount != 1000 {
				t.Errorf("fn(%s, %s, %+v, %+v); want the entry, the exit and the exit's payment", r.ID, n.ID, pays, nePays)
			}
			mark := *n.NoEntry
			mark.Paid, mark.Due, mark.Overcharge = 1000, 700, 300
			return store.Exit{OutCode: n.OutCode, OutTime: n.OutTime, Fees: store.Fees{Total: 700, Paid: 1000}},
				mark, []store.Message{{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"x": "1"}}}, nil
		}
	}
	boom := errors.New("boom")
	if _, err := db.MatchNoEntry(ne.ID, real.ID, exitAt, func(store.Record, store.Record, []store.Payment, []store.Payment) (store.Exit, store.NoEntry, []store.Message, error) {
		return store.Exit{}, store.NoEntry{}, nil, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("MatchNoEntry(failing fn) = %v; want its error", err)
	}
	if r, _ := db.RecordByID(real.ID); !r.State.Open() || queued(t, db) != 0 {
		t.Fatal("a failed match changed something")
	}
	var calls int
	closed, err := db.MatchNoEntry(ne.ID, real.ID, exitAt.Add(time.Hour), match(&calls))
	if err != nil || closed.State != store.StateClosed || !closed.OutTime.Equal(exitAt) || closed.Fees.Paid != 1000 {
		t.Fatalf("MatchNoEntry = %+v, %v; want the entry closed at the exit", closed, err)
	}
	if _, err := db.MatchNoEntry(ne.ID, real.ID, exitAt, match(&calls)); !errors.Is(err, store.ErrNotPending) {
		t.Errorf("MatchNoEntry again = %v; want ErrNotPending", err)
	}
	if _, err := db.SettleNoEntry(ne.ID, exitAt, func(*store.Record) ([]store.Message, error) { return nil, nil }); !errors.Is(err, store.ErrNotPending) {
		t.Errorf("SettleNoEntry after the match = %v; want ErrNotPending", err)
	}
	db = reopen(t, db, path)
	if pend, err := db.PendingNoEntries(""); err != nil || len(pend) != 0 {
		t.Errorf("PendingNoEntries = %+v, %v; want none", pend, err)
	}
	got, _ := db.RecordByID(ne.ID)
	if n := got.NoEntry; n.Matched != real.ID || !n.MatchedAt.Equal(exitAt.Add(time.Hour)) || n.Overcharge != 300 || n.Pending() {
		t.Errorf("mark = %+v; want matched to %s with 300 overcharged", n, real.ID)
	}
	if calls != 1 || queued(t, db) != 1 {
		t.Errorf("fn called %d times, %d queued; want 1 and 1", calls, queued(t, db))
	}
	rep, err := db.Report(exitAt.Add(-time.Minute), exitAt.Add(2*time.Hour))
	if err != nil || len(rep.Matched) != 1 || rep.Matched[0].ID != ne.ID {
		t.Errorf("Report.Matched = %+v, %v; want the no-entry record", rep.Matched, err)
	}
}

// An open no-entry record (its vehicle at the exit) is pending but not
// matched or settled until closed; settling alone happens once.
func TestSettleNoEntryOnce(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	ne, err := db.AddNoEntry(noEntry("京A1", t0, store.StateLeaving))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := db.OpenByPlate("京A1"); err != nil || r.ID != ne.ID {
		t.Errorf("OpenByPlate = %+v, %v; want the open no-entry record", r, err)
	}
	settle := func(r *store.Record) ([]store.Message, error) {
		r.Fees = store.Fees{Total: 1000, Due: 1000}
		r.AwaitOrder = r.ID + "PN"
		return []store.Message{{Kind: store.KindIndata, RecordID: r.ID, Params: map[string]string{"x": "1"}}}, nil
	}
	if _, err := db.SettleNoEntry(ne.ID, t0, settle); !errors.Is(err, store.ErrNotPending) {
		t.Errorf("SettleNoEntry(open) = %v; want ErrNotPending", err)
	}
	if _, err := db.CloseRecord(ne.ID, store.Exit{OutCode: 1, OutTime: t0}); err != nil {
		t.Fatal(err)
	}
	if pend, _ := db.PendingNoEntries("京A1"); len(pend) != 1 {
		t.Fatalf("PendingNoEntries after the close = %+v; want it", pend)
	}
	got, err := db.SettleNoEntry(ne.ID, t0.Add(24*time.Hour), settle)
	if err != nil || got.NoEntry.Settled.IsZero() || got.AwaitOrder != ne.ID+"PN" || got.Fees.Due != 1000 {
		t.Fatalf("SettleNoEntry = %+v, %v; want settled, awaiting its AutoPay", got, err)
	}
	if _, err := db.SettleNoEntry(ne.ID, t0.Add(25*time.Hour), settle); !errors.Is(err, store.ErrNotPending) {
		t.Errorf("SettleNoEntry again = %v; want ErrNotPending", err)
	}
	if n := queued(t, db); n != 1 {
		t.Errorf("%d queued; want 1", n)
	}
	if pend, _ := db.PendingNoEntries(""); len(pend) != 0 {
		t.Errorf("PendingNoEntries = %+v; want none", pend)
	}
}

// In a site, the no-entry record and the match are domain changes the
// other boxes need: each is in the replication log of its transaction.
func TestNoEntryReplicated(t *testing.T) {
	o := opts()
	o.Box = "b"
	db, _ := storetest.Open(t, o)
	exitAt := t0.Add(time.Hour)
	ne, err := db.AddNoEntry(noEntry("京A1", exitAt, store.StateClosed))
	if err != nil {
		t.Fatal(err)
	}
	if got := ne.ID[14:15]; got != "b" {
		t.Errorf("no-entry record id %s; want box b in it", ne.ID)
	}
	real, err := db.OpenRecord(car("京A1", 3, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.MatchNoEntry(ne.ID, real.ID, exitAt, func(r, n store.Record, _, _ []store.Payment) (store.Exit, store.NoEntry, []store.Message, error) {
		return store.Exit{OutCode: 1, OutTime: n.OutTime}, *n.NoEntry, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	es, err := db.ReplOwn(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]int{}
	for _, e := range es {
		if e.Kind == store.ReplRecord {
			logged[e.Key]++
		}
	}
	if logged[ne.ID] != 2 || logged[real.ID] != 2 {
		t.Errorf("record changes logged %v; want 2 of %s (added, matched) and 2 of %s (opened, closed)", logged, ne.ID, real.ID)
	}
}

// A salvage rebuilds the pending no-entry index from the records.
func TestNoEntryIndexSalvaged(t *testing.T) {
	db, path := storetest.Open(t, opts())
	ne, err := db.AddNoEntry(noEntry("京A1", t0, store.StateClosed))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".salvage-needed", []byte("test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, rep := storetest.Reopen(t, path, opts())
	if rep.Salvage == nil {
		t.Fatalf("reopen report = %+v; want a salvage", rep)
	}
	if pend, err := db.PendingNoEntries("京A1"); err != nil || len(pend) != 1 || pend[0].ID != ne.ID {
		t.Errorf("PendingNoEntries after the salvage = %+v, %v; want %s", pend, err, ne.ID)
	}
}
