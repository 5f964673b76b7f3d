package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"laned/store"
)

// FuzzOpenDamaged: whatever bytes the store file holds, Open returns a
// usable store (the file as it is, salvaged, or set aside and fresh) and
// never crashes, and CheckFile never crashes either.
func FuzzOpenDamaged(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	db, _, err := store.Open(path, opts())
	if err != nil {
		f.Fatal(err)
	}
	for i := range 40 {
		r := car("京A"+string(rune('A'+i%26))+string(rune('0'+i/26)), 1, t0)
		if _, err := db.OpenRecord(r, indata("")); err != nil {
			f.Fatal(err)
		}
	}
	db.Close()
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	for _, off := range []int{8192, 8192 + 16, 3*4096 + 100, len(valid) - 200} {
		if off < len(valid) {
			b := append([]byte(nil), valid...)
			b[off] ^= 0x5a
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "laned.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CheckFile(path, opts()); err != nil {
			t.Fatalf("CheckFile = %v", err)
		}
		db, _, err := store.Open(path, opts())
		if err != nil {
			t.Fatalf("Open = %v", err)
		}
		if _, err := db.OpenRecord(car("京Z99999", 1, t0)); err != nil {
			t.Logf("OpenRecord = %v", err) // ErrCorrupt is allowed: never a crash
		}
		db.Close()
	})
}
