package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

const recordV = 1

// MaxRecordID is the longest record_id the store accepts, in bytes.
const MaxRecordID = 32

// NewRecordID hands out a record_id for an entry at t on lane: the UTC
// time as YYYYMMDDhhmmss, the lane as 3 digits, and a 9-digit sequence,
// e.g. "20250301084512001000000042" (26 digits). IDs sort by time, then
// by allocation order. The sequence is kept in memory and persisted by
// OpenRecord, so an ID is never reused for a committed record, across
// restarts too. It does no I/O; use it when the entry's messages must
// carry the record_id before OpenRecord runs.
//
// With Options.Box, the box id follows the time: "20250301084512" + "b1"
// + "001" + "000000042", at most 32 bytes, unique across the site (each
// box has its own sequence).
func (db *DB) NewRecordID(t time.Time, lane int) string {
	seq := db.idSeq.Add(1)
	if lane < 0 {
		lane = 0
	}
	return fmt.Sprintf("%s%s%03d%09d", t.UTC().Format("20060102150405"), db.opt.Box, lane%1000, seq%1_000_000_000)
}

func validKey(s string, max int) bool {
	return s != "" && len(s) <= max && !strings.ContainsRune(s, 0)
}

func checkRecord(r *Record) error {
	switch {
	case !validKey(r.ID, MaxRecordID):
		return fmt.Errorf("%w: record_id %q (1–%d bytes, no NUL)", ErrInvalid, r.ID, MaxRecordID)
	case !validKey(r.Plate, 64):
		return fmt.Errorf("%w: plate %q (1–64 bytes, no NUL)", ErrInvalid, r.Plate)
	case r.InCode < 0 || r.InCode > 0xffff:
		return fmt.Errorf("%w: in_code %d", ErrInvalid, r.InCode)
	case r.State != StateInside && r.State != StateLeaving && r.State != StateClosed:
		return fmt.Errorf("%w: state %d", ErrInvalid, r.State)
	}
	return nil
}

func getRecord(tx *bolt.Tx, id string) (*Record, error) {
	v := tx.Bucket(bucketRecords).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("record %q: %w", id, ErrNotFound)
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode record %q: %w", id, err)
	}
	return &r, nil
}

// getOpenRecord is getRecord of a record still open: ErrRecordClosed
// once it is closed.
func getOpenRecord(tx *bolt.Tx, id string) (*Record, error) {
	r, err := getRecord(tx, id)
	if err != nil {
		return nil, err
	}
	if !r.State.Open() {
		return nil, fmt.Errorf("record %s: %w", id, ErrRecordClosed)
	}
	return r, nil
}

// putRecord writes rec and keeps the plate index and the open counters in
// step with the change from old (nil for a new record). It touches the
// records and open_plate buckets and meta (inline: no page of its own).
func putRecord(tx *bolt.Tx, old, rec *Record) error {
	if err := checkRecord(rec); err != nil {
		return err
	}
	open := tx.Bucket(bucketOpenPlate)
	var dOpen, dVIP int64
	if old != nil && old.State.Open() {
		// Keep the index entry when the record stays open under the same
		// plate: a rewrite of the same key would dirty its page for nothing.
		if !rec.State.Open() || rec.Plate != old.Plate {
			if err := open.Delete(openPlateKey(old.Plate)); err != nil {
				return err
			}
		}
		dOpen--
		if old.AuthType == AuthVIP {
			dVIP--
		}
	}
	if rec.State.Open() {
		key := openPlateKey(rec.Plate)
		if other := open.Get(key); other != nil && string(other) != rec.ID {
			return fmt.Errorf("plate %s (open record %s): %w", rec.Plate, other, ErrAlreadyInside)
		}
		if old == nil || !old.State.Open() || rec.Plate != old.Plate {
			if err := open.Put(key, []byte(rec.ID)); err != nil {
				return err
			}
		}
		dOpen++
		if rec.AuthType == AuthVIP {
			dVIP++
		}
	}
	meta := tx.Bucket(bucketMeta)
	if dOpen != 0 {
		if err := addU64(meta, metaOpenN, dOpen); err != nil {
			return err
		}
	}
	if dVIP != 0 {
		if err := addU64(meta, metaOpenVIP, dVIP); err != nil {
			return err
		}
	}
	rec.V = recordV
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketRecords).Put([]byte(rec.ID), v); err != nil {
		return err
	}
	return bumpNewest(tx, rec.InTime, rec.OutTime)
}

// saveRecord is putRecord of a domain change: with a Box, the record's
// Rev and Writer move on and the whole record is logged (ReplRecord).
func (db *DB) saveRecord(tx *bolt.Tx, old, rec *Record) error {
	if db.logs() {
		rec.Rev, rec.Writer = 1, db.opt.Box
		if old != nil {
			rec.Rev = old.Rev + 1
		}
	}
	if err := putRecord(tx, old, rec); err != nil {
		return err
	}
	_, err := db.logRepl(tx, ReplRecord, rec.ID, rec)
	return err
}

// persistIDSeq records the highest sequence NewRecordID handed out.
func (db *DB) persistIDSeq(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if s := db.idSeq.Load(); s > getU64(meta, metaIDSeq) {
		return putU64(meta, metaIDSeq, s)
	}
	return nil
}

func (db *DB) openRecord(tx *bolt.Tx, rec *Record) error {
	if rec.ID == "" {
		rec.ID = db.NewRecordID(rec.InTime, rec.InCode)
	}
	if rec.State == 0 {
		rec.State = StateInside
	}
	if !rec.State.Open() {
		return fmt.Errorf("%w: a new record must be open, not %s", ErrInvalid, rec.State)
	}
	if tx.Bucket(bucketRecords).Get([]byte(rec.ID)) != nil {
		return fmt.Errorf("record %q: %w", rec.ID, ErrExists)
	}
	if err := db.persistIDSeq(tx); err != nil {
		return err
	}
	return db.saveRecord(tx, nil, rec)
}

// OpenRecord stores a new open record and msgs (typically its Indata) in
// one transaction. An empty rec.ID is allocated with NewRecordID; a zero
// State becomes StateInside. It fails with ErrAlreadyInside if the plate
// has an open record (see ReplaceStale) and ErrExists if the ID is taken.
func (db *DB) OpenRecord(rec Record, msgs ...Message) (Record, error) {
	err := db.update("open record", func(tx *bolt.Tx) error {
		if err := db.openRecord(tx, &rec); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	return rec, err
}

// ReplaceStale closes staleID, the open record of rec.Plate the lane
// found stale (a car that left unseen and entered again), with exit, and
// opens rec, with msgs (e.g. the stale record's Outdata and the new
// Indata), in one transaction. staleID must be the plate's open record.
func (db *DB) ReplaceStale(staleID string, exit Exit, rec Record, msgs ...Message) (Record, error) {
	err := db.update("replace stale record", func(tx *bolt.Tx) error {
		old, err := getOpenRecord(tx, staleID)
		if err != nil {
			return err
		}
		if old.Plate != rec.Plate {
			return fmt.Errorf("%w: stale record %s is plate %s, not %s", ErrInvalid, staleID, old.Plate, rec.Plate)
		}
		if _, err := db.closeRecord(tx, old, exit); err != nil {
			return err
		}
		if err := db.openRecord(tx, &rec); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	return rec, err
}

// RecordByID returns a record of any state.
func (db *DB) RecordByID(id string) (Record, error) {
	var r *Record
	err := db.view("record by id", func(tx *bolt.Tx) (err error) {
		r, err = getRecord(tx, id)
		return err
	})
	if err != nil {
		return Record{}, err
	}
	return *r, nil
}

// OpenByPlate returns the open record of plate (exact match, by index),
// or ErrNotFound.
func (db *DB) OpenByPlate(plate string) (Record, error) {
	var r *Record
	err := db.view("open by plate", func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketOpenPlate).Get(openPlateKey(plate))
		if id == nil {
			return fmt.Errorf("open record of %s: %w", plate, ErrNotFound)
		}
		var err error
		r, err = getRecord(tx, string(id))
		return err
	})
	if err != nil {
		return Record{}, err
	}
	return *r, nil
}

// OpenRecords returns every open record, by plate. It decodes every one:
// for the console and tests, not for a lane (see OpenLookalikes).
func (db *DB) OpenRecords() ([]Record, error) {
	out, err := db.openRecords("open records", func(*Record) bool { return true })
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Plate, b.Plate) })
	return out, err
}

// OpenRecordsByLane returns the open records that entered by inCode, in
// record_id order. It walks every open record (there is no lane index: it
// would cost every entry and exit commit pages of its own), so it is for
// the console, not for a lane's hot path.
func (db *DB) OpenRecordsByLane(inCode int) ([]Record, error) {
	out, err := db.openRecords("open records by lane", func(r *Record) bool { return r.InCode == inCode })
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// openRecords decodes every open record and returns those keep takes.
func (db *DB) openRecords(op string, keep func(*Record) bool) ([]Record, error) {
	var out []Record
	err := db.view(op, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOpenPlate).ForEach(func(_, id []byte) error {
			r, err := getRecord(tx, string(id))
			if err != nil {
				return err
			}
			if keep(r) {
				out = append(out, *r)
			}
			return nil
		})
	})
	return out, err
}

// UpdateRecord applies fn to an open record and stores the result with
// msgs in one transaction. fn may change anything but the ID, including
// the plate (a corrected reading) and the state; a closed record is
// read-only (ErrRecordClosed). An error from fn aborts the whole change.
func (db *DB) UpdateRecord(id string, fn func(*Record) error, msgs ...Message) (Record, error) {
	var rec Record
	err := db.update("update record", func(tx *bolt.Tx) error {
		old, err := getOpenRecord(tx, id)
		if err != nil {
			return err
		}
		rec = *old
		rec.Items = append([]ChargeItem(nil), old.Items...)
		if err := fn(&rec); err != nil {
			return err
		}
		if rec.ID != id {
			return fmt.Errorf("%w: the record_id cannot change", ErrInvalid)
		}
		if err := db.saveRecord(tx, old, &rec); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	return rec, err
}

// MarkLeaving notes that the record's vehicle stands at exit outCode at
// `at` (the fee is being settled); the record stays open.
func (db *DB) MarkLeaving(id string, outCode int, at time.Time, msgs ...Message) (Record, error) {
	return db.UpdateRecord(id, func(r *Record) error {
		r.State, r.OutCode, r.OutTime = StateLeaving, outCode, at
		return nil
	}, msgs...)
}

// closeRecord closes old with exit and returns the record as stored.
func (db *DB) closeRecord(tx *bolt.Tx, old *Record, exit Exit) (*Record, error) {
	if !old.State.Open() {
		return nil, fmt.Errorf("record %s: %w", old.ID, ErrRecordClosed)
	}
	rec := *old
	rec.State = StateClosed
	rec.OutCode, rec.OutTime, rec.Fees, rec.Items = exit.OutCode, exit.OutTime, exit.Fees, exit.Items
	rec.AwaitOrder = exit.AwaitOrder
	if exit.Note != "" {
		rec.Note = exit.Note
	}
	if len(exit.Collected) > 0 {
		if err := db.collectArrears(tx, rec.ID, exit.Collected); err != nil {
			return nil, err
		}
		rec.Collected = exit.Collected
	}
	return &rec, db.saveRecord(tx, old, &rec)
}

// CloseRecord closes a record with its exit data and enqueues msgs (Outdata,
// AutoPay…) in the same transaction: either the exit and its uplinks are
// all on disk, or none is. ErrRecordClosed if it was closed already.
func (db *DB) CloseRecord(id string, exit Exit, msgs ...Message) (Record, error) {
	return db.settle("close record", id, nil, func(Record, []Payment) (Exit, []Message, error) { return exit, msgs, nil })
}

// ImportOpen stores many new open records in one transaction, all or
// none: for importing the vehicles inside when a lane controller replaces
// an older system, and for benchmarks. Each record follows OpenRecord's
// rules (IDs allocated when empty, ErrAlreadyInside, ErrExists).
func (db *DB) ImportOpen(recs []Record) error {
	return db.update("import open records", func(tx *bolt.Tx) error {
		for i := range recs {
			if err := db.openRecord(tx, &recs[i]); err != nil {
				return fmt.Errorf("record %d (%s): %w", i, recs[i].Plate, err)
			}
		}
		return nil
	})
}

// Records lists records of any state, newest entry first: all of them, or
// those of one plate, at most limit (≤ 0: 50). It scans the records bucket
// backwards (IDs sort by entry time), so it is for the console, not for a
// lane's hot path.
func (db *DB) Records(plate string, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = 50
	}
	var out []Record
	err := db.view("records", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode record %q: %w", k, err)
			}
			if plate == "" || r.Plate == plate {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}
