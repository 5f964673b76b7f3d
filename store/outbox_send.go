package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The dispatcher's side of the outbox: what is due and free to go, and
// what came of a send (Ack, Retry, MarkUnresolved, Resolve).

// Due returns up to limit messages, in sequence order, whose due time has
// come and that are free to go: an undroppable message of a record only
// when it is the oldest queued undroppable message of that record; a
// droppable one of a record only when no older undroppable message of
// its record is queued.
func (db *DB) Due(now time.Time, limit int) ([]Message, error) {
	return db.due(now, limit, nil)
}

// due is Due, leaving out a message hold keeps back past now (hold nil:
// none is; see DueInSite).
func (db *DB) due(now time.Time, limit int, hold HoldFunc) ([]Message, error) {
	var out []Message
	err := db.view("due messages", func(tx *bolt.Tx) error {
		free := freeToGo(tx)
		nowNs := unixNano(now)
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			if len(v) < 8 || int64(binary.BigEndian.Uint64(v)) > nowNs {
				continue
			}
			m, err := decodeMsg(v)
			if err != nil {
				return fmt.Errorf("decode message %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if !free(&m) {
				continue
			}
			if hold != nil && unixNano(heldUntil(tx, &m, hold)) > nowNs {
				continue
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// freeToGo reports, within tx, whether a queued message may be sent once
// due: not held behind an older undroppable message of its record.
func freeToGo(tx *bolt.Tx) func(m *Message) bool {
	heads := map[string]uint64{} // record → seq of its oldest ordered message (0 = none)
	head := func(rec string) uint64 {
		if s, ok := heads[rec]; ok {
			return s
		}
		prefix := recKey(rec, 0)[:len(rec)+1]
		var s uint64
		if k, _ := tx.Bucket(bucketOutRecord).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			s = binary.BigEndian.Uint64(k[len(prefix):])
		}
		heads[rec] = s
		return s
	}
	return func(m *Message) bool {
		if m.RecordID == "" {
			return true
		}
		h := head(m.RecordID)
		if ordered(m) {
			return h == m.Seq
		}
		return h == 0 || h > m.Seq
	}
}

// NextDue returns the earliest due time among the queued messages that are
// free to go (ok=false when the outbox is empty), so a dispatcher can sleep
// until then. A message held behind its record's older one does not count:
// its own due time may be long past while the one it waits for is not due
// yet, and a sleep computed from it would be negative. It is free once the
// older one is delivered, which the dispatcher sees.
func (db *DB) NextDue() (t time.Time, ok bool, err error) {
	return db.nextDue(nil)
}

// nextDue is NextDue, a message hold keeps back counting as due when it is
// released (hold nil: none is; see NextDueInSite).
func (db *DB) nextDue(hold HoldFunc) (t time.Time, ok bool, err error) {
	err = db.view("next due", func(tx *bolt.Tx) error {
		free := freeToGo(tx)
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) < 8 {
				continue
			}
			d := int64(binary.BigEndian.Uint64(v))
			if ok && d >= t.UnixNano() {
				continue
			}
			m, err := decodeMsg(v)
			if err != nil {
				return fmt.Errorf("decode message %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if !free(&m) {
				continue
			}
			if hold != nil {
				if u := unixNano(heldUntil(tx, &m, hold)); u > d {
					d = u
				}
			}
			if !ok || d < t.UnixNano() {
				t, ok = time.Unix(0, d), true
			}
		}
		return nil
	})
	return t, ok, err
}

// Ack deletes a delivered message. ErrNotFound if it is not queued.
func (db *DB) Ack(seq uint64) error {
	return db.update("ack", func(tx *bolt.Tx) error { return db.ackMsg(tx, seq) })
}

// ackMsg deletes a delivered message (see uplinkDone).
func (db *DB) ackMsg(tx *bolt.Tx, seq uint64) error {
	m, err := delMsg(tx, seq)
	if err != nil {
		return err
	}
	return db.uplinkDone(tx, &m)
}

// Message returns one queued message.
func (db *DB) Message(seq uint64) (Message, error) {
	var m Message
	err := db.view("message", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketOutbox).Get(u64(seq))
		if v == nil {
			return fmt.Errorf("message %d: %w", seq, ErrNotFound)
		}
		var err error
		m, err = decodeMsg(v)
		return err
	})
	return m, err
}

// Messages lists up to limit queued messages with Seq > after, in order.
func (db *DB) Messages(after uint64, limit int) ([]Message, error) {
	var out []Message
	err := db.view("list messages", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			m, err := decodeMsg(v)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// UpdateMessage applies fn to a queued message in one transaction: what
// a dispatcher learns (params, kind, due, attempts) without giving up the
// message's place in the order. fn cannot change Seq.
func (db *DB) UpdateMessage(seq uint64, fn func(*Message) error) (Message, error) {
	var m Message
	err := db.update("update message", func(tx *bolt.Tx) error {
		old, err := delMsg(tx, seq)
		if err != nil {
			return err
		}
		m = old
		if err := fn(&m); err != nil {
			return err
		}
		if m.Seq != seq {
			return fmt.Errorf("%w: a message's seq cannot change", ErrInvalid)
		}
		if !validKey(m.Kind, 64) || (m.RecordID != "" && !validKey(m.RecordID, MaxRecordID)) {
			return fmt.Errorf("%w: message kind %q record_id %q", ErrInvalid, m.Kind, m.RecordID)
		}
		return putMsg(tx, &m, 0)
	})
	return m, err
}

// Retry records a failed send: attempts+1, the error, the next due time.
// A droppable message whose next try would fall after
// Options.DeadLetterAfter from its creation is dead-lettered instead
// (dead=true). Undroppable messages are retried until Refused gives up
// on them.
func (db *DB) Retry(seq uint64, nextDue time.Time, errText string) (dead bool, err error) {
	err = db.update("retry", func(tx *bolt.Tx) error {
		m, err := takeFailed(tx, seq, nextDue, errText)
		if err != nil {
			return err
		}
		m.Refusals, m.LastRefusal = 0, "" // not a refusal: the count of identical ones starts again
		if Droppable(m.Kind) && nextDue.Sub(m.Created) > db.opt.DeadLetterAfter {
			dead = true
			m.DeadWhy = "too old: " + errText
			return db.deadLetter(tx, &m)
		}
		return putMsg(tx, &m, 0)
	})
	return dead, err
}

// takeFailed takes message seq out of the outbox after a failed send: one
// more attempt, its error (the outbox's last error too) and its next due
// time. The caller puts it back (putMsg) or dead-letters it.
func takeFailed(tx *bolt.Tx, seq uint64, nextDue time.Time, errText string) (Message, error) {
	m, err := delMsg(tx, seq)
	if err != nil {
		return m, err
	}
	m.Attempts++
	m.LastError, m.Due = errText, nextDue
	return m, tx.Bucket(bucketMeta).Put(metaLastError, []byte(errText))
}

// MarkUnresolved records a send of a message with a RequestOrder
// (AutoPay) whose outcome is unknown: like Retry, and the message is
// flagged Unresolved until Resolve.
func (db *DB) MarkUnresolved(seq uint64, nextDue time.Time, errText string) error {
	_, err := db.UpdateMessage(seq, func(m *Message) error {
		if m.RequestOrder == "" {
			return fmt.Errorf("%w: message %d has no request_order", ErrInvalid, seq)
		}
		m.Attempts++
		m.LastError, m.Due, m.Unresolved = errText, nextDue, true
		return nil
	})
	return err
}

// Resolve clears Unresolved after PayOrderStatus said the platform does
// not know the request_order: the AutoPay may be sent again, at due.
func (db *DB) Resolve(seq uint64, due time.Time) error {
	_, err := db.UpdateMessage(seq, func(m *Message) error {
		m.Unresolved, m.Due = false, due
		return nil
	})
	return err
}

// retryAllBatch bounds the messages one RetryAll transaction rewrites, so
// that a backlog of 100k does not hold every outbox page dirty in memory
// at once.
const retryAllBatch = 4096

// RetryAll makes every queued message due at now (the console's "queue
// retry"): a message due later gets due now, with its attempts, place in
// its record's order and everything else kept; one due already is left
// as it is. It returns how many messages are queued. One transaction
// writes them all, up to retryAllBatch messages a transaction for a
// larger backlog.
func (db *DB) RetryAll(now time.Time) (n int, err error) {
	nowNs := unixNano(now)
	var after uint64
	for {
		var seen int
		last := after
		err := db.update("retry all", func(tx *bolt.Tx) error {
			seen, last = 0, after
			ob := tx.Bucket(bucketOutbox)
			var later []uint64
			c := ob.Cursor()
			for k, v := c.Seek(u64(after + 1)); k != nil && seen < retryAllBatch; k, v = c.Next() {
				seen++
				last = binary.BigEndian.Uint64(k)
				if len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > nowNs {
					later = append(later, last)
				}
			}
			for _, seq := range later {
				v := ob.Get(u64(seq))
				m, err := decodeMsg(v)
				if err != nil {
					return fmt.Errorf("decode message %d: %w", seq, err)
				}
				m.Due = now
				if err := putMsg(tx, &m, len(v)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += seen
		if seen < retryAllBatch {
			return n, nil
		}
		after = last
	}
}
