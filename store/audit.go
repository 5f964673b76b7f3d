package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

func (db *DB) audit(tx *bolt.Tx, ev AuditEvent) error {
	if ev.Kind == "" {
		return fmt.Errorf("%w: audit event without kind", ErrInvalid)
	}
	b := tx.Bucket(bucketAudit)
	b.FillPercent = appendFill // appends only (see enqueueOne)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	ev.Seq = seq
	if ev.Time.IsZero() {
		ev.Time = db.opt.Now()
	}
	v, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := b.Put(u64(seq), v); err != nil {
		return err
	}
	// The ring: what fell out of the last AuditMax sequence numbers is no
	// longer seen (RecentAudit) and is deleted in batches of auditSlack:
	// deleting the oldest event on every append would dirty the ring's
	// first page (and its branch) in every audited commit.
	keep := uint64(db.opt.AuditMax)
	if seq > keep {
		floor := seq - keep
		c := b.Cursor()
		if k, _ := c.First(); k != nil && u64be(k)+auditSlack(db.opt.AuditMax) <= floor {
			for ; k != nil && u64be(k) <= floor; k, _ = c.First() {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// auditSlack is how many events past AuditMax the ring keeps on disk
// before trimming them at once: at most 256, and a sixteenth of the ring.
func auditSlack(auditMax int) uint64 {
	return uint64(min(max(auditMax/16, 1), 256))
}

// Audit appends ev (a zero Time is stamped with Options.Now) to the
// bounded audit log, with msgs, in one transaction: e.g. a manual
// opening and the uplinks it causes.
func (db *DB) Audit(ev AuditEvent, msgs ...Message) error {
	return db.update("audit", func(tx *bolt.Tx) error {
		if err := db.audit(tx, ev); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
}

// RecentAudit returns up to n newest audit events, newest first: at most
// Options.AuditMax, the ring.
func (db *DB) RecentAudit(n int) ([]AuditEvent, error) {
	var out []AuditEvent
	n = min(n, db.opt.AuditMax)
	err := db.view("recent audit", func(tx *bolt.Tx) (err error) {
		out, err = decodeEnds[AuditEvent](tx.Bucket(bucketAudit), n, true)
		return err
	})
	return out, err
}
