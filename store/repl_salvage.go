package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// KindRepl counts a site's replication state in a SalvageReport: the own
// log's entries, the cursors, shadow queues, stamps, pending payments and
// aliases.
const KindRepl = "replication"

// replEntry keeps an entry of the own log under its own seq: the other
// boxes' cursors count on them.
func (s *salvager) replEntry(tx *bolt.Tx, k, v []byte) error {
	var e ReplEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return err
	}
	if len(k) != 8 || e.Seq != u64be(k) || e.Kind == "" {
		return fmt.Errorf("%w: replication entry %d under key %x", ErrInvalid, e.Seq, k)
	}
	b, err := tx.CreateBucketIfNotExists(bucketRepl)
	if err != nil {
		return err
	}
	s.seen(bucketRepl, e.Seq)
	return b.Put(k, v)
}

// replRaw copies an entry of a replication bucket as it is.
func (s *salvager) replRaw(name []byte) func(tx *bolt.Tx, k, v []byte) error {
	return func(tx *bolt.Tx, k, v []byte) error {
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		return b.Put(k, v)
	}
}

// finishRepl keeps the own log's sequence and published mark: a sequence
// handed out again would be taken by the other boxes for one they have.
func (s *salvager) finishRepl(tx *bolt.Tx, old map[string][]byte) error {
	seq := max(s.maxSeq[string(bucketRepl)], s.seqs[string(bucketRepl)])
	if seq == 0 && old[string(metaReplPub)] == nil {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketRepl)
	if err != nil {
		return err
	}
	if err := b.SetSequence(max(b.Sequence(), seq)); err != nil {
		return err
	}
	if pub := min(u64be(old[string(metaReplPub)]), b.Sequence()); pub > 0 {
		return putU64(tx.Bucket(bucketMeta), metaReplPub, pub)
	}
	return nil
}

// replAlias keeps an alias with its order (the orders index is rebuilt
// from the payments kept, which do not name it).
func (s *salvager) replAlias(tx *bolt.Tx, k, v []byte) error {
	i := bytes.IndexByte(k, 0)
	if i <= 0 || i == len(k)-1 {
		return fmt.Errorf("%w: payment alias key %q", ErrInvalid, k)
	}
	if tx.Bucket(bucketRecords).Get(k[:i]) == nil {
		return fmt.Errorf("payment alias %q: record %s: %w", k, k[:i], ErrNotFound)
	}
	if err := tx.Bucket(bucketOrders).Put(k[i+1:], k[:i]); err != nil {
		return err
	}
	return s.replRaw(bucketReplAlias)(tx, k, v)
}
