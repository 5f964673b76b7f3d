package sitetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"laned/store"
)

// MemStore is an in-memory replication log with the semantics of
// store.DB's: an own log from Seq 1 without gaps, a published cursor
// (monotonic; Reset lowers it), a wake channel, and per-origin cursors
// that ApplyRepl advances one Seq at a time, stopping at a gap (the
// cursor keeps the stream sequence of the last entry that came with one,
// as store.DB does). It keeps
// every applied entry so that tests can compare boxes. Its state survives
// a Node's Close and Start, like a bbolt file.
type MemStore struct {
	box  string
	now  func() time.Time
	wake chan struct{}

	mu        sync.Mutex
	own       []store.ReplEntry
	published uint64
	cursors   map[string]store.ReplCursor
	applied   map[string][]store.ReplEntry
	resets    []uint64
	skipped   int
	fetched   int
}

// NewMemStore returns an empty store of box; now nil = time.Now.
func NewMemStore(box string, now func() time.Time) *MemStore {
	if now == nil {
		now = time.Now
	}
	return &MemStore{box: box, now: now, wake: make(chan struct{}, 1),
		cursors: map[string]store.ReplCursor{}, applied: map[string][]store.ReplEntry{}}
}

// Commit logs one own entry, like a domain operation of the store, and
// signals the wake channel. It returns the entry's Seq.
func (m *MemStore) Commit(kind, key string, data any) uint64 {
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	m.mu.Lock()
	e := store.ReplEntry{Origin: m.box, Seq: uint64(len(m.own)) + 1, At: m.now(), Kind: kind, Key: key, Data: raw}
	m.own = append(m.own, e)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return e.Seq
}

// ReplOwn returns up to max own entries with Seq > after.
func (m *MemStore) ReplOwn(after uint64, max int) ([]store.ReplEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if after >= uint64(len(m.own)) || max <= 0 {
		return nil, nil
	}
	es := m.own[after:]
	if len(es) > max {
		es = es[:max]
	}
	return slices.Clone(es), nil
}

// ReplHead returns the last own Seq and the published cursor.
func (m *MemStore) ReplHead() (head, published uint64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return uint64(len(m.own)), m.published, nil
}

// SetReplPublished raises the published cursor (lower values ignored).
func (m *MemStore) SetReplPublished(seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq > uint64(len(m.own)) {
		return fmt.Errorf("memstore: published %d beyond head %d", seq, len(m.own))
	}
	m.published = max(m.published, seq)
	return nil
}

// ResetReplPublished lowers the published cursor to seq.
func (m *MemStore) ResetReplPublished(seq uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq < m.published {
		m.published = seq
	}
	m.resets = append(m.resets, seq)
	return nil
}

// Resets returns the arguments of every ResetReplPublished call.
func (m *MemStore) Resets() []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.resets)
}

// ReplWake is signalled after each Commit.
func (m *MemStore) ReplWake() <-chan struct{} { return m.wake }

// ApplyRepl applies origin's entries: Seq <= cursor skipped, cursor+1
// applied, a larger Seq stops at a gap.
func (m *MemStore) ApplyRepl(origin string, es []store.ReplEntry) (store.ApplyResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if origin == m.box {
		return store.ApplyResult{}, fmt.Errorf("memstore: apply own log %s", origin)
	}
	for _, e := range es {
		if e.Origin != origin {
			return store.ApplyResult{}, fmt.Errorf("memstore: entry of %s among %s's: %w", e.Origin, origin, store.ErrInvalid)
		}
		if !knownKinds[e.Kind] {
			// Like store.DB: a bad entry refuses the whole batch.
			return store.ApplyResult{}, fmt.Errorf("memstore: entry %d: kind %q: %w", e.Seq, e.Kind, store.ErrInvalid)
		}
	}
	c := m.cursors[origin]
	c.Origin = origin
	res := store.ApplyResult{Origin: origin}
	for _, e := range es {
		if e.Seq <= c.Seq {
			m.skipped++
			continue
		}
		if e.Seq > c.Seq+1 {
			res.Gap = true
			break
		}
		c.Seq, c.At, c.AppliedAt = e.Seq, e.At, m.now()
		if e.Stream != 0 {
			c.Stream = e.Stream
		} else {
			m.fetched++
		}
		e.Stream = 0
		m.applied[origin] = append(m.applied[origin], e)
		switch e.Kind {
		case store.ReplRecord:
			res.Records = append(res.Records, e.Key)
		case store.ReplPayment:
			res.Paid = append(res.Paid, e.Key)
		case store.ReplBinding, store.ReplUnbind, store.ReplVehicle, store.ReplVehicleDel,
			store.ReplArrear, store.ReplArrearDel:
			res.Plates = append(res.Plates, e.Key)
		}
	}
	m.cursors[origin] = c
	res.Cursor, res.Stream = c.Seq, c.Stream
	return res, nil
}

var knownKinds = map[string]bool{
	store.ReplRecord: true, store.ReplPayment: true, store.ReplBinding: true, store.ReplUnbind: true,
	store.ReplVehicle: true, store.ReplVehicleDel: true, store.ReplArrear: true, store.ReplArrearDel: true,
	store.ReplUplink: true, store.ReplUplinkDone: true, store.ReplTakeover: true,
}

// ReplCursors returns the cursor of every origin applied so far.
func (m *MemStore) ReplCursors() ([]store.ReplCursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cs []store.ReplCursor
	for _, c := range m.cursors {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b store.ReplCursor) int {
		if a.Origin < b.Origin {
			return -1
		}
		if a.Origin > b.Origin {
			return 1
		}
		return 0
	})
	return cs, nil
}

// Skipped is how many entries ApplyRepl was given that it had applied
// before (a consumer not resuming from its cursor shows here).
func (m *MemStore) Skipped() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skipped
}

// Fetched is how many entries were applied without a stream sequence
// (they came by a fetch from their origin).
func (m *MemStore) Fetched() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetched
}

// Applied returns the entries applied from origin, in order (Stream
// cleared).
func (m *MemStore) Applied(origin string) []store.ReplEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.applied[origin])
}

// Cursor returns origin's cursor Seq.
func (m *MemStore) Cursor(origin string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[origin].Seq
}

// Own returns this box's own log.
func (m *MemStore) Own() []store.ReplEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.own)
}
