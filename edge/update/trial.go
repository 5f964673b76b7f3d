package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"laned/hal/clock"
	"laned/internal/atomicfile"
)

// HealthFunc is the daemon's health check: nil when the store is open, the
// callback server serves and the lanes are up.
type HealthFunc func(ctx context.Context) error

// Trial is the running version's trial, opened by the daemon at start.
// When Active, the daemon calls Hold (or Commit/Fail itself); when not,
// Commit and Fail are no-ops.
type Trial struct {
	l       layout
	clk     clock.Clock
	log     *slog.Logger
	running string
	self    func() (string, error)
	marker  *Marker
}

// Self identifies the running build: its stamped version, and its binary's
// sha256 (SHA256 is called only when a trial marker is present; nil
// compares versions instead, which a mis-stamped binary defeats).
type Self struct {
	Version string
	SHA256  func() (string, error)
}

// OpenTrial reconciles the update state with what happened before this
// start (a rollback done by the guard is audited; a trial interrupted or
// already committed is settled) and returns the trial of the running
// build, active when the trial marker names this binary's sha256.
func OpenTrial(dataDir string, self Self, clk clock.Clock, log *slog.Logger) (*Trial, error) {
	t := &Trial{l: newLayout(dataDir), clk: clock.Or(clk), log: orDiscard(log), running: self.Version, self: self.SHA256}
	if err := t.reconcile(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Trial) reconcile() error {
	s, err := loadState(t.l)
	if err != nil {
		return err
	}
	changed := false
	rb, err := readRollback(t.l.rolledback())
	if err != nil {
		return err
	}
	if rb != nil {
		s.record(Event{At: rb.At, Kind: EventRollback, Version: rb.Version, From: rb.From,
			Detail: fmt.Sprintf("%s after %d starts", rb.Result, rb.Attempts)})
		sha := rb.SHA256
		if sha == "" && s.Trial != nil && s.Trial.Version == rb.Version {
			sha = s.Trial.SHA256 // a record from an older guard script
		}
		s.markRolledBack(rb.Version, sha)
		s.Trial = nil
		changed = true
		t.log.Warn("update rolled back", "version", rb.Version, "restored", rb.From, "starts", rb.Attempts, "result", rb.Result)
	}
	m, err := readMarker(t.l.marker())
	if err != nil {
		return err
	}
	if m != nil && !t.onTrial(m) {
		// The install stopped before its rename, or the guard has not
		// run: this binary is not the one on trial.
		if err := atomicfile.Remove(t.l.marker()); err != nil {
			return fmt.Errorf("update: reconcile: %w", err)
		}
		s.record(Event{At: t.clk.Now().Unix(), Kind: EventFail, Version: m.Version, From: m.From, Detail: "install interrupted; running " + t.running})
		s.Trial = nil
		m = nil
		changed = true
	}
	if m == nil && s.Trial != nil {
		if s.Trial.Version == t.running {
			// The marker went away with a commit that did not reach the state.
			s.Floor = maxVersion(s.Floor, t.running)
			s.record(Event{At: t.clk.Now().Unix(), Kind: EventCommit, Version: t.running, From: s.Trial.From})
		}
		s.Trial = nil
		changed = true
	}
	if m != nil && s.Trial != nil {
		s.Trial.Attempts = m.Attempts
		changed = true
	}
	if changed {
		if err := saveState(t.l, s); err != nil {
			return err
		}
	}
	if rb != nil {
		if err := atomicfile.Remove(t.l.rolledback()); err != nil {
			return fmt.Errorf("update: reconcile: %w", err)
		}
	}
	t.marker = m
	return nil
}

// onTrial reports whether the running binary is the one m puts on trial:
// the same sha256, whatever version either claims.
func (t *Trial) onTrial(m *Marker) bool {
	if t.self == nil {
		return m.Version == t.running
	}
	sum, err := t.self()
	if err != nil {
		t.log.Warn("update: cannot hash the running binary; comparing versions", "err", err)
		return m.Version == t.running
	}
	return sum == m.SHA256
}

// Active reports whether the running version is on trial.
func (t *Trial) Active() bool { return t.marker != nil }

// Version is the version on trial ("" when not active).
func (t *Trial) Version() string {
	if t.marker == nil {
		return ""
	}
	return t.marker.Version
}

// Commit ends the trial: the marker goes (the guard stops counting), the
// floor rises to this version and the commit is audited.
func (t *Trial) Commit() error {
	if t.marker == nil {
		return nil
	}
	if err := atomicfile.Remove(t.l.marker()); err != nil {
		return fmt.Errorf("update: commit: %w", err)
	}
	s, err := loadState(t.l)
	if err != nil {
		return err
	}
	s.Floor = maxVersion(s.Floor, t.marker.Version)
	s.Trial = nil
	s.record(Event{At: t.clk.Now().Unix(), Kind: EventCommit, Version: t.marker.Version, From: t.marker.From})
	t.log.Info("update committed", "version", t.marker.Version, "from", t.marker.From)
	t.marker = nil
	return saveState(t.l, s)
}

// Fail audits a failed health check during the trial. The marker stays: the
// daemon should exit non-zero so that systemd restarts it and the guard
// counts the start; past the limit the guard restores .prev.
func (t *Trial) Fail(reason error) error {
	if t.marker == nil {
		return nil
	}
	s, err := loadState(t.l)
	if err != nil {
		return err
	}
	s.record(Event{At: t.clk.Now().Unix(), Kind: EventFail, Version: t.marker.Version, From: t.marker.From,
		Detail: fmt.Sprintf("health check, start %d of %d: %v", t.marker.Attempts, t.marker.Limit, reason)})
	t.log.Error("update trial: health check failed", "version", t.marker.Version, "start", t.marker.Attempts, "limit", t.marker.Limit, "err", reason)
	return saveState(t.l, s)
}

// ErrHealth wraps the health check's error when Hold fails.
var ErrHealth = errors.New("health check failed")

// Hold runs health now and every `every` until it has held for period
// (measured on the trial's clock), then commits. On the first failure it
// calls Fail and returns an error wrapping ErrHealth: the daemon should
// exit non-zero. Without an active trial it returns nil at once.
func (t *Trial) Hold(ctx context.Context, health HealthFunc, period, every time.Duration) error {
	if t.marker == nil {
		return nil
	}
	if every <= 0 {
		every = time.Second
	}
	start := t.clk.Now()
	for {
		if err := health(ctx); err != nil {
			if ferr := t.Fail(err); ferr != nil {
				return errors.Join(fmt.Errorf("update: trial: %w: %w", ErrHealth, err), ferr)
			}
			return fmt.Errorf("update: trial: %w: %w", ErrHealth, err)
		}
		if t.clk.Now().Sub(start) >= period {
			return t.Commit()
		}
		tm := t.clk.NewTimer(every)
		select {
		case <-ctx.Done():
			tm.Stop()
			return fmt.Errorf("update: trial: %w", ctx.Err())
		case <-tm.C():
		}
	}
}

func maxVersion(a, b string) string {
	if CompareVersions(a, b) >= 0 && a != "" {
		return a
	}
	return b
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
