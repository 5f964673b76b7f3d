package update

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
}

// Result says what an update attempt did.
type Result struct {
	Installed bool   // a new binary is live, on trial: restart the daemon
	Version   string // the offered version ("" when nothing was fetched)
	From      string // the running version
	Detail    string // why nothing was installed, for the log
}

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

// Run checks for an update after a jittered delay and then every Interval
// (plus jitter) until ctx ends or an update is installed; then it returns
// the Result and the daemon should exit to be restarted by systemd. Failed
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
	part := filepath.Join(u.l.dl(), m.SHA256+".part")
	if err := u.checkSpace(m, part); err != nil {
		return res, u.refuse(m.Version, err)
	}
	if err := u.download(ctx, u.releaseURL(BinaryName), m, part); err != nil {
		if errors.Is(err, ErrMismatch) {
			return res, u.refuse(m.Version, err)
		}
		return res, fmt.Errorf("update: check: %w", err)
	}
	u.o.Step(StepVerify)
	verified, err := verifyFile(part, m)
	if err != nil {
		os.Remove(part)
		return res, u.refuse(m.Version, err)
	}
	if err := install(ctx, u.o, u.l, m, verified); err != nil {
		return res, u.refuse(m.Version, err)
	}
	res.Installed = true
	return res, nil
}

// Apply installs a release pushed as a file: a bundle (see WriteBundle) or
// a release directory holding manifest.json, manifest.sig and laned. It is
// verified exactly as a pulled release; opts.Force accepts a version not
// newer than the running one, below the floor or rolled back before.
// opts.BaseURL, Interval, Jitter, HTTP and Rand are not used.
func Apply(ctx context.Context, path string, opts Options) (Result, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	l := newLayout(o.DataDir)
	res := Result{From: o.Running}
	unlock, err := lock(l)
	if err != nil {
		return res, fmt.Errorf("update: apply: %w", err)
	}
	defer unlock()
	u := &Updater{o: o, l: l, log: o.Logger}
	src, err := openRelease(path)
	if err != nil {
		return res, u.refuse("", err)
	}
	defer src.close()
	m, err := Verify(src.manifest, src.sig, o.TrustedKeys)
	if err != nil {
		return res, u.refuse("", err)
	}
	res.Version = m.Version
	if src.binSize != m.Size {
		return res, u.refuse(m.Version, fmt.Errorf("update: apply: binary is %d bytes, manifest says %d: %w", src.binSize, m.Size, ErrMismatch))
	}
	s, err := loadState(l)
	if err != nil {
		return res, err
	}
	if err := admit(o, s, m, o.Force); err != nil {
		return res, u.refuse(m.Version, err)
	}
	part := filepath.Join(l.dl(), m.SHA256+".part")
	if err := u.checkSpace(m, ""); err != nil {
		return res, u.refuse(m.Version, err)
	}
	if err := copyToPart(src.bin, part, m.Size); err != nil {
		return res, fmt.Errorf("update: apply: %w", err)
	}
	o.Step(StepVerify)
	verified, err := verifyFile(part, m)
	if err != nil {
		os.Remove(part)
		return res, u.refuse(m.Version, err)
	}
	if err := install(ctx, o, l, m, verified); err != nil {
		return res, u.refuse(m.Version, err)
	}
	res.Installed = true
	return res, nil
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

func (u *Updater) fetchSmall(ctx context.Context, url string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.o.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrDownload)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %w", url, resp.StatusCode, ErrDownload)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrDownload)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over %d bytes: %w", url, max, ErrDownload)
	}
	return b, nil
}

// checkSpace makes sure the rest of the download (beyond what part already
// holds) and the staged copy beside the live binary leave Reserved free.
func (u *Updater) checkSpace(m Manifest, part string) error {
	if err := os.MkdirAll(u.l.dl(), 0o755); err != nil {
		return fmt.Errorf("update: space: %w", err)
	}
	have := int64(0)
	if part != "" {
		if fi, err := os.Stat(part); err == nil && fi.Size() <= m.Size {
			have = fi.Size()
		}
	}
	needData := uint64(m.Size - have)
	needLive := uint64(m.Size)
	liveDir := filepath.Dir(u.o.LivePath)
	if sameFS(u.l.dl(), liveDir) {
		needData += needLive
		needLive = needData
	}
	for _, c := range []struct {
		dir  string
		need uint64
	}{{u.l.dl(), needData}, {liveDir, needLive}} {
		free, err := u.o.FreeSpace(c.dir)
		if err != nil {
			return fmt.Errorf("update: space: %w", err)
		}
		if free < c.need || free-c.need < uint64(max(u.o.Reserved, 0)) {
			return fmt.Errorf("update: space: %s has %d bytes free, needs %d plus %d reserved: %w", c.dir, free, c.need, u.o.Reserved, ErrNoSpace)
		}
	}
	return nil
}

func sameFS(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return true // assume the worst
	}
	sa, ok1 := fa.Sys().(*syscall.Stat_t)
	sb, ok2 := fb.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Dev == sb.Dev
}

func statfsFree(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// download fetches url into part, resuming with a Range request from what
// part already holds. It writes at most m.Size bytes.
func (u *Updater) download(ctx context.Context, url string, m Manifest, part string) error {
	cleanDownloads(u.l.dl(), m.SHA256)
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	have := fi.Size()
	if have > m.Size {
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		have = 0
	}
	if have == m.Size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := u.o.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("download: %v: %w", err, ErrDownload)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		have = 0
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have || (total >= 0 && total != m.Size) {
			f.Truncate(0)
			return fmt.Errorf("download: Content-Range %q for %d bytes held: %w", resp.Header.Get("Content-Range"), have, ErrDownload)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The server's file is not longer than what we hold, yet ours is
		// short: start over at the next check.
		f.Truncate(0)
		return fmt.Errorf("download: HTTP 416 at %d of %d bytes: %w", have, m.Size, ErrDownload)
	default:
		return fmt.Errorf("download: %s: HTTP %d: %w", url, resp.StatusCode, ErrDownload)
	}
	if err := f.Truncate(have); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	want := m.Size - have
	body := io.LimitReader(resp.Body, want+1)
	buf := make([]byte, 64<<10)
	var got int64
	first := true
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if got+int64(n) > want {
				f.Truncate(0)
				return fmt.Errorf("download: server sent more than %d bytes: %w", m.Size, ErrMismatch)
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("download: %w", err)
			}
			got += int64(n)
			if first {
				first = false
				u.o.Step(StepDownload)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Sync()
			return fmt.Errorf("download: after %d of %d bytes: %v: %w", have+got, m.Size, rerr, ErrDownload)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if got < want {
		// Kept: the next check resumes from here.
		return fmt.Errorf("download: short: %d of %d bytes: %w", have+got, m.Size, ErrDownload)
	}
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return 0, 0, false
		}
	}
	return start, total, true
}

// cleanDownloads removes downloads of other releases.
func cleanDownloads(dir, keep string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), keep) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func copyToPart(src io.Reader, part string, size int64) error {
	cleanDownloads(filepath.Dir(part), "")
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(src, size))
	if err == nil && n != size {
		err = fmt.Errorf("binary %d of %d bytes: %w", n, size, ErrMismatch)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// verifyFile checks part's size and sha256 against m and renames it to
// .bin: only a verified file has that name.
func verifyFile(part string, m Manifest) (string, error) {
	fi, err := os.Stat(part)
	if err != nil {
		return "", fmt.Errorf("update: verify binary: %w", err)
	}
	if fi.Size() != m.Size {
		return "", fmt.Errorf("update: verify binary: %d bytes, want %d: %w", fi.Size(), m.Size, ErrMismatch)
	}
	sum, err := fileSHA256(part)
	if err != nil {
		return "", fmt.Errorf("update: verify binary: %w", err)
	}
	if sum != m.SHA256 {
		return "", fmt.Errorf("update: verify binary: sha256 %s, want %s: %w", sum, m.SHA256, ErrMismatch)
	}
	bin := strings.TrimSuffix(part, ".part") + ".bin"
	if err := os.Rename(part, bin); err != nil {
		return "", fmt.Errorf("update: verify binary: %w", err)
	}
	return bin, nil
}

// release is an opened push source.
type release struct {
	manifest, sig []byte
	bin           io.Reader
	binSize       int64
	close         func()
}

func openRelease(path string) (release, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return release{}, fmt.Errorf("update: open release: %w", err)
	}
	if fi.IsDir() {
		mb, err := readCapped(filepath.Join(path, ManifestName), MaxManifestSize)
		if err != nil {
			return release{}, err
		}
		sig, err := readCapped(filepath.Join(path, SigName), MaxSigSize)
		if errors.Is(err, fs.ErrNotExist) {
			return release{}, fmt.Errorf("update: open release: %w", ErrUnsigned)
		}
		if err != nil {
			return release{}, err
		}
		f, err := os.Open(filepath.Join(path, BinaryName))
		if err != nil {
			return release{}, fmt.Errorf("update: open release: %w", err)
		}
		bfi, err := f.Stat()
		if err != nil {
			f.Close()
			return release{}, fmt.Errorf("update: open release: %w", err)
		}
		return release{manifest: mb, sig: sig, bin: f, binSize: bfi.Size(), close: func() { f.Close() }}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return release{}, fmt.Errorf("update: open release: %w", err)
	}
	h, err := ReadBundleHeader(f, fi.Size())
	if err != nil {
		f.Close()
		return release{}, err
	}
	return release{manifest: h.Manifest, sig: h.Sig, bin: f, binSize: fi.Size() - h.BinOffset, close: func() { f.Close() }}, nil
}

func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("update: open release: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("update: open release: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("update: open release: %s over %d bytes: %w", filepath.Base(path), max, ErrBadBundle)
	}
	return b, nil
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

func execSelfTest(ctx context.Context, bin, config string) error {
	ctx, cancel := context.WithTimeout(ctx, selfTestTimeout)
	defer cancel()
	args := []string{"selftest"}
	if config != "" {
		args = append(args, "-config", config)
	}
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		if len(out) > 512 {
			out = out[len(out)-512:]
		}
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// install stages the verified binary beside the live one, runs its
// self-test, keeps the live binary as .prev, writes the trial marker and
// renames the staged binary over the live path. The live path is at every
// instant either the old or the new complete binary.
func install(ctx context.Context, o Options, l layout, m Manifest, verified string) error {
	live := o.LivePath
	staged, prev := live+".new", live+".prev"
	defer os.Remove(verified)
	if err := stage(verified, staged, m, o.Step); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: stage: %w", err)
	}
	v, arch, err := o.Stamp(ctx, staged)
	if err == nil {
		err = CheckStamp(m, v, arch)
	}
	if err != nil {
		os.Remove(staged)
		if !errors.Is(err, ErrStamp) {
			err = fmt.Errorf("%v: %w", err, ErrStamp)
		}
		return fmt.Errorf("update: install: %w", err)
	}
	if err := o.SelfTest(ctx, staged); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: %s: %v: %w", m.Version, err, ErrSelfTest)
	}
	if err := keepPrev(live, prev); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: keep previous: %w", err)
	}
	now := o.Clock.Now().Unix()
	mk := Marker{Version: m.Version, From: o.Running, SHA256: m.SHA256, Attempts: 0, Limit: o.MaxStarts, Started: now}
	if err := writeFileDurable(l.marker(), mk.encode(), 0o644); err != nil {
		os.Remove(staged)
		return fmt.Errorf("update: install: trial marker: %w", err)
	}
	o.Step(StepRename)
	if err := os.Rename(staged, live); err != nil {
		os.Remove(staged)
		removeDurable(l.marker())
		return fmt.Errorf("update: install: rename: %w", err)
	}
	if err := syncDir(filepath.Dir(live)); err != nil {
		return fmt.Errorf("update: install: sync: %w", err)
	}
	o.Step(StepSwapped)
	s, err := loadState(l)
	if err != nil {
		return err
	}
	s.Trial = &TrialInfo{Version: m.Version, From: o.Running, SHA256: m.SHA256, Started: now, Limit: o.MaxStarts}
	s.record(Event{At: now, Kind: EventInstall, Version: m.Version, From: o.Running, Detail: "on trial; sha256 " + m.SHA256[:16]})
	o.Logger.Info("update installed, on trial", "version", m.Version, "from", o.Running)
	return saveState(l, s)
}

// stage copies the verified binary to staged (0755), hashing as it goes,
// and fsyncs it.
func stage(verified, staged string, m Manifest, step func(string)) error {
	src, err := os.Open(verified)
	if err != nil {
		return err
	}
	defer src.Close()
	os.Remove(staged)
	dst, err := os.OpenFile(staged, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	defer dst.Close()
	h := sha256.New()
	w := io.MultiWriter(dst, h)
	half := m.Size / 2
	if _, err := io.CopyN(w, src, half); err != nil {
		return err
	}
	step(StepStage)
	n, err := io.Copy(w, src)
	if err != nil {
		return err
	}
	if half+n != m.Size || hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return fmt.Errorf("staged copy differs: %w", ErrMismatch)
	}
	if err := dst.Sync(); err != nil {
		return err
	}
	return dst.Close()
}

// keepPrev makes prev a complete copy of live (a hard link when the
// filesystem allows), replacing any older prev atomically.
func keepPrev(live, prev string) error {
	tmp := prev + ".tmp"
	os.Remove(tmp)
	if err := os.Link(live, tmp); err != nil {
		if err := copyFileSync(live, tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, prev); err != nil {
		return err
	}
	return syncDir(filepath.Dir(prev))
}

func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
