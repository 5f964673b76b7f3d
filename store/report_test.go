package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestReportData(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	day := t0.Truncate(24 * time.Hour)
	a, _ := db.OpenRecord(car("京A1", 1, day.Add(time.Hour)))
	b, _ := db.OpenRecord(car("京B2", 1, day.Add(-30*time.Hour))) // entered the day before
	c, _ := db.OpenRecord(car("京C3", 1, day.Add(2*time.Hour)))   // still inside
	for _, p := range []store.Payment{
		{Order: "pa", RecordID: a.ID, Amount: 500, PayTime: day.Add(2 * time.Hour)},
		{Order: "pb", RecordID: b.ID, Amount: 700, PayTime: day.Add(-2 * time.Hour)}, // paid the day before
	} {
		if err := db.AddPayment(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []store.Record{a, b} {
		if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 1, OutTime: day.Add(3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.Report(day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entered) != 2 || len(d.Exited) != 2 || d.Open != 1 || len(d.Paid) != 1 || d.Paid[0].Order != "pa" {
		t.Errorf("Report = entered %d exited %d open %d paid %+v; want 2, 2, 1, [pa]", len(d.Entered), len(d.Exited), d.Open, d.Paid)
	}
	if len(d.Payments[b.ID]) != 1 || d.Payments[b.ID][0].Amount != 700 {
		t.Errorf("payments of an exited record = %+v; want its 700 paid the day before", d.Payments[b.ID])
	}
	_ = c
}

func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "laned.db")
	db, _, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	// Held by a running laned: ErrLocked.
	if _, err := store.OpenReadOnly(path, store.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("OpenReadOnly while held = %v; want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := store.OpenReadOnly(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.RecordByID(r.ID); err != nil || got.Plate != "京A1" {
		t.Errorf("RecordByID read-only = %+v, %v", got, err)
	}
	if _, err := ro.OpenRecord(car("京B2", 1, t0)); err == nil {
		t.Error("a read-only store accepted a write")
	}
	if _, err := store.OpenReadOnly(filepath.Join(dir, "none.db"), store.Options{}); err == nil {
		t.Error("OpenReadOnly of a missing file succeeded")
	}
}
