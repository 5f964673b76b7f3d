package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"laned/store"
)

// PictureSpaceWarning warns when the pictures' budget exceeds what the
// data directory's file system can hold: the free space plus what the
// pictures already take. free reports a path's free bytes.
func PictureSpaceWarning(c *Config, free func(path string) (uint64, error)) string {
	dir := filepath.Join(c.DataDir, PicturesDir)
	used, _ := store.PictureUsage(dir)
	at := dir
	for {
		if _, err := os.Stat(at); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		up := filepath.Dir(at)
		if up == at {
			break
		}
		at = up
	}
	avail, err := free(at)
	if err != nil {
		return fmt.Sprintf("warning: pictures: cannot tell the free space of %s: %v", at, err)
	}
	if room := int64(avail) + used; c.Pictures.MaxBytes > room {
		return fmt.Sprintf("warning: pictures.max_bytes %d exceeds the space the pictures can have on %s (%d free + %d in use): the disk fills before the budget prunes",
			c.Pictures.MaxBytes, at, avail, used)
	}
	return ""
}

// StatfsFree is the free space of path's file system for an unprivileged
// user, for PictureSpaceWarning.
func StatfsFree(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
