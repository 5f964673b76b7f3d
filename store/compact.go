package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/internal/atomicfile"
)

// CompactReport says what CompactFile did.
type CompactReport struct {
	Before, After int64  // file sizes in bytes
	Old           string // where the file before compaction is kept
}

// CompactFile rewrites the store file at path into a compacted copy and
// swaps it in, keeping the old file as path+".precompact". It holds the
// store's lock (bbolt's flock on the file) from before it reads the file
// until after the swap, so no laned can open the file meanwhile (it gets
// ErrLocked). A file whose pages are damaged or whose invariants are
// broken is refused and left alone: laned salvages it when it opens it.
func CompactFile(path string, opt Options) (rep CompactReport, err error) {
	opt = opt.withDefaults()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return rep, fmt.Errorf("store: compact: %w", err)
	}
	if err := lockFile(f, opt.LockTimeout); err != nil {
		f.Close()
		return rep, fmt.Errorf("store: compact: %w", err)
	}
	// From here f holds the lock; bbolt adopts f (OpenFile) and takes the
	// same lock on it again, and its Close releases it.
	adopted := false
	defer func() {
		if !adopted {
			unlockFile(f)
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return rep, fmt.Errorf("store: compact: %w", err)
	}
	rep.Before = fi.Size()
	if fi.Size() == 0 {
		return rep, fmt.Errorf("store: compact: %w: empty file", ErrInconsistent)
	}
	problem := metaReason(f, fi.Size())
	if problem == "" {
		if fc := checkPages(f, time.Time{}, opt.Now); len(fc.Problems) > 0 {
			problem = strings.Join(fc.Problems, "; ")
		}
	}
	if problem != "" {
		return rep, fmt.Errorf("store: compact: %w: %s (laned salvages it when it starts)", ErrInconsistent, problem)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: compact: %w: %v", ErrCorrupt, r)
		}
	}()
	adopted = true
	from, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  opt.LockTimeout,
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err != nil {
		f.Close()
		return rep, fmt.Errorf("store: compact: open %s: %w", path, err)
	}
	defer from.Close()
	var errs []string
	if err := from.View(func(tx *bolt.Tx) error {
		checkAll(tx, func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) })
		return nil
	}); err != nil {
		return rep, fmt.Errorf("store: compact: %w", err)
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("store: compact: refusing an inconsistent file: %w: %s", ErrInconsistent, strings.Join(errs, "; "))
	}
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	to, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opt.LockTimeout})
	if err != nil {
		return rep, fmt.Errorf("store: compact: create %s: %w", tmp, err)
	}
	if err := bolt.Compact(to, from, 16<<20); err != nil {
		_ = to.Close()
		_ = os.Remove(tmp)
		return rep, fmt.Errorf("store: compact: %w", err)
	}
	if err := to.Close(); err != nil {
		_ = os.Remove(tmp)
		return rep, fmt.Errorf("store: compact: close %s: %w", tmp, err)
	}
	if st, err := os.Stat(tmp); err == nil {
		rep.After = st.Size()
	}
	if opt.compactHook != nil {
		opt.compactHook()
	}
	rep.Old = path + ".precompact"
	if err := os.Rename(path, rep.Old); err != nil {
		_ = os.Remove(tmp)
		return rep, fmt.Errorf("store: compact: keep the old file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return rep, fmt.Errorf("store: compact: put the new file in place (the old one is %s): %w", rep.Old, err)
	}
	_ = atomicfile.SyncDir(filepath.Dir(path))
	return rep, nil
}
