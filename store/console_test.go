package store_test

import (
	"errors"
	"testing"

	"laned/store"
	"laned/store/storetest"
)

// TestConsoleLockoutSurvivesReopen: the lock-out is kept across a close
// and reopen of the file (a restart).
func TestConsoleLockoutSurvivesReopen(t *testing.T) {
	db, path := storetest.Open(t, opts())
	if c, err := db.ConsoleLockout(); err != nil || c != (store.ConsoleLockout{}) {
		t.Fatalf("ConsoleLockout() of a new store = %+v, %v; want zero", c, err)
	}
	want := store.ConsoleLockout{Failures: 2, Locks: 1, LockedAt: 1700000000, Until: 1700000300, Seconds: 300}
	if err := db.PutConsoleLockout(want); err != nil {
		t.Fatal(err)
	}
	if err := db.PutConsoleLockout(store.ConsoleLockout{Failures: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PutConsoleLockout(negative) = %v; want ErrInvalid", err)
	}
	db.Close()
	db2, _ := storetest.Reopen(t, path, opts())
	if got, err := db2.ConsoleLockout(); err != nil || got != want {
		t.Errorf("after reopen ConsoleLockout() = %+v, %v; want %+v", got, err, want)
	}
}
