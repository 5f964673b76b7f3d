package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Updater pulls releases on a schedule.
type Updater struct {
	o   Options
	l   layout
	log *slog.Logger
}

// New checks opts and returns an Updater.
func New(opts Options) (*Updater, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.BaseURL == "" {
		return nil, errors.New("update: new: no update URL")
	}
	return &Updater{o: o, l: newLayout(o.DataDir), log: o.Logger}, nil
}

// Run checks for an update after a jittered delay and then every Interval
// (plus jitter) until ctx ends or an update is installed; then it returns
// the Result, having asked Options.Restart to restart into it. Failed
// checks are logged and retried at the next tick.
func (u *Updater) Run(ctx context.Context) (Result, error) {
	delay := u.jitter()
	for {
		t := u.o.Clock.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{}, ctx.Err()
		case <-t.C():
		}
		res, err := u.Check(ctx)
		switch {
		case err != nil:
			u.log.Warn("update check failed", "err", err)
		case res.Installed:
			return res, nil
		default:
			u.log.Info("update check", "offered", res.Version, "running", res.From, "detail", res.Detail)
		}
		delay = u.o.Interval + u.jitter()
	}
}

func (u *Updater) jitter() time.Duration {
	if u.o.Rand == nil || u.o.Jitter <= 0 {
		return 0
	}
	return time.Duration(u.o.Rand.Int64N(int64(u.o.Jitter)))
}

func (u *Updater) releaseURL(name string) string {
	return strings.TrimRight(u.o.BaseURL, "/") + "/" + u.o.Channel + "/" + u.o.Arch + "/" + name
}

// Check pulls once: manifest and signature first, verified, then the binary
// (resumed from a previous partial download), verified, then installed.
func (u *Updater) Check(ctx context.Context) (Result, error) {
	res := Result{From: u.o.Running}
	unlock, err := lock(u.l)
	if err != nil {
		return res, fmt.Errorf("update: check: %w", err)
	}
	defer unlock()
	mb, err := u.fetchSmall(ctx, u.releaseURL(ManifestName), MaxManifestSize)
	if err != nil {
		return res, fmt.Errorf("update: check: manifest: %w", err)
	}
	sig, err := u.fetchSmall(ctx, u.releaseURL(SigName), MaxSigSize)
	if err != nil {
		return res, fmt.Errorf("update: check: signature: %w", err)
	}
	m, err := Verify(mb, sig, u.o.TrustedKeys)
	if err != nil {
		return res, u.refuse("", err)
	}
	res.Version = m.Version
	if m.Channel != u.o.Channel {
		return res, u.refuse(m.Version, fmt.Errorf("update: check: channel %q, want %q: %w", m.Channel, u.o.Channel, ErrWrongArch))
	}
	s, err := loadState(u.l)
	if err != nil {
		return res, err
	}
	if err := admit(u.o, s, m, false); err != nil {
		if errors.Is(err, ErrNotNewer) || errors.Is(err, ErrRolledBack) || errors.Is(err, ErrBusy) {
			res.Detail = err.Error()
			return res, nil // the normal answer of a pull: nothing to do
		}
		return res, u.refuse(m.Version, err)
	}
	return u.land(ctx, res, m, true, func(part string) error {
		err := u.download(ctx, u.releaseURL(BinaryName), m, part)
		if errors.Is(err, ErrMismatch) {
			return u.refuse(m.Version, err)
		}
		if err != nil {
			return fmt.Errorf("update: check: %w", err)
		}
		return nil
	})
}
