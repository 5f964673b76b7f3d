package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Summary returns the open-record counts (kept as counters, no scan) and
// the file's size and free space.
func (db *DB) Summary() (Summary, error) {
	var s Summary
	err := db.view("summary", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		s.Open = int(getU64(meta, metaOpenN))
		s.OpenVIP = int(getU64(meta, metaOpenVIP))
		s.OpenTemp = s.Open - s.OpenVIP
		s.Records = tx.Bucket(bucketRecords).Stats().KeyN
		s.FileBytes = tx.Size()
		return nil
	})
	st := db.bolt.Stats()
	s.FreeBytes = int64(st.FreePageN) * int64(db.bolt.Info().PageSize)
	return s, err
}

// PagesWritten counts the pages written since the file was opened, meta
// pages included: a commit's fsync cost grows with the pages it writes, so
// a benchmark divides it by its commits.
func (db *DB) PagesWritten() int64 {
	st := db.bolt.Stats()
	return st.TxStats.GetWrite()
}

// Prune deletes closed records whose exit is before `before`, with their
// payments (and their orders: a pay notice repeated after that answers
// "unknown record"), in transactions of at most batch records, until none
// is left or ctx ends. It returns how many records it deleted. With a
// box it then prunes the replication log too (PruneRepl).
//
// There is no retention index (it would cost every exit commit pages of
// its own): Prune walks the records bucket in key order (entry time, for
// IDs from NewRecordID) in read transactions of at most pruneScan
// records, which hold up no writer, and deletes what it found in a write
// transaction that checks each record again. A walk over 100k records
// decodes each once; Prune runs hourly.
func (db *DB) Prune(ctx context.Context, before time.Time, batch int) (n int, err error) {
	if batch <= 0 {
		batch = 500
	}
	var after []byte // the last key walked; nil: from the start
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("store: prune: %w", err)
		}
		var ids []string
		end := false
		if err := db.view("prune", func(tx *bolt.Tx) error {
			ids, after, end = pruneCandidates(tx, after, before, batch)
			return nil
		}); err != nil {
			return n, err
		}
		if len(ids) > 0 {
			done := 0
			err := db.update("prune", func(tx *bolt.Tx) error {
				done = 0
				for _, id := range ids {
					ok, err := pruneRecord(tx, id, before)
					if err != nil {
						return err
					}
					if ok {
						done++
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += done
		}
		if end {
			if _, err := db.PruneRepl(ctx, batch); err != nil {
				return n, err
			}
			return n, nil
		}
	}
}

// pruneScan bounds the records one read transaction of Prune walks.
const pruneScan = 4096

// retention is the part of a record Prune looks at.
type retention struct {
	State   State     `json:"state"`
	OutTime time.Time `json:"out_time,omitzero"`
}

// expired: closed with an exit before `before`. A closed record without
// an exit time is kept (its exit is not known to be before anything).
func (r retention) expired(before time.Time) bool {
	return r.State == StateClosed && !r.OutTime.IsZero() && r.OutTime.Before(before)
}

// pruneCandidates walks the records after the key `after` (nil: from the
// first) and returns up to batch IDs of closed records whose exit is
// before `before`, the last key walked, and whether it reached the end.
func pruneCandidates(tx *bolt.Tx, after []byte, before time.Time, batch int) (ids []string, last []byte, end bool) {
	c := tx.Bucket(bucketRecords).Cursor()
	var k, v []byte
	if after == nil {
		k, v = c.First()
	} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for walked := 0; k != nil; k, v = c.Next() {
		if walked == pruneScan || len(ids) == batch {
			return ids, last, false
		}
		walked++
		last = append(last[:0], k...)
		if maybeExpired(v, before) {
			ids = append(ids, string(k))
		}
	}
	return ids, last, true
}

// maybeExpired tells from a record's JSON, without decoding all of it,
// whether it may be closed with an exit before `before`; pruneRecord
// decodes the candidates. encoding/json writes `"state":3` and
// `"out_time":"<RFC 3339>"` without spaces, and a quote inside a string
// value is escaped, so these keys cannot be faked by a note.
func maybeExpired(v []byte, before time.Time) bool {
	i := bytes.Index(v, []byte(`"state":3`))
	if i < 0 || i+9 >= len(v) || (v[i+9] != ',' && v[i+9] != '}') {
		return false // open (or undecodable: CheckConsistency reports it)
	}
	const key = `"out_time":"`
	if j := bytes.Index(v, []byte(key)); j >= 0 {
		rest := v[j+len(key):]
		if e := bytes.IndexByte(rest, '"'); e > 0 {
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:e])); err == nil {
				return t.Before(before)
			}
		}
	}
	var r retention
	return json.Unmarshal(v, &r) == nil && r.expired(before)
}

// pruneRecord deletes record id with its payments and orders if it is
// (still) closed with an exit before `before`.
func pruneRecord(tx *bolt.Tx, id string, before time.Time) (bool, error) {
	v := tx.Bucket(bucketRecords).Get([]byte(id))
	var r retention
	if v == nil || json.Unmarshal(v, &r) != nil || !r.expired(before) {
		return false, nil
	}
	var pays [][]byte
	var orders []string
	if err := eachPayment(tx, id, func(k []byte, p Payment) error {
		pays = append(pays, append([]byte(nil), k...))
		orders = append(orders, p.Order)
		return nil
	}); err != nil {
		return false, err
	}
	for j := range pays {
		if err := tx.Bucket(bucketPayments).Delete(pays[j]); err != nil {
			return false, err
		}
		if err := tx.Bucket(bucketOrders).Delete([]byte(orders[j])); err != nil {
			return false, err
		}
	}
	if err := pruneAliases(tx, id); err != nil {
		return false, err
	}
	return true, tx.Bucket(bucketRecords).Delete([]byte(id))
}

// Compact copies the store file src into a new, compacted file dst (which
// must not exist). Run it offline: src must not be open.
func Compact(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("store: compact: %s: %w", dst, os.ErrExist)
	}
	from, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("store: compact: open %s: %w", src, err)
	}
	defer from.Close()
	to, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("store: compact: create %s: %w", dst, err)
	}
	if err := bolt.Compact(to, from, 16<<20); err != nil {
		_ = to.Close()
		return fmt.Errorf("store: compact: %w", err)
	}
	if err := to.Close(); err != nil {
		return fmt.Errorf("store: compact: close %s: %w", dst, err)
	}
	return nil
}

// CheckConsistency runs bbolt's page check and the store's invariants:
// the plate index and the open counters match the records' states; every
// order points at its payment; every payment's record exists; the outbox
// indexes (record order, droppable kinds) and counters (count, bytes, per
// kind) match its messages; the audit ring has no gap; no bucket of an
// older schema is left; a site's log is keyed by its entries' seqs, none
// beyond its head, the published mark not beyond it either, and no
// payment waits for a record that is there. It returns nil or an error
// wrapping ErrInconsistent that lists every problem found.
func (db *DB) CheckConsistency() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	// A writable transaction (rolled back): bbolt's Check is only safe
	// beside concurrent writers in one.
	err := db.checkTx(func(tx *bolt.Tx) error {
		checkAll(tx, bad)
		return nil
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("store: check: %w: %w", ErrInconsistent, errors.Join(errs...))
	}
	return nil
}

// checkAll runs bbolt's page check, then, on sound pages, the store's
// invariants.
func checkAll(tx *bolt.Tx, bad func(string, ...any)) {
	n := 0
	for err := range tx.Check() {
		bad("bbolt: %v", err)
		n++
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			bad("bucket %s missing", name)
			n++
		}
	}
	for _, name := range [][]byte{bucketOpenLaneV1, bucketClosedV1} {
		if tx.Bucket(name) != nil {
			bad("bucket %s of schema 1 left over", name)
			n++
		}
	}
	if n > 0 {
		return
	}
	checkRecords(tx, bad)
	checkPayments(tx, bad)
	checkOutbox(tx, bad)
	checkAudit(tx, bad)
	checkRepl(tx, bad)
}

func (db *DB) checkTx(fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return fmt.Errorf("store: check: %w", ErrClosed)
	}
	return db.guard("check", true, func() error {
		tx, err := db.bolt.Begin(true)
		if err != nil {
			return fmt.Errorf("store: check: %w", err)
		}
		defer func() { _ = tx.Rollback() }()
		return fn(tx)
	})
}

func checkRecords(tx *bolt.Tx, bad func(string, ...any)) {
	var open, vip uint64
	openPlate := tx.Bucket(bucketOpenPlate)
	_ = tx.Bucket(bucketRecords).ForEach(func(k, _ []byte) error {
		r, err := getRecord(tx, string(k))
		if err != nil {
			bad("record %q: %v", k, err)
			return nil
		}
		if r.ID != string(k) {
			bad("record under key %q has id %q", k, r.ID)
		}
		if r.State.Open() {
			open++
			if r.AuthType == AuthVIP {
				vip++
			}
			if id := openPlate.Get(openPlateKey(r.Plate)); string(id) != r.ID {
				bad("open record %s: plate index %s → %q", r.ID, r.Plate, id)
			}
		}
		return nil
	})
	_ = openPlate.ForEach(func(k, id []byte) error {
		plate := plateOfKey(k)
		r, err := getRecord(tx, string(id))
		if err != nil || !r.State.Open() || r.Plate != plate || !bytes.Equal(k, openPlateKey(plate)) {
			bad("plate index %s → %s does not point to its open record", plate, id)
		}
		return nil
	})
	meta := tx.Bucket(bucketMeta)
	if got := getU64(meta, metaOpenN); got != open {
		bad("open counter %d, %d open records", got, open)
	}
	if got := getU64(meta, metaOpenVIP); got != vip {
		bad("VIP counter %d, %d open VIP records", got, vip)
	}
}

func checkPayments(tx *bolt.Tx, bad func(string, ...any)) {
	pays := tx.Bucket(bucketPayments)
	recs := tx.Bucket(bucketRecords)
	_ = tx.Bucket(bucketOrders).ForEach(func(order, rid []byte) error {
		if pays.Get(payKey(string(rid), string(order))) == nil && !aliased(tx, string(rid), string(order)) {
			bad("order %s → record %s has no payment", order, rid)
		}
		return nil
	})
	_ = pays.ForEach(func(k, _ []byte) error {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			bad("payment key %q malformed", k)
			return nil
		}
		if recs.Get(k[:i]) == nil {
			bad("payment %q of a missing record", k)
		}
		if tx.Bucket(bucketOrders).Get(k[i+1:]) == nil {
			bad("payment %q missing from the order index", k)
		}
		return nil
	})
}

func checkOutbox(tx *bolt.Tx, bad func(string, ...any)) {
	var n, size uint64
	nOrdered, nDroppable := 0, 0
	byKind := map[string]uint64{}
	outRec := tx.Bucket(bucketOutRecord)
	kinds := tx.Bucket(bucketOutKind)
	_ = tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
		n++
		size += uint64(len(v))
		m, err := decodeMsg(v)
		if err != nil {
			bad("message %x: %v", k, err)
			return nil
		}
		if m.Seq != u64be(k) {
			bad("message under key %d has seq %d", u64be(k), m.Seq)
		}
		if int64(u64be(v[:8])) != unixNano(m.Due) {
			bad("message %d: due prefix differs from its due time", m.Seq)
		}
		byKind[m.Kind]++
		if ordered(&m) {
			nOrdered++
			if outRec.Get(recKey(m.RecordID, m.Seq)) == nil {
				bad("message %d: missing from its record's order index", m.Seq)
			}
		}
		if Droppable(m.Kind) {
			nDroppable++
			if kinds.Get(kindKey(m.Kind, m.Seq)) == nil {
				bad("message %d: missing from the kind index", m.Seq)
			}
		}
		return nil
	})
	if got := outRec.Stats().KeyN; got != nOrdered {
		bad("record order index has %d entries, %d ordered messages", got, nOrdered)
	}
	if got := kinds.Stats().KeyN; got != nDroppable {
		bad("kind index has %d entries, %d droppable messages", got, nDroppable)
	}
	meta := tx.Bucket(bucketMeta)
	if got := getU64(meta, metaOutN); got != n {
		bad("outbox counter %d, %d messages", got, n)
	}
	if got := getU64(meta, metaOutBytes); got != size {
		bad("outbox bytes counter %d, %d bytes", got, size)
	}
	c := meta.Cursor()
	for k, v := c.Seek(metaKindN); k != nil && bytes.HasPrefix(k, metaKindN); k, v = c.Next() {
		kind := string(k[len(metaKindN):])
		if got := u64be(v); got != byKind[kind] || got == 0 {
			bad("kind counter %s is %d, %d messages", kind, got, byKind[kind])
		}
		delete(byKind, kind)
	}
	for kind, want := range byKind {
		bad("kind counter %s missing, %d messages", kind, want)
	}
}

// checkAudit: the ring holds consecutive sequence numbers (it is trimmed
// from the oldest only). Its length is not checked: it depends on the
// AuditMax of the process that wrote it.
func checkAudit(tx *bolt.Tx, bad func(string, ...any)) {
	b := tx.Bucket(bucketAudit)
	first, _ := b.Cursor().First()
	last, _ := b.Cursor().Last()
	if first == nil {
		return
	}
	n := uint64(b.Stats().KeyN)
	if span := u64be(last) - u64be(first) + 1; span != n {
		bad("audit ring holds %d events over %d sequence numbers", n, span)
	}
}

// Occupancy counts the open records from the meta counters alone: cheap
// enough for every entry decision (Summary also walks the records bucket).
func (db *DB) Occupancy() (open, openVIP int, err error) {
	err = db.view("occupancy", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		open = int(getU64(meta, metaOpenN))
		openVIP = int(getU64(meta, metaOpenVIP))
		return nil
	})
	return open, openVIP, err
}
