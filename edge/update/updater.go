package update

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"time"

	"laned/hal/clock"
)

// HTTPDoer is what the updater needs of an HTTP client; *http.Client is one.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

var _ HTTPDoer = (*http.Client)(nil)

// Rand is the jitter source; *math/rand/v2.Rand is one.
type Rand interface {
	Int64N(n int64) int64
}

// Steps reported to Options.Step, in order. Tests kill the updater at each.
const (
	StepDownload = "download" // after the first chunk reached the .part file
	StepVerify   = "verify"   // the binary is complete, before its check
	StepStage    = "stage"    // half of the staged copy written
	StepRename   = "rename"   // .prev and the trial marker written, before the rename
	StepSwapped  = "swapped"  // the new binary is live, before the state is saved
)

// Defaults for zero Options fields.
const (
	DefaultChannel   = "stable"
	DefaultMaxStarts = 3
	DefaultInterval  = 6 * time.Hour
	DefaultJitter    = time.Hour
	selfTestTimeout  = 60 * time.Second
)

// Options configure an Updater and Apply.
type Options struct {
	DataDir    string // laned's data directory; update/ is created inside
	LivePath   string // the live binary, e.g. /usr/local/bin/laned
	ConfigPath string // given to the new binary's `selftest -config`
	Running    string // the running version

	BaseURL     string              // pull: {BaseURL}/{Channel}/{Arch}/manifest.json, manifest.sig, laned
	Channel     string              // default "stable"
	Arch        string              // default Arch()
	TrustedKeys []ed25519.PublicKey // several allowed, for rotation
	Reserved    int64               // bytes that must stay free on the data and binary filesystems
	MaxStarts   int                 // trial starts allowed before rollback; default 3
	Force       bool                // push only: accept a version not newer, below the floor or rolled back

	Interval time.Duration // between pulls; default 6h
	Jitter   time.Duration // uniform extra delay in [0, Jitter); default 1h

	HTTP   HTTPDoer     // default http.DefaultClient
	Clock  clock.Clock  // default clock.Real
	Rand   Rand         // jitter; nil = no jitter
	Logger *slog.Logger // nil = discard

	// FreeSpace reports the bytes available to laned on path's
	// filesystem; default statfs.
	FreeSpace func(path string) (uint64, error)
	// Stamp runs the staged binary's own `version` and returns the version
	// and arch it was stamped with; default ReadStamp. Both must equal the
	// signed manifest's before anything else runs it.
	Stamp func(ctx context.Context, binary string) (version, arch string, err error)
	// SelfTest runs the staged binary's own self-test; default
	// `BINARY selftest -config ConfigPath`, which must exit 0.
	SelfTest func(ctx context.Context, binary string) error
	// Step is called at each named step (tests only); nil = none.
	Step func(step string)
	// Restart is asked to restart into every binary installed (see
	// Restart); nil: the caller restarts laned itself (the command line
	// asks systemd).
	Restart *Restart
}

// Result says what an update attempt did.
type Result struct {
	Installed bool   // a new binary is live, on trial: restart the daemon (Options.Restart)
	Version   string // the offered version ("" when nothing was fetched)
	From      string // the running version
	Detail    string // why nothing was installed, for the log
}

func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" || o.LivePath == "" {
		return o, errors.New("update: options: data dir and live path are required")
	}
	if len(o.TrustedKeys) == 0 {
		return o, fmt.Errorf("update: options: %w", ErrNoKeys)
	}
	if o.Channel == "" {
		o.Channel = DefaultChannel
	}
	if o.Arch == "" {
		o.Arch = Arch()
	}
	if o.MaxStarts <= 0 {
		o.MaxStarts = DefaultMaxStarts
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	o.Clock = clock.Or(o.Clock)
	o.Logger = orDiscard(o.Logger)
	if o.FreeSpace == nil {
		o.FreeSpace = statfsFree
	}
	if o.SelfTest == nil {
		cfg := o.ConfigPath
		o.SelfTest = func(ctx context.Context, bin string) error { return execSelfTest(ctx, bin, cfg) }
	}
	if o.Stamp == nil {
		o.Stamp = func(ctx context.Context, bin string) (string, string, error) { return ReadStamp(ctx, bin, "") }
	}
	if o.Step == nil {
		o.Step = func(string) {}
	}
	return o, nil
}

// admit applies the version rules: arch; newer than running; not below the
// floor; its binary (by sha256) not rolled back before; no other trial
// running. force lifts the
// version rules, never arch.
func admit(o Options, s State, m Manifest, force bool) error {
	if m.Arch != o.Arch {
		return fmt.Errorf("update: release arch %s, this is %s: %w", m.Arch, o.Arch, ErrWrongArch)
	}
	if force {
		return nil
	}
	if CompareVersions(m.Version, o.Running) <= 0 {
		return fmt.Errorf("update: %s, running %s: %w", m.Version, o.Running, ErrNotNewer)
	}
	if s.Floor != "" && CompareVersions(m.Version, s.Floor) < 0 {
		return fmt.Errorf("update: %s, floor %s: %w", m.Version, s.Floor, ErrBelowFloor)
	}
	if s.wasRolledBack(m.SHA256) {
		return fmt.Errorf("update: %s (sha256 %s): %w", m.Version, m.SHA256[:16], ErrRolledBack)
	}
	mk, err := readMarker(newLayout(o.DataDir).marker())
	if err != nil {
		return err
	}
	if mk != nil {
		return fmt.Errorf("update: trial of %s not committed yet: %w", mk.Version, ErrBusy)
	}
	return nil
}

// refuse audits a refusal and returns err.
func (u *Updater) refuse(v string, err error) error {
	s, lerr := loadState(u.l)
	if lerr == nil {
		s.record(Event{At: u.o.Clock.Now().Unix(), Kind: EventRefused, Version: v, From: u.o.Running, Detail: err.Error()})
		lerr = saveState(u.l, s)
	}
	if lerr != nil {
		u.log.Warn("update: cannot audit refusal", "err", lerr)
	}
	return err
}

// lock takes the update lock of the data directory (flock), so that a pull
// and a push never interleave.
func lock(l layout) (func(), error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(l.lock(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, ErrBusy
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
