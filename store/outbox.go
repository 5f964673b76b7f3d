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
	_, err := db.enqueueMsgs(tx, msgs)
	return err
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
	if ordered(&m) {
		if _, err := db.logRepl(tx, ReplUplink, m.RecordID, m); err != nil {
			return 0, err
		}
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
