package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Refused records that the platform refused a message (it answered with a
// status ≠ 0): like Retry, and it counts consecutive identical refusals
// (same refusal text). At the max-th identical refusal in a row the
// message is dead-lettered, whatever its kind, with an audit event in the
// same transaction, so that one message the platform will never take
// does not hold back its record's later uplinks forever. A different
// refusal, or a failure of another kind in between (Retry), starts the
// count again. max ≤ 0 means 5.
func (db *DB) Refused(seq uint64, nextDue time.Time, refusal string, max int, now time.Time) (dead bool, err error) {
	if max <= 0 {
		max = 5
	}
	err = db.update("refused", func(tx *bolt.Tx) error {
		m, err := takeFailed(tx, seq, nextDue, refusal)
		if err != nil {
			return err
		}
		if m.LastRefusal == refusal {
			m.Refusals++
		} else {
			m.Refusals, m.LastRefusal = 1, refusal
		}
		if m.Refusals < max {
			return putMsg(tx, &m, 0)
		}
		dead = true
		m.DeadAt = now
		m.DeadWhy = fmt.Sprintf("refused %d times in a row: %s", m.Refusals, refusal)
		if err := db.deadLetter(tx, &m); err != nil {
			return err
		}
		return db.audit(tx, AuditEvent{Time: now, Kind: "dead_letter",
			Detail: fmt.Sprintf("%s (seq %d) for record %s dead-lettered: %s", m.Kind, m.Seq, orNone(m.RecordID), m.DeadWhy)})
	})
	return dead, err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// DeadLettersBetween returns the dead letters dead-lettered in [from, to),
// oldest first (of those kept: see Options.DeadLetterMax).
func (db *DB) DeadLettersBetween(from, to time.Time) ([]Message, error) {
	var out []Message
	err := db.view("dead letters between", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(_, v []byte) error {
			m, err := decodeDead(v)
			if err != nil {
				return err
			}
			if !m.DeadAt.Before(from) && m.DeadAt.Before(to) {
				out = append(out, m)
			}
			return nil
		})
	})
	return out, err
}

func decodeDead(v []byte) (Message, error) {
	var m Message
	err := json.Unmarshal(v, &m)
	return m, err
}
