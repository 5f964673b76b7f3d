package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Shadow queues and takeover. Every box keeps, per other box, the record
// uplinks that box queued and has not yet seen delivered (ReplUplink
// entries less their ReplUplinkDone). A box gone silent for good can have
// them taken over by the gateway: only by an operator's command, never
// automatically (two senders could charge twice).

// ReplShadow lists origin's queued record uplinks as this box knows them,
// in origin's order (Message.Seq is origin's outbox seq).
func (db *DB) ReplShadow(origin string) ([]Message, error) {
	var out []Message
	err := db.view("repl shadow", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReplShadow)
		if b == nil {
			return nil
		}
		var err error
		out, err = shadowOf(b, origin)
		return err
	})
	return out, err
}

func shadowOf(b *bolt.Bucket, origin string) ([]Message, error) {
	var out []Message
	prefix := append([]byte(origin), 0)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("decode shadow %q: %w", k, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// TakeOver moves origin's shadow queue into this box's outbox, in one
// transaction, and returns how many messages it moved: each keeps its
// kind, record, parameters and request_order (the bank dedupes a repeated
// AutoPay by it), in origin's order, due now. An AutoPay is marked
// Unresolved: origin may have sent it, so its outcome is asked
// (PayOrderStatus) before it is sent again. A ReplTakeover entry names
// the messages and how far origin's log was applied; when origin applies
// it (ApplyRepl), it drops those of its messages still queued. With
// nothing to take over nothing is written.
func (db *DB) TakeOver(origin string) (int, error) {
	if db.opt.Box == "" {
		return 0, fmt.Errorf("store: take over: %w: no box", ErrInvalid)
	}
	if err := ValidBox(origin); err != nil {
		return 0, fmt.Errorf("store: take over: %w", err)
	}
	if origin == db.opt.Box {
		return 0, fmt.Errorf("store: take over: %w: %s is this box", ErrInvalid, origin)
	}
	n := 0
	err := db.update("take over", func(tx *bolt.Tx) error {
		n = 0
		sh := tx.Bucket(bucketReplShadow)
		msgs, err := shadowOf(sh, origin)
		if err != nil || len(msgs) == 0 {
			return err
		}
		cur, err := getCursor(tx, origin)
		if err != nil {
			return err
		}
		t := Takeover{Origin: origin, Upto: cur.Seq}
		now := db.opt.Now()
		taken := make([]Message, 0, len(msgs))
		for _, m := range msgs {
			t.Seqs = append(t.Seqs, m.Seq)
			if err := delShadow(tx, origin, m.Seq); err != nil {
				return err
			}
			c := Message{Kind: m.Kind, RecordID: m.RecordID, Params: m.Params, Created: m.Created, Due: now,
				RequestOrder: m.RequestOrder, URL: m.URL, Unresolved: m.Kind == KindAutoPay && m.RequestOrder != ""}
			if c.Created.IsZero() {
				c.Created = now
			}
			taken = append(taken, c)
		}
		queue, err := db.mergeOwn(tx, taken)
		if err != nil {
			return err
		}
		for _, m := range queue {
			if _, err := db.enqueueOne(tx, m); err != nil {
				return fmt.Errorf("message of %s (record %s): %w", m.Kind, m.RecordID, err)
			}
		}
		n = len(taken)
		if _, err := db.logRepl(tx, ReplTakeover, origin, t); err != nil {
			return err
		}
		db.log.Warn("store: took over a box's queue", "origin", origin, "upto", t.Upto, "messages", n)
		return db.audit(tx, AuditEvent{Time: now, Kind: "site_takeover",
			Detail: fmt.Sprintf("took over %d queued uplinks of box %s (its log applied up to entry %d)", n, origin, t.Upto)})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// mergeOwn returns taken (in origin's order) merged with this box's own
// queued messages of the same records, which it takes off the outbox:
// each record's messages by creation time, taken ones first at a tie, so
// that a record's Outdata queued here does not overtake its Indata taken
// over (a seq once given cannot be moved before another). A moved AutoPay
// is marked Unresolved: it may be on the wire now, and its outcome is
// asked before it is sent again.
func (db *DB) mergeOwn(tx *bolt.Tx, taken []Message) ([]Message, error) {
	var order []string
	byRec := map[string][]Message{}
	for _, m := range taken {
		if _, ok := byRec[m.RecordID]; !ok {
			order = append(order, m.RecordID)
		}
		byRec[m.RecordID] = append(byRec[m.RecordID], m)
	}
	var out []Message
	for _, rec := range order {
		prefix := recKey(rec, 0)[:len(rec)+1]
		var seqs []uint64
		c := tx.Bucket(bucketOutRecord).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			seqs = append(seqs, u64be(k[len(prefix):]))
		}
		var own []Message
		for _, s := range seqs {
			m, err := delMsg(tx, s)
			if err != nil {
				return nil, err
			}
			if err := db.uplinkDone(tx, &m); err != nil {
				return nil, err
			}
			m.Seq = 0
			if m.Kind == KindAutoPay && m.RequestOrder != "" {
				m.Unresolved = true
			}
			own = append(own, m)
		}
		tk := byRec[rec]
		for len(tk) > 0 || len(own) > 0 {
			if len(own) == 0 || (len(tk) > 0 && !own[0].Created.Before(tk[0].Created)) {
				out, tk = append(out, tk[0]), tk[1:]
			} else {
				out, own = append(out, own[0]), own[1:]
			}
		}
	}
	return out, nil
}

// QueuedElsewhere lists the record uplinks of recordID that other boxes
// have queued and not yet delivered, as far as this box knows (their
// shadow queues), by origin then order: e.g. the Indata of a record whose
// Outdata this box is about to send. It reads the record's entries of the
// shadow index only.
func (db *DB) QueuedElsewhere(recordID string) ([]Message, error) {
	var out []Message
	err := db.view("queued elsewhere", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReplShadow)
		if b == nil {
			return nil
		}
		var err error
		shadowsOf(tx, recordID, func(s ShadowedUplink) bool {
			v := b.Get(shadowKey(s.Origin, s.Seq))
			if v == nil {
				return true // left by a shadow entry that did not decode (delShadow)
			}
			var m Message
			if err = json.Unmarshal(v, &m); err != nil {
				err = fmt.Errorf("decode shadow %s/%d: %w", s.Origin, s.Seq, err)
				return false
			}
			out = append(out, m)
			return true
		})
		return err
	})
	return out, err
}
