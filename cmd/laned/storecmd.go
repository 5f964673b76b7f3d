package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"laned/appliance/config"
	"laned/store"
)

func runStore(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	usage := func() error {
		fmt.Fprintln(stderr, "usage: laned store check|compact [-config FILE | -file PATH]")
		fmt.Fprintln(stderr, "  check    read-only: check every page, bbolt's and laned's own consistency; exit 1 if damaged (never repairs)")
		fmt.Fprintln(stderr, "  compact  stop laned first; writes a compacted copy and swaps it in, keeping the old as .precompact")
		return errUsage
	}
	if len(args) == 0 {
		return usage()
	}
	sub := args[0]
	fs, cfgPath := configFlags("store "+sub, stderr)
	file := fs.String("file", "", "the store file itself (instead of -config)")
	if help, err := parseNoArgs(fs, args[1:], stderr); help || err != nil {
		return err
	}
	path := *file
	if path == "" {
		cfg, err := config.LoadValid(*cfgPath)
		if err != nil {
			return err
		}
		path = cfg.StorePath()
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	switch sub {
	case "check":
		// Read-only: CheckFile never repairs (laned salvages a damaged
		// file when it starts).
		fc, err := store.CheckFile(path, store.Options{LockTimeout: 2 * time.Second})
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("store check: %s is held by a running laned: stop it first (systemctl stop laned): %w", path, err)
		}
		if err != nil {
			return err
		}
		for _, n := range fc.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
		if len(fc.Problems) > 0 {
			fmt.Fprintf(stdout, "store %s: DAMAGED, %d problems (the file was not changed; laned salvages it, or sets an unusable one aside, when it starts):\n", path, len(fc.Problems))
			for _, p := range fc.Problems {
				fmt.Fprintf(stdout, "  %s\n", p)
			}
			return fmt.Errorf("store check: %s: %w", path, store.ErrInconsistent)
		}
		fmt.Fprintf(stdout, "store %s: consistent; schema %d; %d records (%d open); outbox %d queued, %d dead letters; file %d bytes\n",
			path, fc.Schema, fc.Records, fc.Open, fc.Outbox, fc.Dead, fc.FileBytes)
		return nil
	case "compact":
		// CompactFile holds the store's lock from its first read to the
		// swap: a laned starting meanwhile waits and gets ErrLocked.
		rep, err := store.CompactFile(path, store.Options{LockTimeout: 2 * time.Second})
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("store compact: %s is held by a running laned: stop it first (systemctl stop laned): %w", path, err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "compacted %s: %d → %d bytes; the old file is %s (delete it once laned runs)\n", path, rep.Before, rep.After, rep.Old)
		return nil
	}
	return usage()
}
