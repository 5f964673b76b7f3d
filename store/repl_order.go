package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A record's uplinks across boxes. Within a box the outbox keeps a
// record's order (bucketOutRecord); across boxes nothing did: a car that
// entered at A and leaves at C has its Indata queued at A and its Outdata
// at C. Each box knows the others' undelivered record uplinks (the shadow
// queues); the index below finds a record's ones without walking them
// all, so that the dispatcher can keep a record's later uplink back while
// an earlier one waits at another box (DueInSite).

// bucketReplShadowRec: record_id + 0x00 + origin + 0x00 + outbox seq
// (uint64 BE, the origin's) → created (int64 BE unix ns) + kind: the shadow
// queues by record. Written in the transactions that write the shadow
// queues (putShadow, delShadow); rebuilt from them when missing.
var bucketReplShadowRec = []byte("repl_shadow_rec")

// ShadowedUplink is a record uplink queued at another box (its shadow).
type ShadowedUplink struct {
	Origin  string
	Seq     uint64 // the origin's outbox seq
	Kind    string
	Created time.Time // the origin's clock
}

// Box returns the box id the store was opened as ("" = no site).
func (db *DB) Box() string { return db.opt.Box }

func shadowRecKey(recordID, origin string, seq uint64) []byte {
	k := make([]byte, 0, len(recordID)+len(origin)+10)
	k = append(append(k, recordID...), 0)
	k = append(append(k, origin...), 0)
	return append(k, u64(seq)...)
}

// putShadow keeps m, queued at origin, in origin's shadow queue and the
// index.
func putShadow(tx *bolt.Tx, origin string, m *Message) error {
	if err := putJSON(tx.Bucket(bucketReplShadow), shadowKey(origin, m.Seq), m); err != nil {
		return err
	}
	return indexShadow(tx, origin, m)
}

func indexShadow(tx *bolt.Tx, origin string, m *Message) error {
	if m.RecordID == "" {
		return nil
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(unixNano(m.Created)))
	return tx.Bucket(bucketReplShadowRec).Put(shadowRecKey(m.RecordID, origin, m.Seq), append(v, m.Kind...))
}

// delShadow drops origin's message seq from its shadow queue and the
// index (nothing if it is not there).
func delShadow(tx *bolt.Tx, origin string, seq uint64) error {
	sh := tx.Bucket(bucketReplShadow)
	k := shadowKey(origin, seq)
	v := sh.Get(k)
	if v == nil {
		return nil
	}
	var m Message
	// An entry that does not decode is dropped all the same (refusing
	// would stop the origin's log here for good); its index entry, if
	// any, stays for CheckConsistency to report and holds its record's
	// uplinks at most HoldElsewhere.
	if json.Unmarshal(v, &m) == nil && m.RecordID != "" {
		if err := tx.Bucket(bucketReplShadowRec).Delete(shadowRecKey(m.RecordID, origin, seq)); err != nil {
			return err
		}
	}
	return sh.Delete(k)
}

// ensureShadowIndex creates the index, built from the shadow queues, in a
// file that has none (written before it existed).
func ensureShadowIndex(tx *bolt.Tx) error {
	if tx.Bucket(bucketReplShadowRec) != nil {
		return nil
	}
	if _, err := tx.CreateBucket(bucketReplShadowRec); err != nil {
		return err
	}
	return tx.Bucket(bucketReplShadow).ForEach(func(k, v []byte) error {
		var m Message
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("decode shadow %q: %w", k, err)
		}
		i := bytes.IndexByte(k, 0)
		if i <= 0 {
			return fmt.Errorf("%w: shadow key %q", ErrInvalid, k)
		}
		return indexShadow(tx, string(k[:i]), &m)
	})
}

// shadowsOf calls f with recordID's shadowed uplinks, by origin then
// order, until f returns false.
func shadowsOf(tx *bolt.Tx, recordID string, f func(s ShadowedUplink) bool) {
	b := tx.Bucket(bucketReplShadowRec)
	if b == nil {
		return
	}
	prefix := append([]byte(recordID), 0)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rest := k[len(prefix):]
		i := bytes.IndexByte(rest, 0)
		if i <= 0 || len(rest) != i+9 || len(v) < 8 {
			continue // not ours: CheckConsistency reports it
		}
		s := ShadowedUplink{Origin: string(rest[:i]), Seq: u64be(rest[i+1:]),
			Created: time.Unix(0, int64(binary.BigEndian.Uint64(v))), Kind: string(v[8:])}
		if !f(s) {
			return
		}
	}
}

// firstShadowed returns recordID's shadowed uplink created first.
func firstShadowed(tx *bolt.Tx, recordID string) (first ShadowedUplink, ok bool) {
	shadowsOf(tx, recordID, func(s ShadowedUplink) bool {
		if !ok || s.Created.Before(first.Created) {
			first, ok = s, true
		}
		return true
	})
	return first, ok
}

// HoldFunc decides about a queued message m whose record has an uplink
// queued at another box created before it (first, the earliest): it
// returns until when m is kept back (a time not after now: not kept).
// It runs inside a read transaction: it must not call the store.
type HoldFunc func(m *Message, first ShadowedUplink) (until time.Time)

// heldUntil is hold's answer for m, zero when no earlier uplink of its
// record is queued elsewhere.
func heldUntil(tx *bolt.Tx, m *Message, hold HoldFunc) time.Time {
	if m.RecordID == "" {
		return time.Time{}
	}
	first, ok := firstShadowed(tx, m.RecordID)
	if !ok || !first.Created.Before(m.Created) {
		return time.Time{}
	}
	return hold(m, first)
}

// DueInSite is Due for a box of a site: a message that hold keeps back
// past now is left out (and does not count against limit). Without a box
// it is Due.
func (db *DB) DueInSite(now time.Time, limit int, hold HoldFunc) ([]Message, error) {
	if db.opt.Box == "" {
		hold = nil
	}
	return db.due(now, limit, hold)
}

// NextDueInSite is NextDue for a box of a site: a message hold keeps back
// counts as due when it is released. Without a box it is NextDue.
func (db *DB) NextDueInSite(hold HoldFunc) (t time.Time, ok bool, err error) {
	if db.opt.Box == "" {
		hold = nil
	}
	return db.nextDue(hold)
}

// replShadow keeps a shadow queue's entry and indexes it.
func (s *salvager) replShadow(tx *bolt.Tx, k, v []byte) error {
	var m Message
	if err := json.Unmarshal(v, &m); err != nil {
		return err
	}
	i := bytes.IndexByte(k, 0)
	if i <= 0 || len(k) != i+9 || u64be(k[i+1:]) != m.Seq {
		return fmt.Errorf("%w: shadow key %q", ErrInvalid, k)
	}
	if err := s.replRaw(bucketReplShadow)(tx, k, v); err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bucketReplShadowRec); err != nil {
		return err
	}
	return indexShadow(tx, string(k[:i]), &m)
}

// checkShadowIndex checks that the index and the shadow queues name the
// same messages (see CheckConsistency).
func checkShadowIndex(tx *bolt.Tx, bad func(string, ...any)) {
	sh, idx := tx.Bucket(bucketReplShadow), tx.Bucket(bucketReplShadowRec)
	if sh == nil || idx == nil {
		return
	}
	n := 0
	_ = sh.ForEach(func(k, v []byte) error {
		var m Message
		i := bytes.IndexByte(k, 0)
		if json.Unmarshal(v, &m) != nil || i <= 0 || m.RecordID == "" {
			return nil // not the index's business
		}
		n++
		iv := idx.Get(shadowRecKey(m.RecordID, string(k[:i]), m.Seq))
		if len(iv) < 8 || int64(binary.BigEndian.Uint64(iv)) != unixNano(m.Created) {
			bad("shadow %s/%d of record %s not in the shadow index", k[:i], m.Seq, m.RecordID)
		}
		return nil
	})
	if got := idx.Stats().KeyN; got != n {
		bad("shadow index has %d entries, the shadow queues %d", got, n)
	}
}
