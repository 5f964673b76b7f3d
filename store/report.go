package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// OpenReadOnly opens an existing store file for reading only (reports,
// inspection): nothing is migrated, repaired or written, and a file held
// by a running laned gives ErrLocked after opt.LockTimeout. A file of
// another schema is refused: read it with the laned that wrote it.
func OpenReadOnly(path string, opt Options) (*DB, error) {
	opt = opt.withDefaults()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opt.LockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store: open %s read-only: %w", path, ErrLocked)
	case err != nil:
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	db := &DB{bolt: bdb, opt: opt, log: opt.Logger, path: path}
	err = bdb.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: no laned store (no meta bucket)", ErrInvalid)
		}
		if s := getU64(meta, metaSchema); s != currentSchema {
			return fmt.Errorf("%w: file schema %d, this build reads %d", ErrInvalid, s, currentSchema)
		}
		db.idSeq.Store(getU64(meta, metaIDSeq))
		db.newest.Store(int64(getU64(meta, metaNewest)))
		return nil
	})
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	return db, nil
}

// ReportData is what the store holds about a period [From, To): the
// raw material of a reconciliation report, read in one transaction.
type ReportData struct {
	From, To time.Time
	// Entered: records whose entry is in the period (any state).
	Entered []Record
	// Exited: closed records whose exit is in the period, with their
	// payments (all of them, whenever paid).
	Exited   []Record
	Payments map[string][]Payment // by record_id, for Exited
	// Paid: every payment whose pay time is in the period.
	Paid []Payment
	// Dead: messages dead-lettered in the period (of those kept).
	Dead []Message
	// PaidPlates: the record's plate of each payment in Paid, by record_id.
	PaidPlates map[string]string
	// Open: records open at the end of the read.
	Open int
	// Outstanding: closed records (of any day) that still owe (Fees.Due >
	// 0), and the sum: what plates carry as arrears.
	OutstandingN int
	Outstanding  int64
	// Matched: no-entry records (see noentry.go) matched to their entry
	// in the period: the overcharges to refund are among them.
	Matched []Record
}

// Report reads the period [from, to) for a report. It walks every record
// and payment: for a daily report or the console, not for a lane's path.
func (db *DB) Report(from, to time.Time) (ReportData, error) {
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	d := ReportData{From: from, To: to, Payments: map[string][]Payment{}, PaidPlates: map[string]string{}}
	err := db.view("report", func(tx *bolt.Tx) error {
		exited := map[string]bool{}
		if err := tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode record %q: %w", k, err)
			}
			if in(r.InTime) {
				d.Entered = append(d.Entered, r)
			}
			if r.State == StateClosed && in(r.OutTime) {
				d.Exited = append(d.Exited, r)
				exited[r.ID] = true
			}
			if r.State.Open() {
				d.Open++
			}
			if r.NoEntry != nil && r.NoEntry.Matched != "" && in(r.NoEntry.MatchedAt) {
				d.Matched = append(d.Matched, r)
			}
			if r.State == StateClosed && r.Fees.Due > 0 {
				d.OutstandingN++
				d.Outstanding += r.Fees.Due
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPayments).ForEach(func(k, v []byte) error {
			var p Payment
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode payment %q: %w", k, err)
			}
			if exited[p.RecordID] {
				d.Payments[p.RecordID] = append(d.Payments[p.RecordID], p)
			}
			if in(p.PayTime) {
				d.Paid = append(d.Paid, p)
				if r, err := getRecord(tx, p.RecordID); err == nil {
					d.PaidPlates[p.RecordID] = r.Plate
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
			m, err := decodeDead(v)
			if err != nil {
				return err
			}
			if in(m.DeadAt) {
				d.Dead = append(d.Dead, m)
			}
			return nil
		})
	})
	return d, err
}
