package store_test

import (
	"context"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// Entries older than ReplKeep and published are pruned by the hourly
// maintenance; unpublished or recent ones, the head and cursors stay.
func TestPruneRepl(t *testing.T) {
	now := t0
	o := store.Options{Box: "a", ReplKeep: 24 * time.Hour, Now: func() time.Time { return now }}
	db, path := storetest.Open(t, o)
	b, _ := storetest.Open(t, store.Options{Box: "b", Now: func() time.Time { return now }})
	for i := range 10 { // entries 1..10, an hour apart
		now = t0.Add(time.Duration(i) * time.Hour)
		if err := db.PutVehicle(store.Vehicle{Plate: "京D1", List: store.ListVIP, Note: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	rb, _ := b.OpenRecord(car("京D2", 1, t0))
	esb, _ := b.ReplOwn(0, 10)
	if _, err := db.ApplyRepl("b", esb); err != nil {
		t.Fatal(err)
	}
	if err := db.SetReplPublished(6); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		now   time.Time
		batch int
		want  int    // pruned
		first uint64 // first entry kept
	}{
		{"nothing old yet", t0.Add(24 * time.Hour), 2, 0, 1},
		{"old and published: 1..3", t0.Add(26*time.Hour + time.Minute), 2, 3, 4},
		{"old but not published: up to 6 only", t0.Add(100 * time.Hour), 2, 3, 7},
		{"again: nothing", t0.Add(100 * time.Hour), 2, 0, 7},
	} {
		now = tc.now
		n, err := db.PruneRepl(context.Background(), tc.batch)
		if err != nil || n != tc.want {
			t.Errorf("%s: PruneRepl = %d, %v; want %d", tc.name, n, err, tc.want)
		}
		es, _ := db.ReplOwn(0, 100)
		if len(es) == 0 || es[0].Seq != tc.first || es[len(es)-1].Seq != 10 {
			t.Errorf("%s: log %d..; want %d..10", tc.name, es[0].Seq, tc.first)
		}
	}
	if err := db.SetReplPublished(10); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(1000 * time.Hour)
	if _, err := db.Prune(context.Background(), now, 100); err != nil {
		t.Fatal(err)
	}
	if es, _ := db.ReplOwn(0, 100); len(es) != 0 {
		t.Errorf("after Prune: %d entries left; want none", len(es))
	}
	if h, p, _ := db.ReplHead(); h != 10 || p != 10 {
		t.Errorf("ReplHead = %d, %d; want 10, 10", h, p)
	}
	if cs, _ := db.ReplCursors(); len(cs) != 1 || cs[0].Seq != 1 {
		t.Errorf("cursors = %+v; want b's kept", cs)
	}
	if _, err := db.RecordByID(rb.ID); err != nil {
		t.Errorf("b's open record: %v", err)
	}
	// The next entry after a restart goes on from the head.
	db.Close()
	db2, _ := storetest.Reopen(t, path, o)
	if err := db2.PutVehicle(store.Vehicle{Plate: "京D1", List: store.ListVIP}); err != nil {
		t.Fatal(err)
	}
	if es, _ := db2.ReplOwn(0, 100); len(es) != 1 || es[0].Seq != 11 {
		t.Errorf("after prune and restart: %+v; want entry 11", es)
	}
}
