package store

import (
	"bytes"
	"context"
	"encoding/binary"
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

// Prune deletes closed records whose exit is before `before`, with their
// payments (and their orders: a pay notice repeated after that answers
// "unknown record"), in transactions of at most batch records, until none
// is left or ctx ends. It returns how many records it deleted.
func (db *DB) Prune(ctx context.Context, before time.Time, batch int) (n int, err error) {
	if batch <= 0 {
		batch = 500
	}
	limit := uint64(before.Unix())
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("store: prune: %w", err)
		}
		done := 0
		err := db.update("prune", func(tx *bolt.Tx) error {
			done = 0
			var ids []string
			var keys [][]byte
			c := tx.Bucket(bucketClosed).Cursor()
			for k, _ := c.First(); k != nil && len(ids) < batch; k, _ = c.Next() {
				if binary.BigEndian.Uint64(k) >= limit {
					break
				}
				ids = append(ids, string(k[8:]))
				keys = append(keys, append([]byte(nil), k...))
			}
			for i, id := range ids {
				var pays [][]byte
				var orders []string
				if err := eachPayment(tx, id, func(k []byte, p Payment) error {
					pays = append(pays, append([]byte(nil), k...))
					orders = append(orders, p.Order)
					return nil
				}); err != nil {
					return err
				}
				for j := range pays {
					if err := tx.Bucket(bucketPayments).Delete(pays[j]); err != nil {
						return err
					}
					if err := tx.Bucket(bucketOrders).Delete([]byte(orders[j])); err != nil {
						return err
					}
				}
				if err := tx.Bucket(bucketRecords).Delete([]byte(id)); err != nil {
					return err
				}
				if err := tx.Bucket(bucketClosed).Delete(keys[i]); err != nil {
					return err
				}
				done++
			}
			return nil
		})
		n += done
		if err != nil || done < batch {
			return n, err
		}
	}
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
// the open, lane and closed indexes match the records' states; every
// order points at its payment; every payment's record exists; the outbox
// indexes and counters match its messages. It returns nil or an error
// wrapping ErrInconsistent that lists every problem found.
func (db *DB) CheckConsistency() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	// A writable transaction (rolled back): bbolt's Check is only safe
	// beside concurrent writers in one.
	err := db.checkTx(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			bad("bbolt: %v", err)
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				bad("bucket %s missing", name)
			}
		}
		if len(errs) > 0 {
			return nil
		}
		checkRecords(tx, bad)
		checkPayments(tx, bad)
		checkOutbox(tx, bad)
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

func (db *DB) checkTx(fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return fmt.Errorf("store: check: %w", ErrClosed)
	}
	tx, err := db.bolt.Begin(true)
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

func checkRecords(tx *bolt.Tx, bad func(string, ...any)) {
	var open, vip uint64
	openPlate := tx.Bucket(bucketOpenPlate)
	lanes := tx.Bucket(bucketOpenLane)
	closed := tx.Bucket(bucketClosed)
	nLane, nClosed := 0, 0
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
			if id := openPlate.Get([]byte(r.Plate)); string(id) != r.ID {
				bad("open record %s: plate index %s → %q", r.ID, r.Plate, id)
			}
			if lanes.Get(laneKey(r.InCode, r.ID)) == nil {
				bad("open record %s: missing from lane index %d", r.ID, r.InCode)
			}
			nLane++
		} else {
			if closed.Get(closedKey(r.OutTime, r.ID)) == nil {
				bad("closed record %s: missing from retention index", r.ID)
			}
			nClosed++
		}
		return nil
	})
	_ = openPlate.ForEach(func(plate, id []byte) error {
		r, err := getRecord(tx, string(id))
		if err != nil || !r.State.Open() || r.Plate != string(plate) {
			bad("plate index %s → %s does not point to its open record", plate, id)
		}
		return nil
	})
	if n := lanes.Stats().KeyN; n != nLane {
		bad("lane index has %d entries, %d open records", n, nLane)
	}
	if n := closed.Stats().KeyN; n != nClosed {
		bad("retention index has %d entries, %d closed records", n, nClosed)
	}
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
		if pays.Get(payKey(string(rid), string(order))) == nil {
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
	nOrdered := 0
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
		if ordered(&m) {
			nOrdered++
			if outRec.Get(recKey(m.RecordID, m.Seq)) == nil {
				bad("message %d: missing from its record's order index", m.Seq)
			}
		}
		if kinds.Get(kindKey(m.Kind, m.Seq)) == nil {
			bad("message %d: missing from the kind index", m.Seq)
		}
		return nil
	})
	if got := outRec.Stats().KeyN; got != nOrdered {
		bad("record order index has %d entries, %d ordered messages", got, nOrdered)
	}
	if got := kinds.Stats().KeyN; uint64(got) != n {
		bad("kind index has %d entries, %d messages", got, n)
	}
	meta := tx.Bucket(bucketMeta)
	if got := getU64(meta, metaOutN); got != n {
		bad("outbox counter %d, %d messages", got, n)
	}
	if got := getU64(meta, metaOutBytes); got != size {
		bad("outbox bytes counter %d, %d bytes", got, size)
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
