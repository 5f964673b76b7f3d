package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/internal/atomicfile"
)

// Salvage: a damaged file is read page by page (pages.go) and everything
// readable is written through the store's own code into a fresh file,
// whose indexes and counters are rebuilt from the salvaged records and
// messages (never copied). The damaged file is kept aside.

// What a salvage counts, in SalvageReport.Kept and Lost.
const (
	KindRecords  = "records"
	KindPayments = "payments"
	KindBindings = "bindings"
	KindVehicles = "vehicles"
	KindOutbox   = "outbox"
	KindDead     = "dead_letters"
	KindAudit    = "audit"
)

var salvageKinds = []string{KindRecords, KindPayments, KindBindings, KindVehicles, KindOutbox, KindDead, KindAudit}

// SalvageReport says what a salvage kept and what it lost.
type SalvageReport struct {
	Reason     string         // why the file was salvaged
	MovedAside string         // where the damaged file is kept
	Kept       map[string]int // entries copied, by kind (KindRecords…)
	Lost       map[string]int // entries seen but unusable (undecodable, invalid, duplicate), by kind
	// BadPages lists the pages that could not be read, each with its
	// bucket: what was on them (and beneath them, for a branch page) is
	// lost and not counted in Lost, which cannot know how much it was.
	BadPages []string
	// Recovered lists the leaf pages a bad branch page had cut off from
	// their tree and whose entries were recovered all the same.
	Recovered []string
	// OutboxBefore is the damaged file's own count of queued messages
	// (-1 when its counter was unreadable): Kept[KindOutbox] of it survived.
	OutboxBefore int
	Notes        []string // what was changed to keep the invariants
}

// String is one line for a log or an audit event.
func (r SalvageReport) String() string {
	var b strings.Builder
	b.WriteString("kept")
	for _, k := range salvageKinds {
		fmt.Fprintf(&b, " %s=%d", k, r.Kept[k])
	}
	b.WriteString("; lost")
	for _, k := range salvageKinds {
		fmt.Fprintf(&b, " %s=%d", k, r.Lost[k])
	}
	if n, l := r.Kept[KindRepl], r.Lost[KindRepl]; n+l > 0 {
		fmt.Fprintf(&b, "; replication kept=%d lost=%d", n, l)
	}
	fmt.Fprintf(&b, "; %d bad pages, %d cut-off pages recovered", len(r.BadPages), len(r.Recovered))
	if r.OutboxBefore >= 0 {
		fmt.Fprintf(&b, "; outbox held %d before", r.OutboxBefore)
	}
	if len(r.BadPages) > 0 {
		b.WriteString(" (" + strings.Join(r.BadPages[:min(len(r.BadPages), 5)], "; ") + ")")
	}
	return b.String()
}

// salvageBatch bounds the entries one transaction of the new file takes.
const salvageBatch = 2000

// salvage copies what is readable of the locked file f at path into a
// fresh file, moves f's file aside and puts the fresh one at path.
func salvage(f *os.File, path, reason string, opt Options) (SalvageReport, error) {
	rep := SalvageReport{Reason: reason, Kept: map[string]int{}, Lost: map[string]int{}, OutboxBefore: -1}
	pf, err := openPages(f)
	if err != nil {
		return rep, err
	}
	w := newWalker(pf, time.Time{}, opt.Now)
	if free, err := w.freelist(); err == nil {
		w.free = free
	}
	// Which buckets exist comes from the tree of buckets; what a damaged
	// branch cut off, from the pages nothing reaches.
	roots := map[string][]byte{}
	w.tree("(root)", pf.meta.root, nil, nil, 0, func(e leafElem) {
		if e.flags&leafBucket != 0 {
			roots[string(e.k)] = slices.Clone(e.v)
		}
	})
	// The damaged file's meta: its schema and the counters that are not
	// rebuilt from the data.
	oldMeta := map[string][]byte{}
	if bv, ok := roots[string(bucketMeta)]; ok {
		w.bucket(string(bucketMeta), bv, func(e leafElem) { oldMeta[string(e.k)] = slices.Clone(e.v) })
	}
	if v := oldMeta[string(metaSchema)]; len(v) == 8 && binary.BigEndian.Uint64(v) > currentSchema {
		return rep, fmt.Errorf("%w: file schema %d", ErrNewerSchema, binary.BigEndian.Uint64(v))
	}
	if v := oldMeta[string(metaOutN)]; len(v) == 8 {
		rep.OutboxBefore = int(binary.BigEndian.Uint64(v))
	}
	orphans := orphanLeaves(pf, w.free, roots)

	tmp := path + ".salvage-tmp"
	_ = os.Remove(tmp)
	nopt := opt
	nopt.Logger, nopt.CheckTimeout = slog.New(slog.DiscardHandler), -1
	ndb, _, err := Open(tmp, nopt)
	if err != nil {
		return rep, err
	}
	s := &salvager{db: ndb, rep: &rep, log: opt.Logger, maxSeq: map[string]uint64{}, seqs: map[string]uint64{}}
	for _, step := range []struct {
		bucket []byte
		fn     func(tx *bolt.Tx, k, v []byte) error
		kind   string
	}{
		{bucketRecords, s.record, KindRecords},
		{bucketPayments, s.payment, KindPayments},
		{bucketBindings, s.binding, KindBindings},
		{bucketVehicles, s.vehicle, KindVehicles},
		{bucketOutbox, s.message, KindOutbox},
		{bucketDead, s.dead, KindDead},
		{bucketAudit, s.auditEvent, KindAudit},
		// A site's replication state (repl_salvage.go).
		{bucketRepl, s.replEntry, KindRepl},
		{bucketReplCursor, s.replRaw(bucketReplCursor), KindRepl},
		{bucketReplShadow, s.replShadow, KindRepl},
		{bucketReplStamp, s.replRaw(bucketReplStamp), KindRepl},
		{bucketReplPending, s.replRaw(bucketReplPending), KindRepl},
		{bucketReplAlias, s.replAlias, KindRepl},
	} {
		bv, ok := roots[string(step.bucket)]
		orph := orphans[string(step.bucket)]
		if !ok && len(orph) == 0 {
			continue
		}
		var batch, all [][2][]byte
		flush := func() {
			if len(batch) == 0 || err != nil {
				return
			}
			err = ndb.update("salvage "+step.kind, func(tx *bolt.Tx) error {
				for _, kv := range batch {
					if e := step.fn(tx, kv[0], kv[1]); e != nil {
						rep.Lost[step.kind]++
						s.note(step.kind, kv[0], e)
						continue
					}
					rep.Kept[step.kind]++
				}
				return nil
			})
			batch = batch[:0]
		}
		add := func(kv [2][]byte) {
			batch = append(batch, kv)
			if len(batch) == salvageBatch {
				flush()
			}
		}
		emit := func(e leafElem) {
			if e.flags&leafBucket != 0 {
				return // the schema has no nested buckets
			}
			kv := [2][]byte{slices.Clone(e.k), slices.Clone(e.v)}
			if len(orph) > 0 {
				all = append(all, kv) // merged with the orphans below
			} else {
				add(kv)
			}
		}
		if ok {
			w.bucket(string(step.bucket), bv, emit)
		}
		for _, id := range orph {
			if p, perr := pf.page(id); perr == nil {
				if els, perr := parseLeaf(id, p); perr == nil {
					rep.Recovered = append(rep.Recovered, fmt.Sprintf("%s: page %d (%d entries)", step.bucket, id, len(els)))
					for _, e := range els {
						emit(e)
					}
				}
			}
		}
		// Key order (the audit ring is renumbered in it); the tree's copy
		// of a key comes first and wins.
		slices.SortStableFunc(all, func(a, b [2][]byte) int { return bytes.Compare(a[0], b[0]) })
		for i, kv := range all {
			if i == 0 || !bytes.Equal(all[i-1][0], kv[0]) {
				add(kv)
			}
		}
		flush()
		if err != nil {
			break
		}
		if len(bv) >= 16 {
			s.seqs[string(step.bucket)] = binary.NativeEndian.Uint64(bv[8:])
		}
	}
	for _, b := range w.bad {
		rep.BadPages = append(rep.BadPages, fmt.Sprintf("%s: %v", b.bucket, b.err))
	}
	if err == nil {
		err = ndb.update("salvage meta", func(tx *bolt.Tx) error { return s.finish(tx, oldMeta) })
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, opt.Now().UTC().Format("20060102T150405"))
	rep.MovedAside = aside
	if err == nil {
		err = ndb.Audit(AuditEvent{Kind: "fault", Detail: "store salvaged (" + reason + "), damaged file kept as " + aside + ": " + rep.String()})
	}
	if cerr := ndb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return rep, fmt.Errorf("salvage into %s: %w", tmp, err)
	}
	// Keep the damaged file under its new name first (a hard link), then
	// replace it atomically: a crash in between leaves the damaged file in
	// place, to be salvaged again, never no file at all.
	if err := os.Link(path, aside); err != nil {
		if err := os.Rename(path, aside); err != nil {
			_ = os.Remove(tmp)
			return rep, fmt.Errorf("move damaged file aside: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return rep, fmt.Errorf("put salvaged file in place: %w", err)
	}
	_ = atomicfile.SyncDir(filepath.Dir(path))
	return rep, nil
}

// salvager writes salvaged entries into the new file.
type salvager struct {
	db     *DB
	rep    *SalvageReport
	log    *slog.Logger
	idSeq  uint64            // highest record sequence seen in a record_id
	maxSeq map[string]uint64 // highest key per sequenced bucket
	seqs   map[string]uint64 // the damaged buckets' own sequences
}

func (s *salvager) note(kind string, k []byte, err error) {
	s.log.Warn("salvage: entry not kept", "kind", kind, "key", fmt.Sprintf("%q", k), "err", err)
}

func (s *salvager) seen(bucket []byte, seq uint64) {
	s.maxSeq[string(bucket)] = max(s.maxSeq[string(bucket)], seq)
}

func (s *salvager) record(tx *bolt.Tx, _, v []byte) error {
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return err
	}
	if err := checkRecord(&r); err != nil {
		return err
	}
	if tx.Bucket(bucketRecords).Get([]byte(r.ID)) != nil {
		return fmt.Errorf("record %s: %w (a second copy)", r.ID, ErrExists)
	}
	if r.State.Open() {
		if other := tx.Bucket(bucketOpenPlate).Get(openPlateKey(r.Plate)); other != nil {
			// Two open records of one plate: the index can hold one.
			r.State = StateClosed
			r.Note = strings.TrimSpace(r.Note + " closed by salvage: plate had open record " + string(other))
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("record %s closed: plate %s had open record %s", r.ID, r.Plate, other))
		}
	}
	if len(r.ID) == 26 || (s.db.opt.Box != "" && len(r.ID) == 26+len(s.db.opt.Box) && r.ID[14:14+len(s.db.opt.Box)] == s.db.opt.Box) {
		if n, err := strconv.ParseUint(r.ID[len(r.ID)-9:], 10, 64); err == nil {
			s.idSeq = max(s.idSeq, n)
		}
	}
	if err := putRecord(tx, nil, &r); err != nil {
		return err
	}
	return indexNoEntry(tx, &r) // the pending no-entry index, rebuilt
}

func (s *salvager) payment(tx *bolt.Tx, k, v []byte) error {
	var p Payment
	if err := json.Unmarshal(v, &p); err != nil {
		return err
	}
	if p.Order == "" || string(k) != string(payKey(p.RecordID, p.Order)) {
		return fmt.Errorf("%w: payment %q under key %q", ErrInvalid, p.Order, k)
	}
	if tx.Bucket(bucketRecords).Get([]byte(p.RecordID)) == nil {
		// Money whose record is lost: say it loudly, with what an
		// operator needs to settle it by hand.
		s.log.Error("salvage: payment of a lost record not kept", "order", p.Order, "record_id", p.RecordID,
			"plate", p.Plate, "amount_fen", p.Amount, "pay_time", p.PayTime.Unix())
		return fmt.Errorf("payment %s: record %s: %w", p.Order, p.RecordID, ErrNotFound)
	}
	if tx.Bucket(bucketOrders).Get([]byte(p.Order)) != nil {
		return fmt.Errorf("payment %s: %w (a second copy)", p.Order, ErrAlreadyRecorded)
	}
	if err := tx.Bucket(bucketPayments).Put(k, v); err != nil {
		return err
	}
	if err := tx.Bucket(bucketOrders).Put([]byte(p.Order), []byte(p.RecordID)); err != nil {
		return err
	}
	return bumpNewest(tx, p.PayTime)
}

func (s *salvager) binding(tx *bolt.Tx, k, v []byte) error {
	var b Binding
	if err := json.Unmarshal(v, &b); err != nil {
		return err
	}
	if b.Plate != string(k) || !validKey(b.Plate, 64) {
		return fmt.Errorf("%w: binding %q under key %q", ErrInvalid, b.Plate, k)
	}
	return tx.Bucket(bucketBindings).Put(k, v)
}

func (s *salvager) vehicle(tx *bolt.Tx, k, v []byte) error {
	var x Vehicle
	if err := json.Unmarshal(v, &x); err != nil {
		return err
	}
	if !validKey(x.Plate, 64) || string(k) != string(vehicleKey(x.Plate, x.List)) {
		return fmt.Errorf("%w: vehicle %q under key %q", ErrInvalid, x.Plate, k)
	}
	return tx.Bucket(bucketVehicles).Put(k, v)
}

// message keeps the message's own sequence number: the order of the
// outbox (and so of each record's uplinks) is the order of the old one.
func (s *salvager) message(tx *bolt.Tx, k, v []byte) error {
	m, err := decodeMsg(v)
	if err != nil {
		return err
	}
	if m.Seq == 0 || m.Seq != u64be(k) || !validKey(m.Kind, 64) || m.RecordID != "" && !validKey(m.RecordID, MaxRecordID) {
		return fmt.Errorf("%w: message %d (%s) under key %x", ErrInvalid, m.Seq, m.Kind, k)
	}
	if tx.Bucket(bucketOutbox).Get(k) != nil {
		return fmt.Errorf("message %d: %w (a second copy)", m.Seq, ErrExists)
	}
	s.seen(bucketOutbox, m.Seq)
	return putMsg(tx, &m, 0)
}

func (s *salvager) dead(tx *bolt.Tx, k, v []byte) error {
	var m Message
	if err := json.Unmarshal(v, &m); err != nil {
		return err
	}
	if len(k) != 8 {
		return fmt.Errorf("%w: dead letter key %x", ErrInvalid, k)
	}
	return tx.Bucket(bucketDead).Put(k, v)
}

// auditEvent appends the event anew: the ring's sequence has no gap
// where a page was lost, and the order is kept.
func (s *salvager) auditEvent(tx *bolt.Tx, _, v []byte) error {
	var ev AuditEvent
	if err := json.Unmarshal(v, &ev); err != nil {
		return err
	}
	return s.db.audit(tx, ev)
}

// finish writes the counters that are not rebuilt from the data: the
// record sequence (never hand out an ID twice), the newest time, the
// outbox sequence (never reuse a sequence number of a message the
// platform may have seen) and the lifetime counters.
func (s *salvager) finish(tx *bolt.Tx, old map[string][]byte) error {
	meta := tx.Bucket(bucketMeta)
	seq := max(s.idSeq, u64be(old[string(metaIDSeq)]))
	if err := putU64(meta, metaIDSeq, seq); err != nil {
		return err
	}
	if err := putU64(meta, metaNewest, max(getU64(meta, metaNewest), u64be(old[string(metaNewest)]))); err != nil {
		return err
	}
	for _, k := range [][]byte{metaDeadTotal, metaEvicted, metaOverfull} {
		if err := putU64(meta, k, u64be(old[string(k)])); err != nil {
			return err
		}
	}
	if v := old[string(metaLastError)]; v != nil {
		if err := meta.Put(metaLastError, v); err != nil {
			return err
		}
	}
	ob := tx.Bucket(bucketOutbox)
	if err := ob.SetSequence(max(ob.Sequence(), s.maxSeq[string(bucketOutbox)], s.seqs[string(bucketOutbox)])); err != nil {
		return err
	}
	return s.finishRepl(tx, old)
}

// errSalvageNeeded is the reason given when a marker left by ErrCorrupt
// asks for a salvage.
var errSalvageNeeded = errors.New("a library panic was caught while the store ran")
