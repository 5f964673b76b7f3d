package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox. Every uplink is enqueued in the transaction of the domain
// change that causes it and deleted only when acknowledged (Ack).
//
// A dispatcher loops: Due(now, n) → send each → Ack(seq) on success, or
// Retry(seq, next, err) on failure. For AutoPay, an unknown outcome
// (timeout, lost answer) is MarkUnresolved: Due keeps returning the same
// message (same seq, same RequestOrder, same place in its record's order)
// with Unresolved set, and the dispatcher sends PayOrderStatus for its
// RequestOrder instead. If the platform knows the order, the payment
// happened: Ack it (after recording the payment). If it does not, Resolve
// the message and send the AutoPay again with the same request_order. A
// request_order is thus never charged twice, and nothing of the record
// (its Outdata) overtakes it.

const messageV = 1

// appendFill is the FillPercent of the buckets keyed by a growing
// sequence (outbox, audit ring).
const appendFill = 0.95

// Audited returns a pseudo-message that, given to any mutating operation
// with the other msgs, writes ev to the audit log in that operation's
// transaction instead of queuing an uplink.
func Audited(ev AuditEvent) Message { return Message{audit: &ev} }

// value layout of bucketOutbox: due (int64 BE unix ns), then the JSON.
func encodeMsg(m *Message) ([]byte, error) {
	j, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	v := make([]byte, 8+len(j))
	binary.BigEndian.PutUint64(v, uint64(unixNano(m.Due)))
	copy(v[8:], j)
	return v, nil
}

// unixNano is t.UnixNano clamped to the years 1678–2262 (UnixNano is
// undefined outside them), so "far future" stays far.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func decodeMsg(v []byte) (Message, error) {
	var m Message
	if len(v) < 8 {
		return m, fmt.Errorf("short outbox value (%d bytes)", len(v))
	}
	err := json.Unmarshal(v[8:], &m)
	return m, err
}

func recKey(recordID string, seq uint64) []byte {
	k := make([]byte, 0, len(recordID)+9)
	k = append(k, recordID...)
	k = append(k, 0)
	return append(k, u64(seq)...)
}

func kindKey(kind string, seq uint64) []byte { return recKey(kind, seq) }

// kindCounter is the meta key counting the queued messages of kind.
func kindCounter(kind string) []byte {
	return append(append([]byte(nil), metaKindN...), kind...)
}

// countKind adds d to the counter of kind, deleting it at zero so that
// meta keeps no key per kind ever seen.
func countKind(meta *bolt.Bucket, kind string, d int64) error {
	k := kindCounter(kind)
	v := int64(getU64(meta, k)) + d
	if v <= 0 {
		return meta.Delete(k)
	}
	return putU64(meta, k, uint64(v))
}

// ordered reports whether m holds its record's order.
func ordered(m *Message) bool { return m.RecordID != "" && !Droppable(m.Kind) }

// enqueue writes msgs (and the audit events among them) in tx.
func (db *DB) enqueue(tx *bolt.Tx, msgs []Message) error {
	for i := range msgs {
		if msgs[i].audit != nil {
			if err := db.audit(tx, *msgs[i].audit); err != nil {
				return err
			}
			continue
		}
		if _, err := db.enqueueOne(tx, msgs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) enqueueOne(tx *bolt.Tx, m Message) (uint64, error) {
	if !validKey(m.Kind, 64) {
		return 0, fmt.Errorf("%w: message kind %q", ErrInvalid, m.Kind)
	}
	if m.RecordID != "" && !validKey(m.RecordID, MaxRecordID) {
		return 0, fmt.Errorf("%w: message record_id %q", ErrInvalid, m.RecordID)
	}
	ob := tx.Bucket(bucketOutbox)
	// Sequence keys only ever append to the right-most leaf: fill it
	// before splitting (bbolt's default leaves every leaf half empty),
	// so that fewer appends split a leaf and dirty its parent.
	ob.FillPercent = appendFill
	seq, err := ob.NextSequence()
	if err != nil {
		return 0, err
	}
	m.V, m.Seq = messageV, seq
	if m.Created.IsZero() {
		m.Created = db.opt.Now()
	}
	if m.Due.IsZero() {
		m.Due = m.Created
	}
	if err := putMsg(tx, &m, 0); err != nil {
		return 0, err
	}
	return seq, db.bound(tx)
}

// putMsg stores m with its indexes; oldSize is the size of the value it
// replaces (0 for a new message).
func putMsg(tx *bolt.Tx, m *Message, oldSize int) error {
	v, err := encodeMsg(m)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOutbox).Put(u64(m.Seq), v); err != nil {
		return err
	}
	if ordered(m) {
		if err := tx.Bucket(bucketOutRecord).Put(recKey(m.RecordID, m.Seq), nil); err != nil {
			return err
		}
	}
	if Droppable(m.Kind) {
		if err := tx.Bucket(bucketOutKind).Put(kindKey(m.Kind, m.Seq), nil); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if oldSize == 0 {
		if err := addU64(meta, metaOutN, 1); err != nil {
			return err
		}
		if err := countKind(meta, m.Kind, 1); err != nil {
			return err
		}
	}
	return addU64(meta, metaOutBytes, int64(len(v)-oldSize))
}

// delMsg removes a message and its indexes; it returns the message.
func delMsg(tx *bolt.Tx, seq uint64) (Message, error) {
	ob := tx.Bucket(bucketOutbox)
	v := ob.Get(u64(seq))
	if v == nil {
		return Message{}, fmt.Errorf("message %d: %w", seq, ErrNotFound)
	}
	m, err := decodeMsg(v)
	if err != nil {
		return m, fmt.Errorf("decode message %d: %w", seq, err)
	}
	size := len(v)
	if err := ob.Delete(u64(seq)); err != nil {
		return m, err
	}
	if ordered(&m) {
		if err := tx.Bucket(bucketOutRecord).Delete(recKey(m.RecordID, seq)); err != nil {
			return m, err
		}
	}
	if Droppable(m.Kind) {
		if err := tx.Bucket(bucketOutKind).Delete(kindKey(m.Kind, seq)); err != nil {
			return m, err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := addU64(meta, metaOutN, -1); err != nil {
		return m, err
	}
	if err := countKind(meta, m.Kind, -1); err != nil {
		return m, err
	}
	return m, addU64(meta, metaOutBytes, -int64(size))
}

// evictOrder: the kinds evicted for space, pictures first.
var evictOrder = [][]string{
	{KindPicUpload},
	{KindSpaceInfo, KindConfigUpload, KindAutoPayStatus},
}

// bound evicts droppable messages while the outbox is over its bounds.
func (db *DB) bound(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	kinds := tx.Bucket(bucketOutKind)
	for {
		n, size := getU64(meta, metaOutN), getU64(meta, metaOutBytes)
		if n <= uint64(db.opt.OutboxMax) && size <= uint64(db.opt.OutboxMaxBytes) {
			return nil
		}
		victim := uint64(0)
		for _, group := range evictOrder {
			for _, kind := range group {
				prefix := kindKey(kind, 0)[:len(kind)+1]
				k, _ := kinds.Cursor().Seek(prefix)
				if k != nil && bytes.HasPrefix(k, prefix) {
					if s := binary.BigEndian.Uint64(k[len(prefix):]); victim == 0 || s < victim {
						victim = s
					}
				}
			}
			if victim != 0 {
				break
			}
		}
		if victim == 0 {
			db.log.Warn("outbox over its bound with nothing droppable left; keeping every record message",
				"count", n, "bytes", size, "max", db.opt.OutboxMax, "max_bytes", db.opt.OutboxMaxBytes)
			return addU64(meta, metaOverfull, 1)
		}
		m, err := delMsg(tx, victim)
		if err != nil {
			return err
		}
		if err := addU64(meta, metaEvicted, 1); err != nil {
			return err
		}
		db.log.Warn("outbox full: evicted a message", "seq", victim, "kind", m.Kind, "record_id", m.RecordID)
	}
}

// Enqueue queues msgs on their own (record-less kinds such as SpaceInfo,
// ConfigUpload, AutoPayStatus, or a PicUpload after its record's entry),
// in one transaction, and returns their sequence numbers once they are
// on disk. Concurrent callers share a transaction and its fsync (group.go):
// each caller's msgs are still all or none, and an invalid one fails
// its own caller only.
func (db *DB) Enqueue(msgs ...Message) ([]uint64, error) {
	return db.groupEnqueue(msgs)
}

// enqueueMsgs writes one Enqueue call's msgs in tx and returns their
// sequence numbers.
func (db *DB) enqueueMsgs(tx *bolt.Tx, msgs []Message) ([]uint64, error) {
	var seqs []uint64
	for _, m := range msgs {
		if m.audit != nil {
			if err := db.audit(tx, *m.audit); err != nil {
				return nil, err
			}
			continue
		}
		s, err := db.enqueueOne(tx, m)
		if err != nil {
			return nil, err
		}
		seqs = append(seqs, s)
	}
	return seqs, nil
}

// Due returns up to limit messages, in sequence order, whose due time has
// come and that are free to go: an undroppable message of a record only
// when it is the oldest queued undroppable message of that record; a
// droppable one of a record only when no older undroppable message of
// its record is queued.
func (db *DB) Due(now time.Time, limit int) ([]Message, error) {
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
			if free(&m) {
				out = append(out, m)
			}
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
			if free(&m) {
				t, ok = time.Unix(0, d), true
			}
		}
		return nil
	})
	return t, ok, err
}

// Ack deletes a delivered message. ErrNotFound if it is not queued.
func (db *DB) Ack(seq uint64) error {
	return db.update("ack", func(tx *bolt.Tx) error {
		_, err := delMsg(tx, seq)
		return err
	})
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
		m, err := delMsg(tx, seq)
		if err != nil {
			return err
		}
		m.Attempts++
		m.LastError, m.Due = errText, nextDue
		m.Refusals, m.LastRefusal = 0, "" // not a refusal: the count of identical ones starts again
		if err := tx.Bucket(bucketMeta).Put(metaLastError, []byte(errText)); err != nil {
			return err
		}
		if Droppable(m.Kind) && nextDue.Sub(m.Created) > db.opt.DeadLetterAfter {
			dead = true
			m.DeadWhy = "too old: " + errText
			return db.deadLetter(tx, &m)
		}
		return putMsg(tx, &m, 0)
	})
	return dead, err
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

func (db *DB) deadLetter(tx *bolt.Tx, m *Message) error {
	if m.DeadAt.IsZero() {
		m.DeadAt = db.opt.Now()
	}
	dead := tx.Bucket(bucketDead)
	j, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := dead.Put(u64(m.Seq), j); err != nil {
		return err
	}
	if err := addU64(tx.Bucket(bucketMeta), metaDeadTotal, 1); err != nil {
		return err
	}
	db.log.Warn("outbox: dead-lettered a message", "seq", m.Seq, "kind", m.Kind, "attempts", m.Attempts, "error", m.LastError)
	// Bucket.Stats does not see this transaction's writes: count.
	n := 0
	c := dead.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	for ; n > db.opt.DeadLetterMax; n-- {
		k, _ := dead.Cursor().First()
		if err := dead.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Expire dead-letters up to batch droppable messages created before
// `before` (never attempted ones too, e.g. pictures waiting behind their
// record), and returns how many.
func (db *DB) Expire(before time.Time, batch int) (n int, err error) {
	err = db.update("expire", func(tx *bolt.Tx) error {
		n = 0
		for _, group := range evictOrder {
			for _, kind := range group {
				prefix := kindKey(kind, 0)[:len(kind)+1]
				var seqs []uint64
				c := tx.Bucket(bucketOutKind).Cursor()
				for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n+len(seqs) < batch; k, _ = c.Next() {
					seqs = append(seqs, binary.BigEndian.Uint64(k[len(prefix):]))
				}
				for _, s := range seqs {
					v := tx.Bucket(bucketOutbox).Get(u64(s))
					m, err := decodeMsg(v)
					if err != nil {
						return err
					}
					if !m.Created.Before(before) {
						continue
					}
					if _, err := delMsg(tx, s); err != nil {
						return err
					}
					m.DeadWhy = "expired: created " + m.Created.UTC().Format(time.RFC3339)
					if err := db.deadLetter(tx, &m); err != nil {
						return err
					}
					n++
				}
			}
		}
		return nil
	})
	return n, err
}

// DeadLetters returns up to limit dead letters, oldest first.
func (db *DB) DeadLetters(limit int) ([]Message, error) {
	var out []Message
	err := db.view("dead letters", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDead).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// OutboxStats summarises the outbox for status displays; OldestAge is
// measured at now.
func (db *DB) OutboxStats(now time.Time) (OutboxStats, error) {
	s := OutboxStats{ByKind: map[string]int{}}
	err := db.view("outbox stats", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		s.Count = int(getU64(meta, metaOutN))
		s.Bytes = int64(getU64(meta, metaOutBytes))
		s.DeadTotal = getU64(meta, metaDeadTotal)
		s.Evicted = getU64(meta, metaEvicted)
		s.Overfull = getU64(meta, metaOverfull)
		s.LastError = string(meta.Get(metaLastError))
		s.Dead = tx.Bucket(bucketDead).Stats().KeyN
		c := meta.Cursor()
		for k, v := c.Seek(metaKindN); k != nil && bytes.HasPrefix(k, metaKindN); k, v = c.Next() {
			s.ByKind[string(k[len(metaKindN):])] = int(u64be(v))
		}
		if _, v := tx.Bucket(bucketOutbox).Cursor().First(); v != nil {
			m, err := decodeMsg(v)
			if err != nil {
				return err
			}
			s.OldestAge = now.Sub(m.Created)
		}
		return nil
	})
	return s, err
}
