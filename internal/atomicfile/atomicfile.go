// Package atomicfile replaces files so that a crash or a power cut leaves
// either the old content or the new one at the path, never a torn file:
// the new content goes to a temporary file beside it (the path plus
// ".tmp"), is fsynced and closed, renamed over the path, and the directory
// is fsynced so that the rename itself survives. It is the one copy of
// that sequence in the tree (gokrazy's and renameio's habit); it does not
// lock: callers must not replace the same path from two goroutines at once.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// TempSuffix ends the name of the temporary file beside the path. A
// leftover of an interrupted write is truncated by the next write of the
// same path.
const TempSuffix = ".tmp"

// Write replaces path with data (mode perm for a new file). On an error
// the old file, if any, is left as it was and the temporary file removed,
// except when only the final directory fsync failed: the new content is
// then in place but its rename may not survive a power cut.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFunc(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteFunc replaces path with what write writes to f, the open temporary
// file (mode perm when new). write may also set the temporary file's
// metadata (os.Chtimes(f.Name(), …)), which the fsync then covers. On an
// error, of write's or of a later step, the old file is left as it was
// and the temporary file removed, as for Write.
func WriteFunc(path string, perm fs.FileMode, write func(f *os.File) error) error {
	tmp := path + TempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		if rerr := removeTemp(tmp); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// removeTemp removes the temporary file of a failed write; its absence is
// no error.
func removeTemp(tmp string) error {
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// SyncDir fsyncs directory dir, so that the creations, renames and
// removals of entries in it survive a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Remove removes path (its absence is no error) and fsyncs its directory,
// so that the removal survives a power cut.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}
