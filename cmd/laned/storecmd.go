package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"laned/store"
)

func init() {
	register("store", "offline store tools: check (consistency), compact (rewrite the file small)", runStore)
}

func runStore(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	usage := func() error {
		fmt.Fprintln(stderr, "usage: laned store check|compact [-config FILE | -file PATH]")
		fmt.Fprintln(stderr, "  check    open the store read-side, run bbolt's and laned's own consistency checks")
		fmt.Fprintln(stderr, "  compact  stop laned first; writes a compacted copy and swaps it in, keeping the old as .precompact")
		return errUsage
	}
	if len(args) == 0 {
		return usage()
	}
	sub := args[0]
	fs, config := configFlags("store "+sub, stderr)
	file := fs.String("file", "", "the store file itself (instead of -config)")
	if help, err := parseNoArgs(fs, args[1:], stderr); help || err != nil {
		return err
	}
	path := *file
	if path == "" {
		cfg, err := loadConfigErr(*config)
		if err != nil {
			return err
		}
		path = filepath.Join(cfg.DataDir, storeFile)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	switch sub {
	case "check":
		db, rep, err := store.Open(path, store.Options{LockTimeout: 2 * time.Second})
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("store check: %s is held by a running laned: stop it first (systemctl stop laned): %w", path, err)
		}
		if err != nil {
			return err
		}
		defer db.Close()
		if rep.MovedAside != "" {
			fmt.Fprintf(stdout, "the file was corrupt (%s): moved aside to %s, a fresh store was created\n", rep.Reason, rep.MovedAside)
		}
		if err := db.CheckConsistency(); err != nil {
			return err
		}
		sum, err := db.Summary()
		if err != nil {
			return err
		}
		st, err := db.OutboxStats(time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "store %s: consistent; schema %d; %d records (%d open); outbox %d queued, %d dead letters; file %d bytes (%d free inside)\n",
			path, rep.Schema, sum.Records, sum.Open, st.Count, st.Dead, sum.FileBytes, sum.FreeBytes)
		return nil
	case "compact":
		// Take the lock first: compacting under a running daemon would
		// lose what it writes meanwhile.
		db, _, err := store.Open(path, store.Options{LockTimeout: 2 * time.Second})
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("store compact: %s is held by a running laned: stop it first (systemctl stop laned): %w", path, err)
		}
		if err != nil {
			return err
		}
		if err := db.CheckConsistency(); err != nil {
			db.Close()
			return fmt.Errorf("store compact: refusing to compact an inconsistent file: %w", err)
		}
		if err := db.Close(); err != nil {
			return err
		}
		tmp := path + ".compact"
		_ = os.Remove(tmp)
		before, _ := os.Stat(path)
		if err := store.Compact(path, tmp); err != nil {
			_ = os.Remove(tmp)
			return err
		}
		if err := syncFile(tmp); err != nil {
			return err
		}
		if err := os.Rename(path, path+".precompact"); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		syncDirOf(path)
		after, _ := os.Stat(path)
		fmt.Fprintf(stdout, "compacted %s: %d → %d bytes; the old file is %s.precompact (delete it once laned runs)\n", path, before.Size(), after.Size(), path)
		return nil
	}
	return usage()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDirOf(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
