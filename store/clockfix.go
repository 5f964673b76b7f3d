package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ShiftTimes moves every time the controller stamped within [from, to]
// forward by delta, in one transaction: the in and out times of records
// and their charge items, and, through fixMsg, the queued uplinks (whose
// fields the store does not interpret: fixMsg changes a message's Params
// and reports whether it did; nil leaves the outbox alone). It fixes up
// what was stamped while the wall clock was unset (counting on from a
// floor) once the real time is known. Payment times are the platform's and
// stay. It returns how many records and messages changed.
func (db *DB) ShiftTimes(from, to time.Time, delta time.Duration, fixMsg func(*Message) bool) (records, messages int, err error) {
	if delta == 0 || to.Before(from) {
		return 0, 0, nil
	}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && !t.After(to) }
	err = db.update("shift times", func(tx *bolt.Tx) error {
		// Records: collect first, then rewrite (a cursor must not see its
		// own bucket change under it).
		var recs []Record
		if err := tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode record %q: %w", k, err)
			}
			if in(r.InTime) || in(r.OutTime) {
				recs = append(recs, r)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, old := range recs {
			rec := old
			rec.Items = append([]ChargeItem(nil), old.Items...)
			if in(rec.InTime) {
				rec.InTime = rec.InTime.Add(delta)
			}
			if in(rec.OutTime) {
				rec.OutTime = rec.OutTime.Add(delta)
			}
			for i := range rec.Items {
				if in(rec.Items[i].Time) {
					rec.Items[i].Time = rec.Items[i].Time.Add(delta)
				}
			}
			if err := db.saveRecord(tx, &old, &rec); err != nil {
				return err
			}
			records++
		}
		// Queued uplinks.
		var msgs []Message
		if err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			m, err := decodeMsg(v)
			if err != nil {
				return fmt.Errorf("decode message %x: %w", k, err)
			}
			msgs = append(msgs, m)
			return nil
		}); err != nil {
			return err
		}
		for _, m := range msgs {
			changed := fixMsg != nil && fixMsg(&m)
			if !changed {
				continue
			}
			if _, err := delMsg(tx, m.Seq); err != nil {
				return err
			}
			if err := putMsg(tx, &m, 0); err != nil {
				return err
			}
			messages++
		}
		return bumpNewest(tx, to.Add(delta))
	})
	return records, messages, err
}
