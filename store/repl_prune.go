package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// PruneRepl deletes the oldest entries of this box's own log that are both
// published (SetReplPublished) and older (their At) than Options.ReplKeep,
// in transactions of at most batch (≤ 0: 500), until the first entry
// that is not, or ctx ends; it returns how many it deleted. The log thus
// stays a contiguous tail: ReplOwn after a pruned seq starts at the first
// kept one. The head, the published mark and the cursors of other boxes
// are never pruned. Prune runs it.
func (db *DB) PruneRepl(ctx context.Context, batch int) (n int, err error) {
	if db.opt.Box == "" {
		return 0, nil // no log kept: no transaction either
	}
	if batch <= 0 {
		batch = 500
	}
	cutoff := db.opt.Now().Add(-db.opt.ReplKeep)
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("store: prune repl: %w", err)
		}
		done, end := 0, false
		err := db.update("prune repl", func(tx *bolt.Tx) error {
			done, end = 0, false
			b := tx.Bucket(bucketRepl)
			if b == nil {
				end = true
				return errNoChange
			}
			pub := getU64(tx.Bucket(bucketMeta), metaReplPub)
			var keys [][]byte
			c := b.Cursor()
			k, v := c.First()
			for ; k != nil && len(keys) < batch; k, v = c.Next() {
				if u64be(k) > pub || !replBefore(v, cutoff) {
					break
				}
				keys = append(keys, append([]byte(nil), k...))
			}
			end = len(keys) < batch
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			done = len(keys)
			if done == 0 {
				return errNoChange
			}
			return nil
		})
		if err != nil && !errors.Is(err, errNoChange) {
			return n, err
		}
		n += done
		if end || done == 0 {
			if n > 0 {
				db.log.Info("store: pruned the replication log", "entries", n, "before", cutoff)
			}
			return n, nil
		}
	}
}

// replBefore reports whether the entry v was logged before cutoff; an
// entry that does not decode is kept (CheckConsistency's business).
func replBefore(v []byte, cutoff time.Time) bool {
	var e struct {
		At time.Time `json:"t"`
	}
	return json.Unmarshal(v, &e) == nil && e.At.Before(cutoff)
}

// checkRepl checks a site's replication state (see CheckConsistency).
func checkRepl(tx *bolt.Tx, bad func(string, ...any)) {
	b := tx.Bucket(bucketRepl)
	if b == nil {
		return
	}
	head := b.Sequence()
	_ = b.ForEach(func(k, v []byte) error {
		var e ReplEntry
		switch {
		case json.Unmarshal(v, &e) != nil:
			bad("replication entry %x does not decode", k)
		case len(k) != 8 || e.Seq != u64be(k):
			bad("replication entry %d under key %x", e.Seq, k)
		case e.Seq > head:
			bad("replication entry %d beyond the head %d", e.Seq, head)
		}
		return nil
	})
	if pub := getU64(tx.Bucket(bucketMeta), metaReplPub); pub > head {
		bad("replication published %d beyond the head %d", pub, head)
	}
	if p := tx.Bucket(bucketReplPending); p != nil {
		_ = p.ForEach(func(k, _ []byte) error {
			if i := bytes.IndexByte(k, 0); i > 0 && tx.Bucket(bucketRecords).Get(k[:i]) != nil {
				bad("payment %q waits for record %s, which is there", k, k[:i])
			}
			return nil
		})
	}
	if a := tx.Bucket(bucketReplAlias); a != nil {
		_ = a.ForEach(func(k, _ []byte) error {
			if i := bytes.IndexByte(k, 0); i < 0 || tx.Bucket(bucketOrders).Get(k[i+1:]) == nil {
				bad("payment alias %q without its order", k)
			}
			return nil
		})
	}
	checkShadowIndex(tx, bad)
}
