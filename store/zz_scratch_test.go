package store_test

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/store"
)

func TestScratchPages(t *testing.T) {
	db := benchDB(t, 20000)
	recs, _ := db.OpenRecords()
	out := t0.Add(time.Hour)
	db.CloseMany(recs[:10000], store.Exit{OutCode: 2, OutTime: out})
	recs = recs[10000:]
	db.Bolt().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			s := b.Stats()
			t.Logf("%-14s depth %d branch %d leaf %d keys %d inline %d", name, s.Depth, s.BranchPageN, s.LeafPageN, s.KeyN, s.InlineBucketN)
			return nil
		})
	})
	step := func(name string, fn func()) {
		p := pagesNow(db)
		fn()
		t.Logf("%s: %d pages", name, pagesNow(db)-p)
	}
	for i := 0; i < 3; i++ {
		r := recs[i]
		step("close only", func() { db.CloseRecord(r.ID, store.Exit{OutCode: 2, OutTime: out}) })
	}
	for i := 3; i < 6; i++ {
		r := recs[i]
		step("close+outdata", func() {
			db.CloseRecord(r.ID, store.Exit{OutCode: 2, OutTime: out}, store.Message{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"record_id": r.ID}})
		})
	}
	for i := 6; i < 9; i++ {
		r := recs[i]
		step("enqueue outdata", func() {
			db.Enqueue(store.Message{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"record_id": r.ID}})
		})
	}
	ms, _ := db.Messages(0, 10)
	for _, m := range ms[:3] {
		step("ack", func() { db.Ack(m.Seq) })
	}
	for i := 9; i < 12; i++ {
		r := recs[i]
		step("markleaving", func() { db.MarkLeaving(r.ID, 2, out) })
	}
}
