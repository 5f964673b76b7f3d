package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// crashModeEnv selects the child of TestJournalKilledMidApply.
const crashModeEnv = "STORE_CRASH_MODE"

// applyChild opens records, then closes them one by one with their
// AutoPay and Outdata, printing each close once it returned; the exit
// journal's apply prints "applying" inside its transaction, before the
// commit, and blocks there until the parent kills the process.
func applyChild(path, round string) {
	say := func(format string, a ...any) { fmt.Fprintf(os.Stdout, format+"\n", a...) }
	opt := store.WithApplyHook(store.Options{}, func(n int) {
		say("applying %d", n)
		for { // killed here: the apply's writes are made, not committed
			time.Sleep(time.Hour)
		}
	})
	db, _, err := store.Open(path, opt)
	if err != nil {
		say("fatal %v", err)
		return
	}
	in := time.Unix(1_700_000_000, 0)
	msg := func(kind, t, id string) store.Message {
		return store.Message{Kind: kind, RecordID: id, RequestOrder: t, Params: map[string]string{"tok": t}}
	}
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("j%si%d", round, i)
		if _, err := db.OpenRecord(store.Record{ID: id, Plate: "P" + id, InCode: 1, InTime: in}, msg(store.KindIndata, "I"+id, id)); err != nil {
			say("fatal open %v", err)
			return
		}
		say("open %s", id)
		ids = append(ids, id)
	}
	for _, id := range ids {
		if _, err := db.CloseRecord(id, store.Exit{OutCode: 2, OutTime: in.Add(time.Hour)},
			msg(store.KindAutoPay, "A"+id, id), msg(store.KindOutdata, "O"+id, id)); err != nil {
			say("fatal close %v", err)
			return
		}
		say("close %s", id)
	}
	for {
		time.Sleep(time.Hour)
	}
}

// TestJournalKilledMidApply: the process is killed inside the transaction
// that applies an exit from the journal (its writes made, not committed).
// The next Open applies it: the exit acknowledged is there, its uplinks
// queued once, the other records untouched; a second Open applies
// nothing again.
func TestJournalKilledMidApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	for round := range 4 {
		// 3 opens, the first close and "applying", in either order: then
		// the child is stuck in the apply (and its next close waits).
		lines := runChild(t, path, round, 5, 0, crashModeEnv+"=apply")
		joined := strings.Join(lines, "\n")
		id := func(i int) string { return fmt.Sprintf("j%03di%d", round, i) }
		if !strings.Contains(joined, "close "+id(0)) || !strings.Contains(joined, "applying 1") || strings.Contains(joined, "fatal") {
			t.Fatalf("round %d: child said %q; want its first close and the apply under way", round, lines)
		}
		ro, err := store.OpenReadOnly(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pending, err := ro.JournalLen()
		ro.Close()
		if err != nil || pending != 1 {
			t.Fatalf("round %d: journal after the kill = %d, %v; want 1 exit pending", round, pending, err)
		}
		for open := range 2 { // the second Open must find nothing to do
			db, _, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatalf("round %d: open = %v", round, err)
			}
			if n, _ := db.JournalLen(); n != 0 {
				t.Errorf("round %d, open %d: %d journal entries left", round, open, n)
			}
			if err := db.CheckConsistency(); err != nil {
				t.Errorf("round %d, open %d: %v", round, open, err)
			}
			msgs, err := db.Messages(0, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			queued := map[string]int{}
			for _, m := range msgs {
				queued[tok(m)]++
			}
			for i := range 3 {
				r, err := db.RecordByID(id(i))
				if err != nil {
					t.Fatalf("round %d: record %s: %v", round, id(i), err)
				}
				want := map[string]int{"I" + id(i): 1}
				if i == 0 {
					if r.State != store.StateClosed || !r.OutTime.Equal(time.Unix(1_700_000_000, 0).Add(time.Hour)) {
						t.Errorf("round %d, open %d: acknowledged exit of %s: %+v; want closed", round, open, id(i), r)
					}
					want["A"+id(0)], want["O"+id(0)] = 1, 1
				} else if r.State == store.StateClosed {
					t.Errorf("round %d, open %d: %s closed; its close never returned", round, open, id(i))
				}
				for _, tk := range []string{"I", "A", "O"} {
					if got := queued[tk+id(i)]; got != want[tk+id(i)] {
						t.Errorf("round %d, open %d: message %s queued %d times; want %d", round, open, tk+id(i), got, want[tk+id(i)])
					}
				}
			}
			db.Close()
		}
	}
}

// TestJournal: an exit's commit writes the journal only (few pages at any
// size), every read and write after it sees the exit, and the applier
// brings the indexed buckets up to date.
func TestJournal(t *testing.T) {
	release := make(chan struct{})
	applied := make(chan int, 16)
	opt := store.WithApplyHook(opts(), func(n int) {
		applied <- n
		<-release
	})
	db, _ := storetest.Open(t, opt)
	recs := make([]store.Record, 2000)
	for i := range recs {
		recs[i] = store.Record{Plate: fmt.Sprintf("京A%05d", i), InCode: 1, InTime: t0}
	}
	if err := db.OpenMany(recs); err != nil {
		t.Fatal(err)
	}
	open, _ := db.OpenRecords()
	r := open[1000]
	p0 := pagesNow(db)
	closed, err := db.CloseRecord(r.ID, store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 500, Paid: 500}}, outdata(r.ID),
		store.Audited(store.AuditEvent{Kind: "manual", Detail: "guard"}))
	if err != nil || closed.State != store.StateClosed {
		t.Fatalf("CloseRecord = %+v, %v; want closed", closed, err)
	}
	if got := pagesNow(db) - p0; got > 4 {
		t.Errorf("the exit's commit wrote %d pages; want the journal's ≤ 4", got)
	}
	// The applier is in its transaction (the hook holds it): a read waits
	// for it and sees the exit.
	if n := <-applied; n != 1 {
		t.Errorf("applied %d entries; want 1", n)
	}
	read := make(chan error, 1)
	go func() {
		_, err := db.OpenByPlate(r.Plate)
		read <- err
	}()
	close(release)
	if err := <-read; !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenByPlate after the exit = %v; want ErrNotFound", err)
	}
	got, err := db.RecordByID(r.ID)
	if err != nil || got.State != store.StateClosed || got.Fees.Paid != 500 {
		t.Errorf("RecordByID = %+v, %v; want closed, 500 paid", got, err)
	}
	if n, _ := db.JournalLen(); n != 0 {
		t.Errorf("journal holds %d after a read; want 0", n)
	}
	due, _ := db.Due(t0.Add(2*time.Hour), 10)
	if len(due) != 1 || due[0].Kind != store.KindOutdata {
		t.Errorf("due = %s; want the Outdata", kinds(due))
	}
	if evs, _ := db.RecentAudit(1); len(evs) != 1 || evs[0].Kind != "manual" {
		t.Errorf("audit = %+v; want the manual event", evs)
	}
	// A second exit of the same record, right after, is refused.
	if _, err := db.CloseRecord(r.ID, store.Exit{OutTime: t0.Add(time.Hour)}); !errors.Is(err, store.ErrRecordClosed) {
		t.Errorf("second CloseRecord = %v; want ErrRecordClosed", err)
	}
	st, _ := db.Summary()
	if st.Open != len(recs)-1 {
		t.Errorf("open records = %d; want %d", st.Open, len(recs)-1)
	}
}

// TestJournalApplyFails: when the apply cannot commit (the disk refuses
// it), the exit stays journaled; a write applies it first, and a store
// closed meanwhile applies it at the next Open, once.
func TestJournalApplyFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	fail := func(op string) error {
		if op == "apply journal" {
			return errors.New("disk full")
		}
		return nil
	}
	o := opts()
	o.FailCommit = fail
	db, _, err := store.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"A", "B"} {
		if _, err := db.OpenRecord(store.Record{ID: id, Plate: "京" + id, InTime: t0}, indata(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CloseRecord("A", store.Exit{OutTime: t0.Add(time.Hour)}, outdata("A")); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.JournalLen(); n != 1 {
		t.Fatalf("journal = %d; want the exit pending", n)
	}
	db.Close()
	for range 2 {
		db, _, err = store.Open(path, opts())
		if err != nil {
			t.Fatal(err)
		}
		if r, err := db.RecordByID("A"); err != nil || r.State != store.StateClosed {
			t.Errorf("A after reopen = %+v, %v; want closed", r, err)
		}
		if msgs, _ := db.Messages(0, 100); kinds(msgs) != "Indata:A Indata:B Outdata:A" {
			t.Errorf("outbox = %s; want Indata:A Indata:B Outdata:A", kinds(msgs))
		}
		if err := db.CheckConsistency(); err != nil {
			t.Error(err)
		}
		db.Close()
	}

	// A write applies a pending exit before its own change.
	o.FailCommit = fail
	db, _, err = store.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CloseRecord("B", store.Exit{OutTime: t0.Add(time.Hour)}, outdata("B")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenRecord(store.Record{ID: "C", Plate: "京B", InTime: t0.Add(2 * time.Hour)}, indata("C")); err != nil {
		t.Fatalf("entry of B's plate after its exit = %v", err)
	}
	if n, _ := db.JournalLen(); n != 0 {
		t.Errorf("journal = %d after a write; want 0", n)
	}
	if msgs, _ := db.Messages(0, 100); kinds(msgs) != "Indata:A Indata:B Outdata:A Outdata:B Indata:C" {
		t.Errorf("outbox = %s; want B's Outdata before C's Indata", kinds(msgs))
	}
}

// TestJournalSalvaged: an exit still in the journal when the file is
// salvaged is applied in the fresh file, once.
func TestJournalSalvaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	o := opts()
	o.FailCommit = func(op string) error {
		if op == "apply journal" {
			return errors.New("disk full")
		}
		return nil
	}
	db, _, err := store.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"A", "B"} {
		if _, err := db.OpenRecord(store.Record{ID: id, Plate: "京" + id, InTime: t0}, indata(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CloseRecord("A", store.Exit{OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 300, Paid: 300}}, outdata("A")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A caught library panic left the marker: the next Open salvages.
	if err := os.WriteFile(path+".salvage-needed", []byte("test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, rep, err := store.Open(path, opts())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if rep.Salvage == nil || rep.Salvage.Kept[store.KindJournal] != 1 {
		t.Fatalf("Open report = %+v; want a salvage that kept the journaled exit", rep)
	}
	if r, err := db.RecordByID("A"); err != nil || r.State != store.StateClosed || r.Fees.Paid != 300 {
		t.Errorf("A after the salvage = %+v, %v; want closed, 300 paid", r, err)
	}
	if _, err := db.OpenByPlate("京A"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenByPlate(京A) = %v; want ErrNotFound", err)
	}
	if msgs, _ := db.Messages(0, 100); kinds(msgs) != "Indata:A Indata:B Outdata:A" {
		t.Errorf("outbox = %s; want Indata:A Indata:B Outdata:A", kinds(msgs))
	}
	if err := db.CheckConsistency(); err != nil {
		t.Error(err)
	}
}
