package store

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// No-entry exits. In a site of several boxes, a lane may see a vehicle
// leave whose entry (another box's record) has not reached it: a
// partition. The lane decides alone and records the exit as a record of
// its own marked NoEntry, whose in_time is the exit time. While it waits
// for its entry nothing of it is sent to the platform. When the entry
// arrives the exit is matched to it (MatchNoEntry: the real record is
// closed with the exit's data, in the same transaction as the mark); past
// the hold limit it is settled alone (SettleNoEntry: its own Indata and
// Outdata, or a contactless AutoPay of the no-entry fee).
//
// The pending no-entry records are indexed by plate in bucketNoEntry,
// created with the first one (a file of a box outside a site never has
// it; its absence means none is pending), rebuilt by a salvage from the
// records.

// bucketNoEntry: plate + 0x00 + record_id → nothing: the no-entry records
// neither matched nor settled yet.
var bucketNoEntry = []byte("no_entry")

// ErrNotPending: the record is not a no-entry record waiting for its entry
// (matched or settled before: a repeat changes nothing and queues nothing).
var ErrNotPending = errors.New("not a pending no-entry record")

// NoEntry is what a no-entry record adds to a record.
type NoEntry struct {
	// Held: the plate has a contactless binding and its AutoPay is held
	// until the entry arrives (or the hold limit).
	Held bool `json:"held,omitempty"`
	// Matched is the real record this exit was matched to, at MatchedAt.
	Matched   string    `json:"matched,omitempty"`
	MatchedAt time.Time `json:"matched_at,omitzero"`
	// Settled: settled alone at the hold limit, then.
	Settled time.Time `json:"settled,omitzero"`
	// At the match: what the exit had paid, what the real stay cost
	// (its tariff's total) and Paid − Due when positive: an overcharge
	// to refund by hand.
	Paid       int64 `json:"paid,omitempty"`
	Due        int64 `json:"due,omitempty"`
	Overcharge int64 `json:"overcharge,omitempty"`
}

// Pending reports whether the no-entry record still waits for its entry.
func (n *NoEntry) Pending() bool { return n != nil && n.Matched == "" && n.Settled.IsZero() }

func noEntryKey(plate, id string) []byte { return payKey(plate, id) }

// AddNoEntry stores rec, a new no-entry record (rec.NoEntry set, pending),
// open (its vehicle at the exit, its fee being settled) or closed, with
// msgs, in one transaction. An empty rec.ID is allocated with NewRecordID.
// An open one is in the plate index like any open record
// (ErrAlreadyInside if the plate has one).
func (db *DB) AddNoEntry(rec Record, msgs ...Message) (Record, error) {
	if !rec.NoEntry.Pending() {
		return Record{}, fmt.Errorf("store: add no-entry: %w: no pending NoEntry mark", ErrInvalid)
	}
	err := db.update("add no-entry", func(tx *bolt.Tx) error {
		if rec.ID == "" {
			rec.ID = db.NewRecordID(rec.InTime, rec.InCode)
		}
		if tx.Bucket(bucketRecords).Get([]byte(rec.ID)) != nil {
			return fmt.Errorf("record %q: %w", rec.ID, ErrExists)
		}
		if err := db.persistIDSeq(tx); err != nil {
			return err
		}
		if err := db.saveRecord(tx, nil, &rec); err != nil {
			return err
		}
		if err := indexNoEntry(tx, &rec); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	return rec, err
}

// indexNoEntry puts r in the pending no-entry index if it is pending.
func indexNoEntry(tx *bolt.Tx, r *Record) error {
	if !r.NoEntry.Pending() {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketNoEntry)
	if err != nil {
		return err
	}
	return b.Put(noEntryKey(r.Plate, r.ID), nil)
}

// PendingNoEntries lists the no-entry records waiting for their entry, of
// plate (all plates when empty), by plate then record_id.
func (db *DB) PendingNoEntries(plate string) ([]Record, error) {
	var out []Record
	err := db.view("pending no-entries", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNoEntry)
		if b == nil {
			return nil
		}
		var prefix []byte
		if plate != "" {
			prefix = noEntryKey(plate, "")
		}
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				return fmt.Errorf("no-entry index key %q: %w", k, ErrInvalid)
			}
			r, err := getRecord(tx, string(k[i+1:]))
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return nil
	})
	return out, err
}

// pendingNoEntry reads id, which must be a closed pending no-entry record.
func pendingNoEntry(tx *bolt.Tx, id string) (*Record, error) {
	r, err := getRecord(tx, id)
	if err != nil {
		return nil, err
	}
	if !r.NoEntry.Pending() || r.State != StateClosed {
		return nil, fmt.Errorf("record %s: %w", id, ErrNotPending)
	}
	return r, nil
}

// endNoEntry writes the no-entry record ne with its new mark and takes it
// out of the pending index.
func (db *DB) endNoEntry(tx *bolt.Tx, old *Record, ne Record) error {
	if err := db.saveRecord(tx, old, &ne); err != nil {
		return err
	}
	if b := tx.Bucket(bucketNoEntry); b != nil {
		return b.Delete(noEntryKey(old.Plate, old.ID))
	}
	return nil
}

// MatchFunc decides how the real record of a no-entry exit is closed, from
// the real record, the no-entry record and the payments of each. It
// returns the real record's exit, the no-entry record's mark after the
// match (Matched and MatchedAt are set by the store) and the messages to
// enqueue. Like SettleFunc it runs inside the write transaction and must
// not call the DB.
type MatchFunc func(real, ne Record, pays, nePays []Payment) (Exit, NoEntry, []Message, error)

// MatchNoEntry closes realID, the open record of the entry of the closed
// pending no-entry record neID (same plate), as fn decides, and marks the
// no-entry record matched to it, in one transaction. ErrNotPending when
// neID is matched or settled already (nothing changes, nothing is queued:
// a repeat is harmless), ErrRecordClosed when realID is closed.
func (db *DB) MatchNoEntry(neID, realID string, at time.Time, fn MatchFunc) (Record, error) {
	var out *Record
	err := db.update("match no-entry", func(tx *bolt.Tx) error {
		ne, err := pendingNoEntry(tx, neID)
		if err != nil {
			return err
		}
		real, err := getOpenRecord(tx, realID)
		if err != nil {
			return err
		}
		if real.Plate != ne.Plate || real.NoEntry != nil {
			return fmt.Errorf("%w: record %s (%s) cannot be the entry of no-entry record %s (%s)", ErrInvalid, realID, real.Plate, neID, ne.Plate)
		}
		var pays, nePays []Payment
		for _, x := range []struct {
			id string
			to *[]Payment
		}{{realID, &pays}, {neID, &nePays}} {
			if err := eachPayment(tx, x.id, func(_ []byte, p Payment) error {
				*x.to = append(*x.to, p)
				return nil
			}); err != nil {
				return err
			}
		}
		cp := *real
		cp.Items = append([]ChargeItem(nil), real.Items...)
		exit, mark, msgs, err := fn(cp, *ne, pays, nePays)
		if err != nil {
			return err
		}
		if out, err = db.closeRecord(tx, real, exit); err != nil {
			return err
		}
		mark.Matched, mark.MatchedAt = realID, at
		upd := *ne
		upd.NoEntry = &mark
		if err := db.endNoEntry(tx, ne, upd); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	if err != nil {
		return Record{}, err
	}
	return *out, nil
}

// SettleNoEntry ends the wait of the closed pending no-entry record id
// alone (its entry never came): fn changes the record (its fees, the
// AutoPay it awaits) and returns the messages to enqueue with it (its
// Indata, its Outdata or AutoPay), all in one transaction. The record is
// marked settled at `at`. ErrNotPending as MatchNoEntry.
func (db *DB) SettleNoEntry(id string, at time.Time, fn func(r *Record) ([]Message, error)) (Record, error) {
	var out Record
	err := db.update("settle no-entry", func(tx *bolt.Tx) error {
		ne, err := pendingNoEntry(tx, id)
		if err != nil {
			return err
		}
		upd := *ne
		upd.Items = append([]ChargeItem(nil), ne.Items...)
		mark := *ne.NoEntry
		upd.NoEntry = &mark
		msgs, err := fn(&upd)
		if err != nil {
			return err
		}
		if upd.ID != id || upd.State != StateClosed {
			return fmt.Errorf("%w: settling a no-entry record changes neither its id nor its state", ErrInvalid)
		}
		mark = *upd.NoEntry
		mark.Settled = at
		upd.NoEntry = &mark
		if err := db.endNoEntry(tx, ne, upd); err != nil {
			return err
		}
		out = upd
		return db.enqueue(tx, msgs)
	})
	return out, err
}
