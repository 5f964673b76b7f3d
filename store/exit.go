package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SettleFunc decides the exit of rec from what the store holds in the
// closing transaction: the record and every payment of it. It returns
// how the record is closed and the messages (Outdata, audit events…) to
// enqueue with it. It runs inside a write transaction: it must not call
// the DB (a nested transaction deadlocks), and it may run at most once per
// Settle. An error aborts the whole exit and is returned by Settle.
type SettleFunc func(rec Record, pays []Payment) (Exit, []Message, error)

// Settle closes an open record as one decision: the record and its
// payments are read, fn prices them, and the record is closed with fn's
// messages, all in one write transaction. A payment recorded concurrently
// (AddPayments) is therefore either seen by fn — in the fee and the
// Outdata — or recorded after the close with Payment.AfterExit set: never
// lost from both. ErrRecordClosed if the record was closed already.
func (db *DB) Settle(id string, fn SettleFunc) (Record, error) {
	return db.settle("settle", id, nil, fn)
}

// settle is Settle; before, if set, runs first in the same transaction
// (on the open record), and an error of it aborts the whole exit.
func (db *DB) settle(op, id string, before func(tx *bolt.Tx) error, fn SettleFunc) (Record, error) {
	var rec *Record
	err := db.update(op, func(tx *bolt.Tx) error {
		old, err := getOpenRecord(tx, id)
		if err != nil {
			return err
		}
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		var pays []Payment
		if err := eachPayment(tx, id, func(_ []byte, p Payment) error {
			pays = append(pays, p)
			return nil
		}); err != nil {
			return err
		}
		cp := *old
		cp.Items = append([]ChargeItem(nil), old.Items...)
		exit, msgs, err := fn(cp, pays)
		if err != nil {
			return err
		}
		if rec, err = db.closeRecord(tx, old, exit); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	if err != nil {
		return Record{}, err
	}
	return *rec, nil
}

// MaxNoticeItems bounds the items of one pay notice AddPayments takes.
const MaxNoticeItems = 50

// MaxAmount bounds one payment's amount and a notice's total, in fen
// (10 million yuan): far above any parking fee, far below an overflow.
const MaxAmount = 1_000_000_000

// ErrOverflow: a payment's amount or a notice's total is beyond MaxAmount.
// Nothing changed.
var ErrOverflow = errors.New("amount beyond the money bounds")

// AddPayments records the items of one pay notice of an existing record
// (open or closed) with msgs, in one transaction, all or none: items
// whose order was recorded before are skipped (idempotent by order), the
// others are written. It returns the payments written (AfterExit set when
// the record was closed at that instant) and the record as it was. More
// than MaxNoticeItems items, an amount or a total beyond MaxAmount
// (ErrOverflow), an invalid item or an unknown record (ErrNotFound)
// change nothing. With nothing fresh, msgs are not enqueued.
func (db *DB) AddPayments(ps []Payment, msgs ...Message) (fresh []Payment, rec Record, err error) {
	if len(ps) == 0 || len(ps) > MaxNoticeItems {
		return nil, Record{}, fmt.Errorf("store: add payments: %w: %d items (1–%d)", ErrInvalid, len(ps), MaxNoticeItems)
	}
	var total int64
	for _, p := range ps {
		if p.Amount < 0 || p.Amount > MaxAmount {
			return nil, Record{}, fmt.Errorf("store: add payments: order %s: amount %d: %w", p.Order, p.Amount, ErrOverflow)
		}
		if total += p.Amount; total > MaxAmount {
			return nil, Record{}, fmt.Errorf("store: add payments: total beyond %d fen: %w", int64(MaxAmount), ErrOverflow)
		}
		if p.RecordID != ps[0].RecordID {
			return nil, Record{}, fmt.Errorf("store: add payments: %w: one notice, one record", ErrInvalid)
		}
	}
	err = db.update("add payments", func(tx *bolt.Tx) error {
		fresh = fresh[:0]
		r, err := getRecord(tx, ps[0].RecordID)
		if err != nil {
			return err
		}
		rec = *r
		orders := tx.Bucket(bucketOrders)
		seen := map[string]bool{}
		for _, p := range ps {
			if !validKey(p.Order, 128) {
				return fmt.Errorf("%w: order %q", ErrInvalid, p.Order)
			}
			if orders.Get([]byte(p.Order)) != nil || seen[p.Order] {
				continue
			}
			seen[p.Order] = true
			if err := db.savePayment(tx, p, r); err != nil {
				return err
			}
			p.V, p.AfterExit = paymentV, !r.State.Open()
			fresh = append(fresh, p)
		}
		if len(fresh) == 0 {
			return nil
		}
		return db.enqueue(tx, msgs)
	})
	if err != nil {
		return nil, Record{}, err
	}
	return fresh, rec, nil
}
