// Package storetest helps tests that use a real store file: it opens one
// in t.TempDir() and, when the test ends, closes it, reopens it and checks
// its consistency, so every test ends with a checked file.
package storetest

import (
	"path/filepath"
	"testing"

	"laned/store"
)

// Open opens a fresh store file in t.TempDir(). At cleanup the DB is
// closed and the file is reopened and checked with Check.
func Open(t testing.TB, opt store.Options) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "laned.db")
	db, rep, err := store.Open(path, opt)
	if err != nil {
		t.Fatalf("store.Open(%s) = %v", path, err)
	}
	if !rep.Created {
		t.Fatalf("store.Open(%s) report = %+v; want Created", path, rep)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		Check(t, path, opt)
	})
	return db, path
}

// Reopen opens the existing store file at path with opt and returns it
// with Open's report. At cleanup the DB is closed (again, if the test
// closed it) and the file is checked with Check.
func Reopen(t testing.TB, path string, opt store.Options) (*store.DB, store.OpenReport) {
	t.Helper()
	db, rep, err := store.Open(path, opt)
	if err != nil {
		t.Fatalf("store.Open(%s) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		Check(t, path, opt)
	})
	return db, rep
}

// Check opens the store file at path (which must be closed), runs
// CheckConsistency and closes it again, failing t on any error.
func Check(t testing.TB, path string, opt store.Options) {
	t.Helper()
	db, rep, err := store.Open(path, opt)
	if err != nil {
		t.Errorf("reopen %s: %v", path, err)
		return
	}
	defer db.Close()
	if rep.MovedAside != "" {
		t.Errorf("reopen %s moved it aside: %s", path, rep.Reason)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Errorf("CheckConsistency(%s) = %v", path, err)
	}
}
