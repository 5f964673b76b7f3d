package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestStoreCheckAndCompact(t *testing.T) {
	db, path := storetest.Open(t, store.Options{})
	in := time.Unix(1790000000, 0)
	for i := range 50 {
		r, err := db.OpenRecord(store.Record{Plate: "京A" + string(rune('0'+i%10)) + strings.Repeat("1", 4) + string(rune('A'+i/10)), InCode: 1, InTime: in, CarType: 1, PowerType: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 1, OutTime: in.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// While the store is held, both commands refuse.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"store", "compact", "-file", path}, nil, &out, &out); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Errorf("compact of a held store = %v; want a refusal", err)
	}
	db.Close()
	out.Reset()
	if err := run(context.Background(), []string{"store", "check", "-file", path}, nil, &out, &out); err != nil || !strings.Contains(out.String(), "consistent") || !strings.Contains(out.String(), "50 records") {
		t.Fatalf("store check = %v:\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"store", "compact", "-file", path}, nil, &out, &out); err != nil || !strings.Contains(out.String(), "compacted") {
		t.Fatalf("store compact = %v:\n%s", err, out.String())
	}
	if _, err := os.Stat(path + ".precompact"); err != nil {
		t.Errorf("the old file was not kept: %v", err)
	}
	db, _ = storetest.Reopen(t, path, store.Options{})
	if s, _ := db.Summary(); s.Records != 50 {
		t.Errorf("after compaction %d records; want 50", s.Records)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Error(err)
	}
}

// `laned store check` on a damaged file: says what is wrong, exits
// non-zero, and changes nothing (no repair, no file moved aside).
func TestStoreCheckDamagedReadOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"empty", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "empty file"},
		{"zeroed page", func(t *testing.T, path string) {
			db, _, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := time.Unix(1790000000, 0)
			for i := range 300 {
				if _, err := db.OpenRecord(store.Record{Plate: fmt.Sprintf("京A%05d", i), InCode: 1, InTime: in, CarType: 1, PowerType: 1}); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			clear(b[len(b)-4096:]) // the last page: a tree page or a free one
			clear(b[2*4096 : 3*4096])
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "DAMAGED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "laned.db")
			tc.make(t, path)
			before, _ := os.ReadFile(path)
			var out bytes.Buffer
			err := run(context.Background(), []string{"store", "check", "-file", path}, nil, &out, &out)
			if err == nil || exitCode(err) == 0 {
				t.Fatalf("store check of a bad file = %v (exit %d); want a non-zero exit", err, exitCode(err))
			}
			t.Logf("store check: %v\n%s", err, out.String())
			if !strings.Contains(out.String()+err.Error(), tc.want) {
				t.Errorf("store check said %q, %v; want %q", out.String(), err, tc.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Errorf("store check changed the file")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("store check left %d files; want the file alone", len(entries))
			}
		})
	}
}
