package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Dead letters, expiry and the outbox's figures.

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
	if err := db.uplinkDone(tx, m); err != nil {
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
	err := db.view("dead letters", func(tx *bolt.Tx) (err error) {
		out, err = decodeEnds[Message](tx.Bucket(bucketDead), limit, false)
		return err
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
