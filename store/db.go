package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"laned/internal/atomicfile"
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
	broken atomic.Bool   // a rollback panicked (bbolt's writer lock is lost): writes fail with ErrCorrupt
	marked atomic.Bool   // the salvage marker was written
	enq    enqueueQueue  // Enqueue's group commit (group.go)
	rtx    replTx        // the replication state of the running write transaction (repl.go)
	wake   chan struct{} // ReplWake
}

// Open opens (or creates) the store file at path.
//
// Before bbolt maps an existing file, Open checks it under the file lock
// (inspect): an empty or unreadable file, or one without a usable meta
// page, is renamed to path+".corrupt-<UTC time>" and a fresh file is
// created; a file whose pages are damaged (the page check, bounded by
// Options.CheckTimeout), or that a caught library panic marked
// (ErrCorrupt), is salvaged into a fresh file (OpenReport.Salvage) and
// kept aside the same way. Each of these is an ERROR log line and an
// audit event in the new file. A file written by a newer schema is refused
// with ErrNewerSchema and left alone. A file held by another process gives
// ErrLocked after opt.LockTimeout.
func Open(path string, opt Options) (*DB, OpenReport, error) {
	opt = opt.withDefaults()
	var rep OpenReport
	if opt.Box != "" {
		if err := ValidBox(opt.Box); err != nil {
			return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
		}
	}
	if err := inspect(path, opt, &rep, ""); err != nil {
		return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
	}
	db, fresh, err := openChecked(path, opt, &rep)
	var c corruptError
	if errors.As(err, &c) && rep.Salvage == nil {
		// bbolt refused (or panicked on) a file the page check passed or
		// did not finish: salvage it.
		if err := inspect(path, opt, &rep, "bbolt: "+c.reason); err != nil {
			return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
		}
		db, fresh, err = openChecked(path, opt, &rep)
	}
	if errors.As(err, &c) {
		// Not even salvaged: set it aside and start empty.
		if err := moveAside(path, c.reason, opt, &rep); err != nil {
			return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
		}
		rep.Salvage = nil
		if db, fresh, err = openChecked(path, opt, &rep); err != nil {
			return nil, rep, fmt.Errorf("store: open %s: fresh file: %w", path, err)
		}
	}
	if err != nil {
		return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
	}
	rep.Created = fresh
	if rep.MovedAside != "" && rep.Salvage == nil {
		if err := db.Audit(AuditEvent{Kind: "fault", Detail: "store file moved aside to " + rep.MovedAside + ", started empty: " + rep.Reason}); err != nil {
			opt.Logger.Error("store: audit of the moved-aside file failed", "err", err)
		}
	}
	return db, rep, nil
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
	db = &DB{bolt: bdb, opt: opt, log: opt.Logger, path: path, wake: make(chan struct{}, 1)}
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
		if opt.Box != "" {
			if err := openBox(tx, opt.Box); err != nil {
				return err
			}
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
	if db.broken.Load() {
		// A panicked rollback may have kept bbolt's writer lock: do not
		// hang a shutdown on it (the process's exit releases the file).
		done := make(chan error, 1)
		go func() { done <- closeQuietly(db.bolt) }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("store: close: %w", err)
			}
		case <-time.After(brokenCloseWait):
			db.log.Error("store: close of the damaged file did not finish; leaving it to the process exit")
		}
		return nil
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// brokenCloseWait bounds Close after a write transaction panicked.
const brokenCloseWait = 5 * time.Second

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
	if db.broken.Load() {
		return fmt.Errorf("store: %s: %w: writes stopped after an earlier panic", op, ErrCorrupt)
	}
	var newest int64
	logged := false
	err := db.guard(op, true, func() error {
		tx, err := db.bolt.Begin(true)
		if err != nil {
			return err
		}
		db.rtx = replTx{}
		done := false
		defer func() {
			if !done { // fn or Commit panicked
				db.rollback(tx)
			}
		}()
		if err := fn(tx); err != nil {
			done = true
			db.rollback(tx)
			return err
		}
		if db.opt.FailCommit != nil {
			if err := db.opt.FailCommit(op); err != nil {
				return err
			}
		}
		newest = int64(getU64(tx.Bucket(bucketMeta), metaNewest))
		logged = db.rtx.logged
		err = tx.Commit()
		done = true
		return err
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
	if logged {
		db.signalWake()
	}
	return nil
}

// view runs fn in one read transaction.
func (db *DB) view(op string, fn func(tx *bolt.Tx) error) error {
	if db.closed.Load() {
		return fmt.Errorf("store: %s: %w", op, ErrClosed)
	}
	if err := db.guard(op, false, func() error { return db.bolt.View(fn) }); err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			err = ErrClosed
		}
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// rollback rolls a write transaction back. If bbolt panics even there
// (it rereads the freelist page), its writer lock is lost with the panic:
// every later write fails with ErrCorrupt at once instead of waiting for
// that lock forever.
func (db *DB) rollback(tx *bolt.Tx) {
	defer func() {
		if r := recover(); r != nil {
			db.broken.Store(true)
			db.log.Error("store: rollback panicked: writes stopped until the next start", "panic", fmt.Sprint(r))
		}
	}()
	_ = tx.Rollback()
}

// guard runs fn, a bbolt transaction, and turns a panic or a memory
// fault inside it (a damaged page) into ErrCorrupt: the lane goes on with
// what it can read and write elsewhere in the file (a write that panicked
// wrote nothing: bbolt copies on write and its meta page was not
// written). The first one writes the salvage marker for the next Open.
func (db *DB) guard(op string, write bool, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		if db.marked.Swap(true) {
			db.log.Warn("store: damaged file again", "op", op, "write", write, "panic", fmt.Sprint(r))
			return
		}
		werr := os.WriteFile(salvageMarker(db.path), []byte(fmt.Sprintf("%s: %v\n", op, r)), 0o600)
		_ = atomicfile.SyncDir(filepath.Dir(db.path))
		db.log.Error("store: bbolt panicked inside a transaction: the file is damaged; it is salvaged at the next start",
			"op", op, "write", write, "panic", fmt.Sprint(r), "marker", salvageMarker(db.path), "marker_err", werr,
			"stack", string(debug.Stack()))
	}()
	return fn()
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
	// 2 → 3: the open-plate index keyed by look-alike form + plate, so
	// that a misread plate is found without decoding every open record.
	migrateV3,
	// 3 → 4: contactless arrears and the bind history.
	func(tx *bolt.Tx) error {
		for _, name := range [][]byte{[]byte("arrears"), []byte("bind_history")} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
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
