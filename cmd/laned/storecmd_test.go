package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/store"
)

func TestStoreCheckAndCompact(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "laned.db")
	db, _, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	db, _, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, _ := db.Summary(); s.Records != 50 {
		t.Errorf("after compaction %d records; want 50", s.Records)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Error(err)
	}
}
