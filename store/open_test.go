package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/store"
	"laned/store/storetest"
)

// validFile returns the bytes of a closed store file holding one record.
func validFile(t *testing.T) []byte {
	t.Helper()
	db, path := storetest.Open(t, opts())
	if _, err := db.OpenRecord(car("京A1", 1, t0), indata("x")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenCorruptFile(t *testing.T) {
	valid := validFile(t)
	badMeta := bytes.Clone(valid)
	for i := 16; i < 80; i++ { // both meta pages' bodies
		badMeta[i] ^= 0xff
		badMeta[4096+i] ^= 0xff
	}
	tests := []struct {
		name      string
		content   []byte
		movedAway bool
	}{
		{"garbage", bytes.Repeat([]byte("not a bbolt file "), 1000), true},
		{"short garbage", []byte("x"), true},
		{"truncated", valid[:len(valid)/2], true},
		{"meta only", valid[:8192], true},
		{"bad meta pages", badMeta, true},
		{"zero length", nil, true},
		{"valid", valid, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "laned.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			db, rep := storetest.Reopen(t, path, opts())
			if (rep.MovedAside != "") != tc.movedAway {
				t.Fatalf("Open report = %+v; want moved aside %v", rep, tc.movedAway)
			}
			if tc.movedAway {
				kept, err := os.ReadFile(rep.MovedAside)
				if err != nil || !bytes.Equal(kept, tc.content) || rep.Reason == "" {
					t.Errorf("moved-aside file %s: %v, same bytes %v, reason %q", rep.MovedAside, err, bytes.Equal(kept, tc.content), rep.Reason)
				}
				if !strings.HasPrefix(filepath.Base(rep.MovedAside), "laned.db.corrupt-20231114T221320") {
					t.Errorf("moved aside to %s; want a UTC timestamp suffix", rep.MovedAside)
				}
				if !rep.Created && rep.Salvage == nil {
					t.Errorf("report %+v; want Created or Salvage", rep)
				}
			}
			_, err := db.OpenByPlate("京A1")
			if wantRecord := tc.name == "valid" || rep.Salvage != nil && rep.Salvage.Kept[store.KindRecords] == 1; (err == nil) != wantRecord {
				t.Errorf("OpenByPlate after open = %v; want record present %v", err, wantRecord)
			}
			if tc.movedAway {
				ev, err := db.RecentAudit(1)
				if err != nil || len(ev) != 1 || ev[0].Kind != "fault" || !strings.Contains(ev[0].Detail, rep.MovedAside) {
					t.Errorf("RecentAudit(1) = %+v, %v; want a fault event naming %s", ev, err, rep.MovedAside)
				}
			}
			if _, err := db.OpenRecord(car("京Z9", 1, t0)); err != nil {
				t.Errorf("OpenRecord on the opened file = %v", err)
			}
		})
	}
}

func TestOpenNewerSchema(t *testing.T) {
	dir := t.TempDir()
	p2 := filepath.Join(dir, "new.db")
	b, err := bolt.Open(p2, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error {
		m, _ := tx.CreateBucket([]byte("meta"))
		return m.Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
	})
	b.Close()
	before, _ := os.ReadFile(p2)
	if _, _, err := store.Open(p2, opts()); !errors.Is(err, store.ErrNewerSchema) {
		t.Fatalf("Open(newer schema) = %v; want ErrNewerSchema", err)
	}
	after, _ := os.ReadFile(p2)
	if !bytes.Equal(before, after) {
		t.Errorf("Open(newer schema) changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Open(newer schema) left %d files; want the file alone", len(entries))
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := storetest.Open(t, opts())
	o := opts()
	o.LockTimeout = 100 * time.Millisecond
	if _, _, err := store.Open(path, o); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
}

func TestClosedDB(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	db.Close()
	if _, err := db.OpenRecord(car("京A1", 1, t0)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("OpenRecord after Close = %v; want ErrClosed", err)
	}
	if _, err := db.Due(t0, 1); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Due after Close = %v; want ErrClosed", err)
	}
}

func TestMigrationReport(t *testing.T) {
	db, path := storetest.Open(t, opts())
	db.Close()
	db2, rep, err := store.Open(path, opts())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if rep.Created || rep.MovedAside != "" || rep.FromSchema != rep.Schema || rep.Schema == 0 {
		t.Errorf("reopen report = %+v; want an existing file at the current schema", rep)
	}
}

func TestPrune(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	day := 24 * time.Hour
	var oldIDs []string
	for i := 0; i < 7; i++ {
		r, _ := db.OpenRecord(store.Record{Plate: "京P" + string(rune('0'+i)), InTime: t0})
		db.AddPayment(store.Payment{Order: "o" + r.ID, RecordID: r.ID, Amount: 100, PayTime: t0})
		out := t0.Add(time.Duration(i) * day)
		db.CloseRecord(r.ID, store.Exit{OutTime: out})
		if i < 5 {
			oldIDs = append(oldIDs, r.ID)
		}
	}
	open, _ := db.OpenRecord(store.Record{Plate: "京Q1", InTime: t0})
	n, err := db.Prune(context.Background(), t0.Add(5*day), 2)
	if err != nil || n != 5 {
		t.Fatalf("Prune = %d, %v; want 5", n, err)
	}
	for _, id := range oldIDs {
		if _, err := db.RecordByID(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned record %s: %v; want ErrNotFound", id, err)
		}
		if _, err := db.PaymentByOrder("o" + id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("payment of pruned record %s: %v; want ErrNotFound", id, err)
		}
	}
	if _, err := db.RecordByID(open.ID); err != nil {
		t.Errorf("open record pruned: %v", err)
	}
	if s, _ := db.Summary(); s.Records != 3 {
		t.Errorf("records left = %d; want 3", s.Records)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Prune(ctx, t0.Add(100*day), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Prune(cancelled) = %v; want context.Canceled", err)
	}
}

// Prune walks the records bucket itself: IDs in any order (imported ones
// do not sort by time), open records among them, more records than one
// read transaction walks, a closed record without an exit time.
func TestPruneWalk(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	day := 24 * time.Hour
	const n = 5000 // > one walk chunk
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = store.Record{Plate: fmt.Sprintf("京W%05d", i), InCode: 1, InTime: t0}
		if i%3 == 0 { // IDs that do not sort by time, late in the bucket
			recs[i].ID = fmt.Sprintf("IMPORT-%05d", n-i)
			recs[i].InTime = t0.Add(-10 * day)
		}
	}
	if err := db.OpenMany(recs); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // pruned
	var closeOld, closeNew []store.Record
	for i, r := range recs {
		switch i % 5 {
		case 0, 1, 2: // closed two days ago
			closeOld = append(closeOld, r)
			want[r.ID] = true
		case 3: // closed today
			closeNew = append(closeNew, r)
		}
	}
	if err := db.CloseMany(closeOld, store.Exit{OutCode: 2, OutTime: t0.Add(-2 * day)}); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseMany(closeNew, store.Exit{OutCode: 2, OutTime: t0}); err != nil {
		t.Fatal(err)
	}
	noExit, _ := db.OpenRecord(store.Record{Plate: "京W-none", InTime: t0.Add(-9 * day)})
	if _, err := db.CloseRecord(noExit.ID, store.Exit{Note: "no exit time"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Prune(context.Background(), t0.Add(-day), 64)
	if err != nil || got != len(want) {
		t.Fatalf("Prune = %d, %v; want %d", got, err, len(want))
	}
	left, _ := db.Records("", 2*n)
	for _, r := range left {
		if want[r.ID] {
			t.Errorf("record %s (closed at %v) not pruned", r.ID, r.OutTime)
		}
	}
	if s, _ := db.Summary(); s.Records != n+1-len(want) || s.Open != n/5 {
		t.Errorf("after Prune: %+v; want %d records, %d open", s, n+1-len(want), n/5)
	}
	if _, err := db.RecordByID(noExit.ID); err != nil {
		t.Errorf("closed record without an exit time pruned: %v", err)
	}
	if got, err := db.Prune(context.Background(), t0.Add(-day), 64); err != nil || got != 0 {
		t.Errorf("second Prune = %d, %v; want 0", got, err)
	}
}

func TestCompact(t *testing.T) {
	db, path := storetest.Open(t, opts())
	for i := 0; i < 200; i++ {
		r, _ := db.OpenRecord(store.Record{Plate: "京C" + string(rune(0x4e00+i)), InTime: t0}, indata("x"))
		db.CloseRecord(r.ID, store.Exit{OutTime: t0})
	}
	db.Prune(context.Background(), t0.Add(time.Second), 50)
	db.Close()
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := store.Compact(path, dst); err != nil {
		t.Fatalf("Compact = %v", err)
	}
	if err := store.Compact(path, dst); !errors.Is(err, os.ErrExist) {
		t.Errorf("Compact onto an existing file = %v; want ErrExist", err)
	}
	storetest.Check(t, dst, opts())
	c, _ := storetest.Reopen(t, dst, opts())
	if s, _ := c.OutboxStats(t0); s.Count != 200 {
		t.Errorf("compacted outbox = %d; want 200", s.Count)
	}
}

// The checker must catch what it claims to: break an index behind the
// store's back.
func TestCheckConsistencyDetects(t *testing.T) {
	bucket := func(name string, fn func(b *bolt.Bucket) error) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte(name))) }
	}
	tests := []struct {
		name   string
		mutate func(tx *bolt.Tx) error
		want   string
	}{
		{"dangling plate index", bucket("open_plate", func(b *bolt.Bucket) error { return b.Put([]byte("京X1"), []byte("nope")) }), "plate index"},
		{"missing plate index", bucket("open_plate", func(b *bolt.Bucket) error { return b.Delete([]byte("*A1\x00京A1")) }), "plate index"},
		{"plate index of schema 2", bucket("open_plate", func(b *bolt.Bucket) error {
			if err := b.Delete([]byte("*A1\x00京A1")); err != nil {
				return err
			}
			return b.Put([]byte("京A1"), []byte("x"))
		}), "plate index"},
		{"outbox counter", bucket("meta", func(b *bolt.Bucket) error { return b.Put([]byte("out_n"), make([]byte, 8)) }), "outbox counter"},
		{"orphan order", bucket("orders", func(b *bolt.Bucket) error { return b.Put([]byte("zz"), []byte("nope")) }), "order zz"},
		{"kind counter", bucket("meta", func(b *bolt.Bucket) error { return b.Put([]byte("kind_n/Indata"), []byte{0, 0, 0, 0, 0, 0, 0, 2}) }), "kind counter Indata"},
		{"missing kind counter", bucket("meta", func(b *bolt.Bucket) error { return b.Delete([]byte("kind_n/PicUpload")) }), "kind counter PicUpload missing"},
		{"undroppable in kind index", bucket("outbox_kind", func(b *bolt.Bucket) error { return b.Put([]byte("Indata\x00\x00\x00\x00\x00\x00\x00\x00\x01"), nil) }), "kind index"},
		{"missing kind index", bucket("outbox_kind", func(b *bolt.Bucket) error {
			k, _ := b.Cursor().First()
			return b.Delete(k)
		}), "missing from the kind index"},
		{"schema 1 bucket", func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("open_lane")); return err }, "open_lane of schema 1"},
		{"audit gap", bucket("audit", func(b *bolt.Bucket) error { return b.Put([]byte{0, 0, 0, 0, 0, 0, 0, 9}, []byte(`{"kind":"x"}`)) }), "audit ring"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			db, _, err := store.Open(path, opts())
			if err != nil {
				t.Fatal(err)
			}
			db.OpenRecord(car("京A1", 1, t0), indata("x"))
			db.Enqueue(store.Message{Kind: store.KindPicUpload, RecordID: "x"})
			db.Audit(store.AuditEvent{Kind: "barrier"})
			if err := db.CheckConsistency(); err != nil {
				t.Fatalf("CheckConsistency(clean) = %v", err)
			}
			db.Close()
			b, _ := bolt.Open(path, 0o600, nil)
			if err := b.Update(tc.mutate); err != nil {
				t.Fatal(err)
			}
			b.Close()
			db, _, _ = store.Open(path, opts())
			defer db.Close()
			err = db.CheckConsistency()
			if !errors.Is(err, store.ErrInconsistent) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckConsistency = %v; want ErrInconsistent mentioning %q", err, tc.want)
			}
		})
	}
}

// An existing file that cannot be read (here a symlink loop: the error
// is about the file, not the process) is set aside, never replaced in
// place, with an audit event in the fresh store.
func TestOpenUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "laned.db")
	if err := os.Symlink(path, path); err != nil {
		t.Fatal(err)
	}
	db, rep := storetest.Reopen(t, path, opts())
	if rep.MovedAside == "" || !strings.Contains(rep.Reason, "unreadable") || !rep.Created {
		t.Fatalf("Open report = %+v; want the file set aside as unreadable and a fresh one", rep)
	}
	if fi, err := os.Lstat(rep.MovedAside); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("set-aside file %s: %v, %v; want the symlink kept", rep.MovedAside, fi, err)
	}
	if ev, err := db.RecentAudit(1); err != nil || len(ev) != 1 || ev[0].Kind != "fault" || !strings.Contains(ev[0].Detail, "unreadable") {
		t.Errorf("RecentAudit(1) = %+v, %v; want the fault event", ev, err)
	}
}
