package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// An AutoPay answered while a lane waits for it: the lane's one closing
// transaction records the payment, takes the AutoPay off the outbox and
// closes the record, so that the outcome is durable in the commit the
// barrier waits on, and in no commit before it.

// AutoPaid is the outcome of an answered AutoPay: its payment, if it is to
// be recorded (nil: a pay notice recorded it already), and the seq of its
// message in the outbox.
type AutoPaid struct {
	Payment *Payment
	Seq     uint64
}

// recordAutoPaid writes a's payment once (as AddAutoPayment) and deletes
// its message (gone already: nothing to delete).
func (db *DB) recordAutoPaid(tx *bolt.Tx, a AutoPaid) error {
	if p := a.Payment; p != nil {
		if p.RequestOrder == "" {
			return fmt.Errorf("autopay payment: %w: no request_order", ErrInvalid)
		}
		done, err := db.noteAutoPayment(tx, *p)
		switch {
		case done: // recorded before; the note on it commits
		case err != nil:
			return err
		default:
			if err := db.addPayment(tx, *p); err != nil {
				return err
			}
		}
	}
	if err := db.ackMsg(tx, a.Seq); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// SettleAutoPaid is Settle with the AutoPay's outcome a in the same
// transaction: its payment recorded first (once: fn sees it among the
// payments) and its message deleted. An error of fn or the store changes
// nothing: the AutoPay is still queued.
func (db *DB) SettleAutoPaid(id string, a AutoPaid, fn SettleFunc) (Record, error) {
	return db.settle("settle autopaid", id, func(tx *bolt.Tx) error { return db.recordAutoPaid(tx, a) }, fn)
}

// RecordAutoPaid records the AutoPay's outcome a alone, in one
// transaction: its payment (once) and its message deleted. A failure
// changes nothing: the AutoPay is still queued.
func (db *DB) RecordAutoPaid(a AutoPaid) error {
	return db.update("record autopaid", func(tx *bolt.Tx) error { return db.recordAutoPaid(tx, a) })
}
