package main

// The configuration's and the store's checks of `laned selftest`. They
// live in a file named after selftest.go so that they run after its
// "config readable" and "data dir writable" checks (init order follows
// file names).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"laned/appliance/config"
	"laned/store"
)

func init() {
	addSelftest("config parses", selftestConfig)
	addSelftest("store opens", selftestStore)
}

// selftestConfig checks the configuration as `laned run` would: every
// problem fails it. A required section the file lacks altogether is
// tolerated, so that the update tools' own configuration (data_dir and
// [update] only) passes; a daemon's configuration has them all, and any
// problem inside them fails.
func selftestConfig(_ context.Context, path string) error {
	_, ps, err := config.Load(path)
	if err != nil {
		return err
	}
	var bad []config.Problem
	for _, p := range ps {
		if !p.Absent {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		return config.ProblemsError(bad)
	}
	return nil
}

// selftestStore checks that this binary opens the store. The running
// daemon holds the store's lock: that is fine (it opened it). Otherwise
// the check opens a copy, never the file itself, so that a newer binary's
// migration or a repair cannot touch the live store before the binary is
// committed. No store yet is fine too: the daemon creates it.
func selftestStore(_ context.Context, path string) error {
	cfg, err := config.LoadUpdates(path)
	if err != nil {
		return err
	}
	live := filepath.Join(cfg.DataDir, config.StoreFile)
	f, err := os.Open(live)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // created at the first start
	}
	if err != nil {
		return err
	}
	// bbolt holds an exclusive flock while open read-write.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil // held by the running daemon
	}
	f.Close() // releases the probe's lock
	cp, err := copyFile(cfg.DataDir, live)
	if err != nil {
		return fmt.Errorf("copy %s: %w", live, err)
	}
	defer os.Remove(cp)
	db, rep, err := store.Open(cp, store.Options{LockTimeout: 200 * time.Millisecond})
	if rep.MovedAside != "" {
		os.Remove(rep.MovedAside)
		if err == nil {
			db.Close()
		}
		return fmt.Errorf("this binary cannot read %s: %s", live, rep.Reason)
	}
	if err != nil {
		return err
	}
	_, _, rerr := db.NextDue()
	return errors.Join(rerr, db.Close())
}

// copyFile copies src to a new temporary file in dir and returns its name.
func copyFile(dir, src string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".selftest-store-*")
	if err != nil {
		return "", err
	}
	_, cerr := io.Copy(out, in)
	if err := errors.Join(cerr, out.Close()); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}
