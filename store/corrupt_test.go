package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// zeroPage overwrites page id of the file at path with zeros, under a
// store that may have it open (bbolt maps the file shared: it sees this).
func zeroPage(t *testing.T, path string, id uint64, pageSize int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, pageSize), int64(id)*pageSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// A page damaged under a running store: the library's panic is ErrCorrupt,
// reads and writes elsewhere go on, and the next Open salvages.
func TestCorruptAtRuntime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "laned.db")
	var logs bytes.Buffer
	o := opts()
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db, _, err := store.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]store.Record, 500)
	for i := range recs {
		recs[i] = car(fmt.Sprintf("京C%05d", i), 1, t0.Add(time.Duration(i)*time.Second))
	}
	if err := db.OpenMany(recs); err != nil {
		t.Fatal(err)
	}
	pm, err := store.Pages(path)
	if err != nil {
		t.Fatal(err)
	}
	leafOf := func(id string) uint64 { p := pm.Paths["records"][id]; return p[len(p)-1] }
	victim, other := recs[250], recs[0]
	if leafOf(victim.ID) == leafOf(other.ID) {
		t.Fatalf("records %s and %s share a page", victim.ID, other.ID)
	}
	zeroPage(t, path, leafOf(victim.ID), pm.PageSize)

	if _, err := db.RecordByID(victim.ID); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("RecordByID(on the zeroed page) = %v; want ErrCorrupt", err)
	}
	if _, err := os.Stat(path + ".salvage-needed"); err != nil {
		t.Errorf("no salvage marker after ErrCorrupt: %v", err)
	}
	if r, err := db.RecordByID(other.ID); err != nil || r.Plate != other.Plate {
		t.Errorf("RecordByID(on an intact page) = %+v, %v; want the record", r, err)
	}
	if _, err := db.CloseRecord(victim.ID, store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour)}, outdata(victim.ID)); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("CloseRecord(on the zeroed page) = %v; want ErrCorrupt", err)
	}
	// A write elsewhere in the file still commits; one through the damaged
	// page fails again, and nothing of it is written.
	if _, err := db.OpenRecord(car("京D00001", 1, t0.Add(2*time.Hour)), indata("x")); err != nil {
		t.Errorf("OpenRecord on intact pages after a write panicked = %v", err)
	}
	if _, err := db.MarkLeaving(victim.ID, 2, t0.Add(time.Hour)); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("MarkLeaving(on the zeroed page) = %v; want ErrCorrupt", err)
	}
	if r, err := db.OpenByPlate(other.Plate); err != nil || r.ID != other.ID {
		t.Errorf("OpenByPlate(intact) after a write panicked = %+v, %v; want the record", r, err)
	}
	if msgs, err := db.Messages(0, 10); err != nil || len(msgs) != 1 || msgs[0].RecordID != "x" {
		t.Errorf("Messages = %+v, %v; want only the Indata of the commit that succeeded", msgs, err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "bbolt panicked") {
		t.Errorf("log = %s; want an ERROR line for the panic", l)
	}

	db, rep := storetest.Reopen(t, path, opts())
	if rep.Salvage == nil {
		t.Fatalf("reopen report = %+v; want a salvage", rep)
	}
	if _, err := db.RecordByID(other.ID); err != nil {
		t.Errorf("RecordByID(intact) after salvage = %v", err)
	}
	if _, err := db.RecordByID(victim.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RecordByID(zeroed) after salvage = %v; want ErrNotFound", err)
	}
	if got, want := rep.Salvage.Kept[store.KindRecords], len(recs)+1-len(pageRecords(pm, leafOf(victim.ID))); got != want {
		t.Errorf("Kept[records] = %d; want %d", got, want)
	}
	if _, err := os.Stat(path + ".salvage-needed"); err == nil {
		t.Errorf("salvage marker left after the salvage")
	}
	if _, err := db.OpenRecord(car("京D00002", 1, t0.Add(3*time.Hour))); err != nil {
		t.Errorf("OpenRecord after salvage = %v", err)
	}
}

func pageRecords(pm store.PageMap, leaf uint64) []string {
	var ids []string
	for id, p := range pm.Paths["records"] {
		if p[len(p)-1] == leaf {
			ids = append(ids, id)
		}
	}
	return ids
}

// The page check at Open is bounded: with no time at all it stops, says
// so, and the file opens unchecked.
func TestOpenCheckTimeout(t *testing.T) {
	db, path := storetest.Open(t, opts())
	if err := db.OpenMany([]store.Record{car("京A1", 1, t0), car("京A2", 1, t0)}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		checked  bool
		timedOut bool
	}{
		{"default", 0, true, false},
		{"no time", time.Nanosecond, true, true},
		{"off", -1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts()
			// A clock that moves: every reading is a second later.
			now := t0
			o.Now = func() time.Time { now = now.Add(time.Second); return now }
			o.CheckTimeout = tc.timeout
			db, rep, err := store.Open(path, o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if (rep.Check != nil) != tc.checked || rep.Check != nil && (rep.Check.TimedOut != tc.timedOut || len(rep.Check.Problems) > 0) {
				t.Errorf("Open report check = %+v; want checked %v, timed out %v, no problem", rep.Check, tc.checked, tc.timedOut)
			}
			if rep.Salvage != nil || rep.MovedAside != "" {
				t.Errorf("Open report = %+v; want the file used as it is", rep)
			}
		})
	}
}

// CheckFile never changes the file: a sound one has no problem, a damaged
// or empty one says what is wrong and stays as it was.
func TestCheckFileReadOnly(t *testing.T) {
	c := buildCorpus(t, 500)
	leaf := c.pages.Paths["records"]
	var some uint64
	for _, p := range leaf {
		some = p[len(p)-1]
		break
	}
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		problem string
	}{
		{"sound", func(b []byte) []byte { return b }, ""},
		{"zeroed leaf", func(b []byte) []byte {
			clear(b[int64(some)*c.pages.PageSize : int64(some+1)*c.pages.PageSize])
			return b
		}, "header says page 0"},
		{"empty", func([]byte) []byte { return nil }, "empty file"},
		{"garbage", func([]byte) []byte { return bytes.Repeat([]byte("x"), 9000) }, "no valid meta page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "laned.db")
			b := tc.damage(bytes.Clone(c.file))
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(path)
			fc, err := store.CheckFile(path, opts())
			if err != nil {
				t.Fatalf("CheckFile = %v", err)
			}
			got := strings.Join(fc.Problems, "; ")
			if tc.problem == "" && got != "" || tc.problem != "" && !strings.Contains(got, tc.problem) {
				t.Errorf("CheckFile problems = %q; want %q", got, tc.problem)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, b) {
				t.Errorf("CheckFile changed the file (%v)", err)
			}
			if st, _ := os.Stat(path); !st.ModTime().Equal(before.ModTime()) {
				t.Errorf("CheckFile touched the file")
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
				t.Errorf("CheckFile left %d files; want the file alone", len(entries))
			}
		})
	}
}

// CompactFile holds the store's lock from its first read to the swap: an
// Open (or a check) meanwhile gets ErrLocked; the result holds the same
// data and the old file is kept.
func TestCompactFileHoldsLock(t *testing.T) {
	c := buildCorpus(t, 300)
	path := filepath.Join(t.TempDir(), "laned.db")
	if err := os.WriteFile(path, c.file, 0o600); err != nil {
		t.Fatal(err)
	}
	quick := opts()
	quick.LockTimeout = 50 * time.Millisecond
	hooked := 0
	o := store.WithCompactHook(opts(), func() {
		hooked++
		if _, _, err := store.Open(path, quick); !errors.Is(err, store.ErrLocked) {
			t.Errorf("Open during compaction = %v; want ErrLocked", err)
		}
		if _, err := store.CheckFile(path, quick); !errors.Is(err, store.ErrLocked) {
			t.Errorf("CheckFile during compaction = %v; want ErrLocked", err)
		}
	})
	rep, err := store.CompactFile(path, o)
	if err != nil {
		t.Fatalf("CompactFile = %v", err)
	}
	if hooked != 1 {
		t.Fatalf("the hook ran %d times", hooked)
	}
	if old, err := os.ReadFile(rep.Old); err != nil || !bytes.Equal(old, c.file) {
		t.Errorf("old file %s kept: %v", rep.Old, err)
	}
	if rep.After <= 0 || rep.After > rep.Before {
		t.Errorf("CompactFile report = %+v; want a smaller file", rep)
	}
	storetest.Check(t, path, opts())
	db, _ := storetest.Reopen(t, path, opts())
	for id, want := range c.records {
		if got, err := db.RecordByID(id); err != nil || got.State != want.State || got.Plate != want.Plate {
			t.Fatalf("RecordByID(%s) after compaction = %+v, %v; want %+v", id, got, err, want)
		}
	}
	if msgs, err := db.Messages(0, 1<<20); err != nil || len(msgs) != len(c.msgs) {
		t.Errorf("Messages after compaction = %d, %v; want %d", len(msgs), err, len(c.msgs))
	}
}

// CompactFile refuses a damaged file and leaves it alone.
func TestCompactFileRefusesDamage(t *testing.T) {
	c := buildCorpus(t, 300)
	path, b := c.damage(t, func(b []byte) {
		for _, p := range c.pages.Paths["records"] {
			clear(b[int64(p[len(p)-1])*c.pages.PageSize:][:c.pages.PageSize])
			break
		}
	})
	if _, err := store.CompactFile(path, opts()); !errors.Is(err, store.ErrInconsistent) {
		t.Fatalf("CompactFile(damaged) = %v; want ErrInconsistent", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Errorf("CompactFile changed a damaged file")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("CompactFile left %d files; want the file alone", len(entries))
	}
}
