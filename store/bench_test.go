package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/store"
)

func benchDB(b testing.TB, open int) *store.DB {
	b.Helper()
	return benchDBOpt(b, open, opts())
}

func benchDBOpt(b testing.TB, open int, opt store.Options) *store.DB {
	b.Helper()
	db, _, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	for done := 0; done < open; done += 10000 {
		recs := make([]store.Record, 0, 10000)
		for i := done; i < done+10000 && i < open; i++ {
			recs = append(recs, store.Record{Plate: fmt.Sprintf("京A%06d", i), InCode: 1 + i%4, InTime: t0.Add(time.Duration(i) * time.Second)})
		}
		if err := db.OpenMany(recs); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// reportPages reports the pages bbolt wrote per operation (the meta page
// included) since `from` (a TxStats.GetWrite reading): a commit's fsync
// cost grows with them.
func reportPages(b *testing.B, db *store.DB, from int64) {
	b.Helper()
	st := db.Bolt().Stats()
	b.ReportMetric(float64(st.TxStats.GetWrite()-from)/float64(b.N), "pages/op")
}

func pagesNow(db *store.DB) int64 {
	st := db.Bolt().Stats()
	return st.TxStats.GetWrite()
}

// BenchmarkBareCommit is the baseline: one key put in one fsynced bbolt
// transaction, on the same file system.
func BenchmarkBareCommit(b *testing.B) {
	db := benchDB(b, 0)
	bdb := db.Bolt()
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("bare")); return err })
	b.ResetTimer()
	from := pagesNow(db)
	for i := 0; b.Loop(); i++ {
		if err := bdb.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("bare")).Put([]byte(fmt.Sprint(i)), []byte("v"))
		}); err != nil {
			b.Fatal(err)
		}
	}
	reportPages(b, db, from)
}

func BenchmarkOpenRecord(b *testing.B) {
	db := benchDB(b, 10000)
	from := pagesNow(db)
	for i := 0; b.Loop(); i++ {
		id := db.NewRecordID(t0, 1)
		if _, err := db.OpenRecord(store.Record{ID: id, Plate: fmt.Sprintf("沪B%07d", i), InCode: 1, InTime: t0},
			store.Message{Kind: store.KindIndata, RecordID: id, Params: map[string]string{"record_id": id, "vpl_number": "沪B"}}); err != nil {
			b.Fatal(err)
		}
	}
	reportPages(b, db, from)
}

func BenchmarkOpenByPlate(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("open=%d", n), func(b *testing.B) {
			db := benchDB(b, n)
			for i := 0; b.Loop(); i++ {
				if _, err := db.OpenByPlate(fmt.Sprintf("京A%06d", (i*7919)%n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCloseAndEnqueue: the exit's durable commit — close a record
// among 10k open ones and queue its Outdata and AutoPay in one
// transaction. Compare with BenchmarkBareCommit.
func BenchmarkCloseAndEnqueue(b *testing.B) {
	db := benchDB(b, 10000+b.N)
	recs, _ := db.OpenRecords()
	b.ResetTimer()
	from := pagesNow(db)
	for i := 0; b.Loop(); i++ {
		r := recs[i%len(recs)]
		out := t0.Add(time.Hour)
		_, err := db.CloseRecord(r.ID, store.Exit{OutCode: 2, OutTime: out, Fees: store.Fees{Total: 500, Due: 500},
			Items: []store.ChargeItem{{PayType: 99, ShouldPay: 500, ActualPay: 500, Time: out, SeqNum: r.ID}}},
			store.Message{Kind: store.KindAutoPay, RecordID: r.ID, RequestOrder: r.ID + "-1", Params: map[string]string{"amount": "500"}},
			store.Message{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"record_id": r.ID, "charge_items": "[]"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPages(b, db, from)
}

// BenchmarkExitCommit: the commit of edge's exit (lane.release) — close a
// record among 10k open ones with its Outdata (no routine audit event
// since issue 12 item 9), the audit ring full, 10k closed records kept
// for retention.
func BenchmarkExitCommit(b *testing.B) { exitCommit(b, opts()) }

// BenchmarkExitCommitSite is BenchmarkExitCommit in a box of a site: the
// record's and the Outdata's replication entries in the same commit.
func BenchmarkExitCommitSite(b *testing.B) { exitCommit(b, boxOpts("a")) }

func exitCommit(b *testing.B, opt store.Options) {
	db := benchDBOpt(b, 20000+b.N, opt)
	recs, _ := db.OpenRecords()
	out := t0.Add(time.Hour)
	for i := 0; i < 10000; i += 2000 { // closed records: the retention history
		if err := db.CloseMany(recs[i:i+2000], store.Exit{OutCode: 2, OutTime: out}); err != nil {
			b.Fatal(err)
		}
	}
	recs = recs[10000:]
	if err := db.FillAudit(10000); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	from := pagesNow(db)
	for i := 0; b.Loop(); i++ {
		r := recs[i%len(recs)]
		_, err := db.CloseRecord(r.ID, store.Exit{OutCode: 2, OutTime: out, Fees: store.Fees{Total: 500, Paid: 500},
			Items: []store.ChargeItem{{PayType: 99, ShouldPay: 500, ActualPay: 500, Time: out, SeqNum: r.ID}}},
			store.Message{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"record_id": r.ID, "charge_items": "[]"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPages(b, db, from)
}

// BenchmarkPruneWalk: one retention pass over 100k records of which none
// is old enough: the walk Prune does hourly without a retention index.
func BenchmarkPruneWalk(b *testing.B) {
	db := benchDB(b, 100000)
	recs, _ := db.OpenRecords()
	for i := 0; i < 90000; i += 10000 {
		if err := db.CloseMany(recs[i:i+10000], store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if n, err := db.Prune(context.Background(), t0, 200); err != nil || n != 0 {
			b.Fatalf("Prune = %d, %v; want 0", n, err)
		}
	}
}

// BenchmarkApplyRepl: a box applying another box's entries (an entry and
// its Indata, as the other box logged them), one ApplyRepl a pair and
// one ApplyRepl of 100 pairs, with 10k open records: the store's share
// of the replication delay.
func BenchmarkApplyRepl(b *testing.B) {
	for _, batch := range []int{2, 200} {
		b.Run(fmt.Sprintf("entries=%d", batch), func(b *testing.B) {
			src := benchDBOpt(b, 0, boxOpts("b"))
			dst := benchDBOpt(b, 10000, boxOpts("a"))
			var es []store.ReplEntry
			var seq uint64
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				for len(es) < batch {
					id := src.NewRecordID(t0, 2)
					r := store.Record{ID: id, Plate: fmt.Sprintf("沪B%07d", i*batch+len(es)), InCode: 2, InTime: t0}
					if _, err := src.OpenRecord(r, store.Message{Kind: store.KindIndata, RecordID: id}); err != nil {
						b.Fatal(err)
					}
					more, err := src.ReplOwn(seq, 2)
					if err != nil {
						b.Fatal(err)
					}
					seq += uint64(len(more))
					es = append(es, more...)
				}
				b.StartTimer()
				if _, err := dst.ApplyRepl("b", es); err != nil {
					b.Fatal(err)
				}
				es = es[:0]
			}
		})
	}
}
