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
	path, _, err := storeFileOf(*file, *cfgPath)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	switch sub {
	case "check":
		// Read-only: CheckFile never repairs (laned salvages a damaged
		// file when it starts).
		fc, err := store.CheckFile(path, offlineStore)
		if err != nil {
			return heldErr("store check", path, "stop it first (systemctl stop laned)", err)
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
		rep, err := store.CompactFile(path, offlineStore)
		if err != nil {
			return heldErr("store compact", path, "stop it first (systemctl stop laned)", err)
		}
		fmt.Fprintf(stdout, "compacted %s: %d → %d bytes; the old file is %s (delete it once laned runs)\n", path, rep.Before, rep.After, rep.Old)
		return nil
	}
	return usage()
}

// offlineStore are the options of the tools that open the store file
// while laned should be stopped: a held lock is an answer, not a wait.
var offlineStore = store.Options{LockTimeout: 2 * time.Second}

// storeFileOf is file, else the store file of the configuration at
// cfgPath, with that configuration (nil with file).
func storeFileOf(file, cfgPath string) (string, *config.Config, error) {
	if file != "" {
		return file, nil, nil
	}
	cfg, err := config.LoadValid(cfgPath)
	if err != nil {
		return "", nil, err
	}
	return cfg.StorePath(), cfg, nil
}

// heldErr is err, or for store.ErrLocked op's word that a running laned
// holds path and what to do about it.
func heldErr(op, path, todo string, err error) error {
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s: %s is held by a running laned: %s: %w", op, path, todo, err)
	}
	return err
}
