package store

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The exit journal. An exit (Settle, CloseRecord) is decided and
// validated in its transaction as before, but what it changes — the
// record closed, its plate out of the open index, the open counters, the
// collected arrears, its uplinks and audit events — is written as one
// entry of the small journal bucket: the commit the barrier waits on
// writes the journal's page and the root, freelist and meta pages, not
// the paths of the records and open_plate trees (9–13 pages at 10k–100k
// open records, 3–4 for the journal). The entry is durable when Settle
// returns; the DB's applier goroutine then applies it to the indexed
// buckets and deletes it in one transaction. Every write transaction
// applies any pending entry first, in key order, and a read that finds
// one asks for the apply before it reads (db.go: view), so no caller
// ever sees the state before an exit it was told of. A crash between the
// two commits leaves the entry, applied by the next Open; the apply is
// one transaction with the entry's deletion, so an entry is applied
// exactly once.

const journalV = 1

// journalEntry is one exit to apply.
type journalEntry struct {
	V      int          `json:"v"`
	Record string       `json:"record"`
	Exit   Exit         `json:"exit"`
	Msgs   []Message    `json:"msgs,omitempty"`
	Audits []AuditEvent `json:"audits,omitempty"`
}

// errNoJournal rolls back an apply-only transaction that found nothing
// to apply: committing nothing would still cost an fsync.
var errNoJournal = errors.New("journal empty")

// journalExit validates the exit of old (open) with msgs as closeRecord
// and enqueue would, writes it as a journal entry and returns the record
// as it will be stored. Nothing else is written: see applyJournalTx.
func (db *DB) journalExit(tx *bolt.Tx, old *Record, exit Exit, msgs []Message) (*Record, error) {
	rec, err := closedRecord(old, exit)
	if err != nil {
		return nil, err
	}
	if err := checkRecord(rec); err != nil {
		return nil, err
	}
	arrears := tx.Bucket(bucketArrears)
	for _, a := range exit.Collected {
		if arrears.Get(arrearKey(a.Plate, a.RecordID)) == nil {
			return nil, fmt.Errorf("arrear of %s (record %s) collected by %s: %w", a.Plate, a.RecordID, old.ID, ErrNotFound)
		}
	}
	e := journalEntry{V: journalV, Record: old.ID, Exit: exit}
	now := db.opt.Now()
	for _, m := range msgs {
		if m.audit != nil {
			ev := *m.audit
			if ev.Kind == "" {
				return nil, fmt.Errorf("%w: audit event without kind", ErrInvalid)
			}
			if ev.Time.IsZero() {
				ev.Time = now
			}
			e.Audits = append(e.Audits, ev)
			continue
		}
		if err := checkMsg(&m); err != nil {
			return nil, err
		}
		if m.Created.IsZero() {
			m.Created = now
		}
		e.Msgs = append(e.Msgs, m)
	}
	b := tx.Bucket(bucketJournal)
	seq, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	if err := putJSON(b, u64(seq), e); err != nil {
		return nil, err
	}
	// The newest time is meta's, inline in the root page the commit
	// writes anyway: a restart must never stamp anything before this exit.
	return rec, bumpNewest(tx, rec.InTime, rec.OutTime)
}

// applyJournalTx applies every pending journal entry in tx, oldest first,
// and returns how many. An entry that cannot be applied (its record not
// open: impossible unless the file was edited) is dropped with an audit
// event and an ERROR log, so that it never blocks every later write.
func (db *DB) applyJournalTx(tx *bolt.Tx) (int, error) {
	b := tx.Bucket(bucketJournal)
	if b == nil { // a schema before the journal, while it is migrated
		return 0, nil
	}
	n := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		key := append([]byte(nil), k...)
		if err := db.applyEntry(tx, v); err != nil {
			if !errors.Is(err, errBadEntry) {
				return n, err
			}
			db.log.Error("store: journal entry dropped", "seq", u64be(key), "err", err)
			if err := db.audit(tx, AuditEvent{Kind: "fault", Detail: fmt.Sprintf("store: exit journal entry %d dropped: %v: %.400s", u64be(key), err, v)}); err != nil {
				return n, err
			}
		}
		if err := b.Delete(key); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 && db.opt.applyHook != nil {
		db.opt.applyHook(n)
	}
	return n, nil
}

// errBadEntry marks a journal entry that cannot be applied.
var errBadEntry = errors.New("journal entry cannot be applied")

func (db *DB) applyEntry(tx *bolt.Tx, v []byte) error {
	var e journalEntry
	if err := json.Unmarshal(v, &e); err != nil {
		return fmt.Errorf("%w: %v", errBadEntry, err)
	}
	old, err := getRecord(tx, e.Record)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadEntry, err)
	}
	if !old.State.Open() {
		return fmt.Errorf("%w: record %s is %s", errBadEntry, old.ID, old.State)
	}
	if _, err := closeRecord(tx, old, e.Exit); err != nil {
		return err
	}
	for _, ev := range e.Audits {
		if err := db.audit(tx, ev); err != nil {
			return err
		}
	}
	for _, m := range e.Msgs {
		if _, err := db.enqueueOne(tx, m); err != nil {
			return err
		}
	}
	return nil
}

// journalPending reports whether tx sees an entry not yet applied.
func journalPending(tx *bolt.Tx) bool {
	b := tx.Bucket(bucketJournal)
	if b == nil {
		return false
	}
	k, _ := b.Cursor().First()
	return k != nil
}

// applyJournal applies the pending entries in a transaction of their own
// (nothing is committed when there are none).
func (db *DB) applyJournal() error {
	err := db.updateWith("apply journal", true, func(*bolt.Tx) error { return nil })
	if errors.Is(err, errNoJournal) {
		return nil
	}
	return err
}

// applier applies the journal whenever an exit was journaled, until
// Close. Its failures are logged; the entries stay until a later write,
// read or start applies them.
func (db *DB) applier() {
	defer close(db.applied)
	for {
		select {
		case <-db.stop:
			return
		case <-db.kickApply:
			if err := db.applyJournal(); err != nil && !errors.Is(err, ErrClosed) {
				db.log.Warn("store: exit journal not applied yet", "err", err)
			}
		}
	}
}

// wakeApplier asks the applier to apply the journal soon.
func (db *DB) wakeApplier() {
	select {
	case db.kickApply <- struct{}{}:
	default:
	}
}
