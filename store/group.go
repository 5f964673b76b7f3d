package store

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit for Enqueue. A commit's cost is its fsyncs, not its
// messages: callers that arrive while a commit is running wait, and the
// next commit writes all of them at once. The first caller to find no
// commit running leads: it takes every waiting call (its own included,
// at most maxGroup), commits them in one transaction, answers each, and
// hands the lead to the oldest call that arrived meanwhile. A lone caller
// thus commits at once (no batching delay), and every caller returns
// only after its own messages are durable (or with its own error).

// maxGroup bounds the calls one group commit writes.
const maxGroup = 256

type enqueueQueue struct {
	mu      sync.Mutex
	busy    bool // a leader is committing
	pending []*enqueueCall
}

type enqueueCall struct {
	msgs []Message
	seqs []uint64
	err  error
	wake chan bool // true: answered; false: lead the next group
}

// errGroupMember aborts a group transaction in which one call failed.
var errGroupMember = errors.New("a call of the group failed")

func (db *DB) groupEnqueue(msgs []Message) ([]uint64, error) {
	c := &enqueueCall{msgs: msgs, wake: make(chan bool, 1)}
	q := &db.enq
	q.mu.Lock()
	q.pending = append(q.pending, c)
	lead := !q.busy
	q.busy = true
	q.mu.Unlock()
	if !lead && <-c.wake {
		return c.seqs, c.err
	}
	q.mu.Lock()
	n := min(len(q.pending), maxGroup)
	group := append([]*enqueueCall(nil), q.pending[:n]...)
	q.pending = q.pending[n:]
	q.mu.Unlock()

	db.commitGroup(group)

	q.mu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].wake <- false // it leads the next group
	} else {
		q.busy = false
	}
	q.mu.Unlock()
	for _, g := range group {
		if g != c {
			g.wake <- true
		}
	}
	return c.seqs, c.err
}

// commitGroup writes the calls of group in one transaction. If one of
// them fails, the transaction is rolled back and each call is committed
// on its own, so that a bad call fails alone.
func (db *DB) commitGroup(group []*enqueueCall) {
	if len(group) > 1 {
		err := db.update("enqueue", func(tx *bolt.Tx) error {
			for _, g := range group {
				if g.seqs, g.err = db.enqueueMsgs(tx, g.msgs); g.err != nil {
					return errGroupMember
				}
			}
			return nil
		})
		if !errors.Is(err, errGroupMember) {
			for _, g := range group {
				if err != nil {
					g.seqs, g.err = nil, err
				}
			}
			return
		}
	}
	for _, g := range group {
		g.err = db.update("enqueue", func(tx *bolt.Tx) (err error) {
			g.seqs, err = db.enqueueMsgs(tx, g.msgs)
			return err
		})
		if g.err != nil {
			g.seqs = nil
		}
	}
}
