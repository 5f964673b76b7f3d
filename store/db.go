package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DB is the store: one bbolt file. Its methods are safe for concurrent
// use; each mutating method is one bbolt write transaction, fsynced
// before it returns.
type DB struct {
	bolt   *bolt.DB
	opt    Options
	log    *slog.Logger
	path   string
	idSeq  atomic.Uint64 // highest record sequence handed out (NewRecordID)
	newest atomic.Int64  // NewestTime, unix seconds
	closed atomic.Bool
}

// Open opens (or creates) the store file at path.
//
// A file that is not a valid bbolt file (garbage, truncated, both meta
// pages bad) is renamed to path+".corrupt-<UTC time>" and a fresh file is
// created; the report says so (and it is logged). A file written by a newer
// schema is refused with ErrNewerSchema and left alone. A file held by
// another process gives ErrLocked after opt.LockTimeout.
func Open(path string, opt Options) (*DB, OpenReport, error) {
	opt = opt.withDefaults()
	var rep OpenReport
	for attempt := 0; ; attempt++ {
		reason, err := precheck(path, opt.LockTimeout)
		if err != nil {
			return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
		}
		if reason == "" {
			db, fresh, err := openChecked(path, opt, &rep)
			if err == nil {
				rep.Created = fresh
				return db, rep, nil
			}
			var c corruptError
			if !errors.As(err, &c) || attempt > 0 {
				return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
			}
			reason = c.reason
		}
		if attempt > 0 {
			return nil, rep, fmt.Errorf("store: open %s: fresh file is corrupt too: %s", path, reason)
		}
		aside := fmt.Sprintf("%s.corrupt-%s", path, opt.Now().UTC().Format("20060102T150405"))
		if err := os.Rename(path, aside); err != nil {
			return nil, rep, fmt.Errorf("store: open %s: move corrupt file aside: %w", path, err)
		}
		syncDir(filepath.Dir(path))
		rep.MovedAside, rep.Reason = aside, reason
		opt.Logger.Error("store file corrupt; moved aside, starting a fresh one",
			"path", path, "moved_to", aside, "reason", reason)
	}
}

// corruptError marks a failure that means "this is not a usable file".
type corruptError struct{ reason string }

func (c corruptError) Error() string { return "corrupt file: " + c.reason }

// openChecked opens with bbolt and brings the schema up to date. Faults
// and panics from a damaged file become corruptError.
func openChecked(path string, opt Options, rep *OpenReport) (db *DB, fresh bool, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var bdb *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			if bdb != nil {
				_ = closeQuietly(bdb)
			}
			db, err = nil, corruptError{fmt.Sprint("panic while opening: ", r)}
		}
	}()
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, false, ErrLocked
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrChecksum):
		return nil, false, corruptError{err.Error()}
	case err != nil:
		return nil, false, err
	}
	db = &DB{bolt: bdb, opt: opt, log: opt.Logger, path: path}
	var idSeq uint64
	var newest int64
	err = bdb.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var from uint64
		if meta != nil {
			from = getU64(meta, metaSchema)
		} else {
			k, _ := tx.Cursor().First()
			fresh = k == nil // no bucket at all
		}
		rep.FromSchema = from
		if from > currentSchema {
			return fmt.Errorf("%w: file schema %d, this build knows up to %d", ErrNewerSchema, from, currentSchema)
		}
		for v := from; v < currentSchema; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d→%d: %w", v, v+1, err)
			}
		}
		meta = tx.Bucket(bucketMeta)
		if err := putU64(meta, metaSchema, currentSchema); err != nil {
			return err
		}
		rep.Schema = currentSchema
		idSeq = getU64(meta, metaIDSeq)
		newest = int64(getU64(meta, metaNewest))
		return nil
	})
	if err != nil {
		_ = bdb.Close()
		return nil, false, err
	}
	db.idSeq.Store(idSeq)
	db.newest.Store(newest)
	if rep.FromSchema != currentSchema && !fresh {
		opt.Logger.Info("store schema migrated", "path", path, "from", rep.FromSchema, "to", currentSchema)
	}
	return db, fresh, nil
}

func closeQuietly(b *bolt.DB) (err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("panic on close")
		}
	}()
	return b.Close()
}

// Close closes the file. Further calls return ErrClosed.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// NewestTime is the newest time ever stored (entry, exit or payment). A
// daemon whose clock is unset must never stamp anything earlier.
func (db *DB) NewestTime() time.Time {
	s := db.newest.Load()
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// update runs fn in one write transaction.
func (db *DB) update(op string, fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return fmt.Errorf("store: %s: %w", op, ErrClosed)
	}
	var newest int64
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if db.opt.FailCommit != nil {
			if err := db.opt.FailCommit(op); err != nil {
				return err
			}
		}
		newest = int64(getU64(tx.Bucket(bucketMeta), metaNewest))
		return nil
	})
	if err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			err = ErrClosed
		}
		return fmt.Errorf("store: %s: %w", op, err)
	}
	for {
		cur := db.newest.Load()
		if newest <= cur || db.newest.CompareAndSwap(cur, newest) {
			break
		}
	}
	return nil
}

// view runs fn in one read transaction.
func (db *DB) view(op string, fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return fmt.Errorf("store: %s: %w", op, ErrClosed)
	}
	if err := db.bolt.View(fn); err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			err = ErrClosed
		}
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// bumpNewest raises the stored newest time to the latest of ts.
func bumpNewest(tx *bolt.Tx, ts ...time.Time) error {
	meta := tx.Bucket(bucketMeta)
	cur := int64(getU64(meta, metaNewest))
	max := cur
	for _, t := range ts {
		if !t.IsZero() && t.Unix() > max {
			max = t.Unix()
		}
	}
	if max == cur {
		return nil
	}
	return putU64(meta, metaNewest, uint64(max))
}

// ---- schema ----

// migrations[v] migrates a file from schema v to v+1. Append only; never
// edit a released step. All steps run in one transaction: a crash
// mid-migration leaves the file at its old schema, and the next Open
// starts again.
var migrations = []func(tx *bolt.Tx) error{
	// 0 → 1: the first schema: every bucket.
	func(tx *bolt.Tx) error {
		for _, name := range schema1Buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 → 2: fewer pages per commit. The lane and retention indexes are
	// dropped; the kind index keeps the droppable kinds only, and the
	// per-kind counts move into meta counters.
	migrateV2,
}

// schema1Buckets lists the buckets of schema 1, frozen.
var schema1Buckets = [][]byte{
	[]byte("meta"), []byte("records"), []byte("open_plate"), []byte("open_lane"), []byte("closed"),
	[]byte("payments"), []byte("orders"), []byte("bindings"), []byte("vehicles"),
	[]byte("outbox"), []byte("outbox_record"), []byte("outbox_kind"), []byte("outbox_dead"), []byte("audit"),
}

func migrateV2(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketOpenLaneV1, bucketClosedV1} {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return err
		}
	}
	// The kind index and the kind counters, rebuilt from the outbox itself.
	if err := tx.DeleteBucket(bucketOutKind); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	kinds, err := tx.CreateBucket(bucketOutKind)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	if err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
		m, err := decodeMsg(v)
		if err != nil {
			return fmt.Errorf("decode message %d: %w", u64be(k), err)
		}
		counts[m.Kind]++
		if Droppable(m.Kind) {
			return kinds.Put(kindKey(m.Kind, u64be(k)), nil)
		}
		return nil
	}); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	for kind, n := range counts {
		if err := addU64(meta, kindCounter(kind), n); err != nil {
			return err
		}
	}
	return nil
}

// currentSchema is the schema this build writes.
var currentSchema = uint64(len(migrations))

// ---- small encoders ----

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, key []byte, v uint64) error { return b.Put(key, u64(v)) }

// addU64 adds d (may be negative) to a counter, never below zero.
func addU64(b *bolt.Bucket, key []byte, d int64) error {
	v := int64(getU64(b, key)) + d
	if v < 0 {
		v = 0
	}
	return putU64(b, key, uint64(v))
}

// ---- pre-open check ----

// precheck reads the file's meta pages under the file lock, without
// mapping it, and returns a reason if the file cannot be a valid bbolt
// file. bbolt itself would fault (SIGBUS) on a file truncated below its
// high-water mark, which no recover catches.
func precheck(path string, timeout time.Duration) (reason string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := lockFile(f, timeout); err != nil {
		return "", err
	}
	defer unlockFile(f)
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	size := fi.Size()
	if size == 0 {
		return "", nil // bbolt initialises an empty file
	}
	read := func(off int64) (m boltMeta, ok bool) {
		buf := make([]byte, metaEnd)
		if _, err := f.ReadAt(buf, off); err != nil {
			return m, false
		}
		return parseMeta(buf)
	}
	m0, ok0 := read(0)
	ps := int64(os.Getpagesize())
	if ok0 {
		ps = int64(m0.pageSize)
	}
	m1, ok1 := read(ps)
	var m boltMeta
	switch {
	case ok0 && ok1:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case ok0:
		m = m0
	case ok1:
		m = m1
	default:
		return fmt.Sprintf("no valid meta page (size %d bytes)", size), nil
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return fmt.Sprintf("truncated: %d bytes, meta needs %d", size, need), nil
	}
	if m.root >= m.pgid || (m.freelist != noFreelist && m.freelist >= m.pgid) {
		return "meta page points beyond the file", nil
	}
	return "", nil
}

// The layout of a bbolt meta page (bbolt internal/common: a 16-byte page
// header, then Meta), native byte order.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2
	metaOff     = 16
	metaSumEnd  = metaOff + 56 // checksum covers magic … txid
	metaEnd     = metaSumEnd + 8
	noFreelist  = ^uint64(0)
)

type boltMeta struct {
	pageSize                   uint32
	root, freelist, pgid, txid uint64
}

func parseMeta(b []byte) (boltMeta, bool) {
	ne := binary.NativeEndian
	m := b[metaOff:]
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(b[metaOff:metaSumEnd])
	if h.Sum64() != ne.Uint64(b[metaSumEnd:]) {
		return boltMeta{}, false
	}
	out := boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
	if out.pageSize < 512 || out.pageSize > 1<<20 {
		return boltMeta{}, false
	}
	return out, true
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

func u64be(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
