package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/store"
)

func benchDB(b *testing.B, open int) *store.DB {
	b.Helper()
	db, _, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), opts())
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

// BenchmarkBareCommit is the baseline: one key put in one fsynced bbolt
// transaction, on the same file system.
func BenchmarkBareCommit(b *testing.B) {
	db := benchDB(b, 0)
	bdb := db.Bolt()
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("bare")); return err })
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := bdb.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("bare")).Put([]byte(fmt.Sprint(i)), []byte("v"))
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenRecord(b *testing.B) {
	db := benchDB(b, 10000)
	for i := 0; b.Loop(); i++ {
		id := db.NewRecordID(t0, 1)
		if _, err := db.OpenRecord(store.Record{ID: id, Plate: fmt.Sprintf("沪B%07d", i), InCode: 1, InTime: t0},
			store.Message{Kind: store.KindIndata, RecordID: id, Params: map[string]string{"record_id": id, "vpl_number": "沪B"}}); err != nil {
			b.Fatal(err)
		}
	}
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
}
