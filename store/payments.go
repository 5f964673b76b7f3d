package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

const paymentV = 1

func payKey(recordID, order string) []byte {
	k := make([]byte, 0, len(recordID)+1+len(order))
	k = append(k, recordID...)
	k = append(k, 0)
	return append(k, order...)
}

// AddPayment records a payment of an existing record (open or closed: a
// late notice still counts) with msgs, in one transaction. It is
// idempotent by p.Order: a repeat returns ErrAlreadyRecorded and changes
// nothing, whatever its other fields say. ErrNotFound if the record is
// unknown. A payment of a closed record has AfterExit set.
func (db *DB) AddPayment(p Payment, msgs ...Message) error {
	return db.update("add payment", func(tx *bolt.Tx) error {
		if err := db.addPayment(tx, p); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
}

func (db *DB) addPayment(tx *bolt.Tx, p Payment) error {
	if !validKey(p.Order, 128) {
		return fmt.Errorf("%w: order %q", ErrInvalid, p.Order)
	}
	if p.Amount < 0 {
		return fmt.Errorf("%w: amount %d", ErrInvalid, p.Amount)
	}
	orders := tx.Bucket(bucketOrders)
	if rid := orders.Get([]byte(p.Order)); rid != nil {
		return fmt.Errorf("order %s (record %s): %w", p.Order, rid, ErrAlreadyRecorded)
	}
	rec, err := getRecord(tx, p.RecordID)
	if err != nil {
		return err
	}
	return db.savePayment(tx, p, rec)
}

// savePayment is putPayment of a domain change: logged with a Box.
func (db *DB) savePayment(tx *bolt.Tx, p Payment, rec *Record) error {
	p.V, p.AfterExit = paymentV, !rec.State.Open()
	if err := writePayment(tx, p); err != nil {
		return err
	}
	_, err := db.logRepl(tx, ReplPayment, p.Order, p)
	return err
}

// writePayment writes p as it is, with its order.
func writePayment(tx *bolt.Tx, p Payment) error {
	if err := putJSON(tx.Bucket(bucketPayments), payKey(p.RecordID, p.Order), p); err != nil {
		return err
	}
	if err := tx.Bucket(bucketOrders).Put([]byte(p.Order), []byte(p.RecordID)); err != nil {
		return err
	}
	return bumpNewest(tx, p.PayTime)
}

func eachPayment(tx *bolt.Tx, recordID string, fn func(k []byte, p Payment) error) error {
	prefix := payKey(recordID, "")
	c := tx.Bucket(bucketPayments).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var p Payment
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("decode payment %q: %w", k, err)
		}
		if err := fn(k, p); err != nil {
			return err
		}
	}
	return nil
}

// PaidFor sums the payments of a record and returns the latest pay time
// (zero if none): the base of the reserved exit grace.
func (db *DB) PaidFor(recordID string) (sum int64, last time.Time, err error) {
	err = db.view("paid for", func(tx *bolt.Tx) error {
		return eachPayment(tx, recordID, func(_ []byte, p Payment) error {
			sum += p.Amount
			if p.PayTime.After(last) {
				last = p.PayTime
			}
			return nil
		})
	})
	return sum, last, err
}

// Payments lists the payments of a record, by order.
func (db *DB) Payments(recordID string) ([]Payment, error) {
	var out []Payment
	err := db.view("payments", func(tx *bolt.Tx) error {
		return eachPayment(tx, recordID, func(_ []byte, p Payment) error {
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// PaymentByOrder returns the payment recorded under order.
func (db *DB) PaymentByOrder(order string) (Payment, error) {
	var p Payment
	err := db.view("payment by order", func(tx *bolt.Tx) error {
		rid := tx.Bucket(bucketOrders).Get([]byte(order))
		if rid == nil {
			return fmt.Errorf("order %s: %w", order, ErrNotFound)
		}
		return getJSON(tx.Bucket(bucketPayments), payKey(string(rid), order), &p, "order "+order)
	})
	return p, err
}
