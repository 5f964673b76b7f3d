//go:build unix

package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"laned/store"
)

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fill100k writes n records (half closed) and an Indata per record
// through the store's API, in batches, and closes the file.
func fill100k(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "laned.db")
	db, _, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 10000
	for i := 0; i < n; i += batch {
		recs := make([]store.Record, min(batch, n-i))
		msgs := make([]store.Message, len(recs))
		for j := range recs {
			recs[j] = car(fmt.Sprintf("京A%06d", i+j), 1+j%4, t0.Add(time.Duration(i+j)*time.Second))
		}
		if err := db.OpenMany(recs); err != nil {
			b.Fatal(err)
		}
		for j := range recs {
			msgs[j] = indata(recs[j].ID)
		}
		if _, err := db.Enqueue(msgs...); err != nil {
			b.Fatal(err)
		}
		if err := db.CloseMany(recs[:len(recs)/2], store.Exit{OutCode: 9, OutTime: t0.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkCheck100k: the page check Open runs (CheckPages), and the
// whole of `laned store check` (CheckFile: pages, bbolt's Tx.Check, the
// store's invariants), on a file of 100k records and 100k queued Indata.
func BenchmarkCheck100k(b *testing.B) {
	path := fill100k(b, 100_000)
	b.Run("pages (at open)", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			fc, err := store.CheckPages(path)
			if err != nil || len(fc.Problems) > 0 {
				b.Fatalf("CheckPages = %+v, %v", fc, err)
			}
			b.ReportMetric(float64(fc.Pages), "pages")
		}
		// CPU time says what the check costs on a machine that is not
		// shared; the wall time above depends on the load.
		b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	})
	b.Run("store check", func(b *testing.B) {
		for b.Loop() {
			fc, err := store.CheckFile(path, store.Options{})
			if err != nil || len(fc.Problems) > 0 {
				b.Fatalf("CheckFile = %+v, %v", fc, err)
			}
		}
	})
	b.Run("salvage", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			p := filepath.Join(b.TempDir(), "laned.db")
			data, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			// The marker a caught panic leaves asks Open to salvage.
			if err := os.WriteFile(p, data, 0o600); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p+".salvage-needed", nil, 0o600); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			db, rep, err := store.Open(p, store.Options{})
			if err != nil || rep.Salvage == nil || rep.Salvage.Kept[store.KindRecords] != 100_000 {
				b.Fatalf("salvage = %+v, %v", rep, err)
			}
			db.Close()
		}
	})
}
