package store

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileCheck is what a check of the file found.
type FileCheck struct {
	Pages    int      // pages reached from the roots, the freelist and the meta pages
	Problems []string // what is wrong; none: the file is sound
	// TimedOut: the walk stopped at Options.CheckTimeout before it had seen
	// every page; what it saw is in Problems.
	TimedOut bool
	Took     time.Duration
	Notes    []string // what is worth knowing but not wrong (an older schema)
	// What the file holds, when the check reached the store's invariants
	// (CheckFile on a sound file).
	Schema, Records, Open, Outbox, Dead int
	FileBytes                           int64
}

// maxProblems bounds the problems a check lists.
const maxProblems = 50

// checkPages walks every bucket of the file f and its freelist, as bbolt's
// Tx.Check does (page bounds and types, one reference per page, key
// order, no page both reachable and free, none neither), reading pages
// with ReadAt. It stops at deadline (zero: none).
func checkPages(f *os.File, deadline time.Time, now func() time.Time) FileCheck {
	start := now()
	pf, err := openPages(f)
	if err != nil {
		return FileCheck{Problems: []string{err.Error()}}
	}
	w := newWalker(pf, deadline, now)
	var visit func(path string) func(e leafElem)
	visit = func(path string) func(e leafElem) {
		return func(e leafElem) {
			if e.flags&leafBucket != 0 {
				w.bucket(path+string(e.k), e.v, visit(path+string(e.k)+"/"))
			} else if path == "" {
				w.problems = append(w.problems, fmt.Sprintf("root holds key %q that is not a bucket", e.k))
			}
		}
	}
	w.tree("(root)", pf.meta.root, nil, nil, 0, visit(""))
	var out FileCheck
	for _, b := range w.bad {
		out.Problems = append(out.Problems, fmt.Sprintf("bucket %s: %v", b.bucket, b.err))
	}
	out.Problems = append(out.Problems, w.problems...)
	out.TimedOut = w.stopped
	if !w.stopped {
		free, err := w.freelist()
		switch {
		case err != nil:
			out.Problems = append(out.Problems, err.Error())
		case free != nil && len(w.bad) == 0:
			for id := uint64(2); id < pf.meta.pgid; id++ {
				switch {
				case w.seen[id] && free[id]:
					out.Problems = append(out.Problems, fmt.Sprintf("page %d: reachable freed", id))
				case !w.seen[id] && !free[id]:
					out.Problems = append(out.Problems, fmt.Sprintf("page %d: unreachable unfreed", id))
				}
			}
		}
	}
	out.Pages = len(w.seen)
	if n := len(out.Problems); n > maxProblems {
		out.Problems = append(out.Problems[:maxProblems], fmt.Sprintf("… and %d more", n-maxProblems))
	}
	out.Took = now().Sub(start)
	return out
}

// CheckFile checks the store file at path without changing it, the way
// `laned store check` does: it needs the file lock (ErrLocked while laned
// runs), walks every page (no time limit), then, if the pages are sound,
// runs bbolt's own Tx.Check and the store's invariants (CheckConsistency)
// on a read-only handle. An empty file, or one that is not a bbolt file,
// is a problem too. The error is for what kept the check from running.
func CheckFile(path string, opt Options) (FileCheck, error) {
	opt = opt.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return FileCheck{}, fmt.Errorf("store: check %s: %w", path, err)
	}
	defer f.Close()
	if err := lockFile(f, opt.LockTimeout); err != nil {
		return FileCheck{}, fmt.Errorf("store: check %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		unlockFile(f)
		return FileCheck{}, fmt.Errorf("store: check %s: %w", path, err)
	}
	if fi.Size() == 0 {
		unlockFile(f)
		return FileCheck{Problems: []string{"empty file (0 bytes): not a store"}}, nil
	}
	var fc FileCheck
	if reason := metaReason(f, fi.Size()); reason != "" {
		fc.Problems = []string{reason}
	} else {
		fc = checkPages(f, time.Time{}, opt.Now)
	}
	unlockFile(f) // bbolt takes its own (shared) lock below
	if len(fc.Problems) > 0 {
		return fc, nil
	}
	more, notes, err := checkReadOnly(path, opt, &fc)
	fc.Problems, fc.Notes = append(fc.Problems, more...), notes
	return fc, err
}

// checkReadOnly runs bbolt's check and the store's invariants on a
// read-only handle (no writer can run beside it: bbolt's check is safe in
// a read transaction then). A panic or fault is a problem, not a crash.
func checkReadOnly(path string, opt Options, fc *FileCheck) (problems, notes []string, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			problems, err = append(problems, fmt.Sprint("bbolt panicked: ", r)), nil
		}
	}()
	bdb, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: opt.LockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			err = ErrLocked
		}
		return nil, nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	defer closeQuietly(bdb)
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	err = bdb.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			switch v := getU64(meta, metaSchema); {
			case v > currentSchema:
				bad("schema %d is newer than this build's %d: not checked", v, currentSchema)
				return nil
			case v < currentSchema:
				notes = append(notes, fmt.Sprintf("schema %d (laned migrates it to %d when it opens the file): only bbolt's check ran", v, currentSchema))
				for err := range tx.Check() {
					bad("bbolt: %v", err)
				}
				return nil
			}
		}
		checkAll(tx, bad)
		if len(problems) == 0 {
			meta := tx.Bucket(bucketMeta)
			fc.Schema = int(getU64(meta, metaSchema))
			fc.Records = tx.Bucket(bucketRecords).Stats().KeyN
			fc.Open = int(getU64(meta, metaOpenN))
			fc.Outbox = int(getU64(meta, metaOutN))
			fc.Dead = tx.Bucket(bucketDead).Stats().KeyN
			fc.FileBytes = tx.Size()
		}
		return nil
	})
	return problems, notes, err
}
