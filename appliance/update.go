package appliance

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"laned/edge/update"
)

// LivePath is the flagged path, else this executable's resolved path: the
// binary an update replaces.
func LivePath(flagged string) (string, error) {
	if flagged != "" {
		return filepath.Abs(flagged)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("update: live path: %w", err)
	}
	return filepath.EvalSymlinks(exe)
}

// updateOptions are the updater's options of [update], for a pull
// (doer: the download client) or a bundle applied at the console.
func (d *Daemon) updateOptions(doer update.HTTPDoer) (update.Options, error) {
	live := d.opt.LivePath
	if live == "" {
		var err error
		if live, err = LivePath(""); err != nil {
			return update.Options{}, err
		}
	}
	o, err := d.cfg.Updates().UpdateOptions(live, d.cfg.Path, d.opt.Version)
	o.HTTP, o.Logger, o.Restart = doer, d.log.With("part", "update"), d.restart
	return o, err
}

// updater is the pull updater of [update].
func (d *Daemon) updater() (*update.Updater, error) {
	doer := d.opt.HTTP
	if doer == nil {
		doer = &http.Client{Timeout: 10 * time.Minute}
	}
	o, err := d.updateOptions(doer)
	if err != nil {
		return nil, err
	}
	o.Clock = d.real
	return update.New(o)
}

// consoleUpdate applies an update bundle from the console; an install
// asks d.restart, as a pulled one does: the daemon stops (a second later,
// once the console has answered) and systemd starts the new binary.
func (d *Daemon) consoleUpdate(ctx context.Context, path string) (string, error) {
	o, err := d.updateOptions(&http.Client{Timeout: time.Minute})
	if err != nil {
		return "", err
	}
	res, err := update.Apply(ctx, path, o)
	if err != nil {
		return "", err
	}
	if !res.Installed {
		return fmt.Sprintf("nothing installed: offered %s, running %s: %s", orUnknown(res.Version), res.From, res.Detail), nil
	}
	return fmt.Sprintf("installed %s over %s, on trial; laned restarts now", res.Version, res.From), nil
}

// orUnknown is s, or "unknown" when empty.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
