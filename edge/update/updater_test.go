package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/hal/clock"
)

func TestCheck(t *testing.T) {
	pub, priv := testKey(1)
	_, evil := testKey(9)
	good := makeRelease(t, priv, "v1.1.0", 300_000)
	flipped := good
	flipped.bin = bytes.Clone(good.bin)
	flipped.bin[1234] ^= 0x40
	wrongKey := good
	wrongKey.sig = Sign(evil, good.manifest)
	unsigned := good
	unsigned.sig = nil
	older := makeRelease(t, priv, "v0.9.0", 1000)
	same := makeRelease(t, priv, "v1.0.0", 1000)
	armv6 := good
	{
		m := good.m
		m.Arch = "linux/arm/v6"
		armv6.manifest = m.Marshal()
		armv6.sig = Sign(priv, armv6.manifest)
	}
	tests := []struct {
		name      string
		r         rel
		truncate  int
		floor     string
		free      uint64
		want      error // nil: installed
		nothing   bool  // no error, nothing installed
		wantAudit bool
	}{
		{name: "good", r: good},
		{name: "flipped byte", r: flipped, want: ErrMismatch, wantAudit: true},
		{name: "wrong key", r: wrongKey, want: ErrBadSignature, wantAudit: true},
		{name: "unsigned", r: unsigned, want: ErrDownload},
		{name: "older", r: older, nothing: true},
		{name: "same", r: same, nothing: true},
		{name: "below floor", r: makeRelease(t, priv, "v1.0.5", 1000), floor: "v1.1.0", want: ErrBelowFloor, wantAudit: true},
		{name: "other arch", r: armv6, want: ErrWrongArch, wantAudit: true},
		{name: "truncated download", r: good, truncate: 1000, want: ErrDownload},
		{name: "reserve would be eaten", r: good, free: 300_000 + 1<<20 - 1, want: ErrNoSpace, wantAudit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pub, "v1.0.0")
			srv := newServer(t, tt.r)
			if tt.r.sig == nil {
				delete(srv.files, "/stable/"+testArch+"/"+SigName)
			}
			srv.truncate = tt.truncate
			if tt.floor != "" {
				if err := saveState(newLayout(e.data), State{Floor: tt.floor}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.free != 0 {
				e.opts.FreeSpace = func(string) (uint64, error) { return tt.free, nil }
			}
			e.opts.BaseURL = srv.URL
			u, err := New(e.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := u.Check(context.Background())
			switch {
			case tt.want == nil && !tt.nothing:
				if err != nil || !res.Installed {
					t.Fatalf("Check = %+v, %v; want installed", res, err)
				}
				e.liveIs(t, tt.r.bin)
				prev, _ := os.ReadFile(e.live + ".prev")
				if !bytes.Equal(prev, e.old) {
					t.Errorf(".prev = %q; want the old binary", head(prev))
				}
				if len(e.selftests) != 1 || e.selftests[0] != e.live+".new" {
					t.Errorf("self-tests run = %q; want one of %s.new", e.selftests, e.live)
				}
				mk, err := readMarker(TrialMarkerPath(e.data))
				if err != nil || mk == nil || mk.Version != "v1.1.0" || mk.SHA256 != tt.r.m.SHA256 || mk.Limit != DefaultMaxStarts {
					t.Errorf("trial marker = %+v, %v; want v1.1.0 with its sha256", mk, err)
				}
				s := mustState(t, e.data)
				if s.Trial == nil || s.Trial.Version != "v1.1.0" || s.Last.Kind != EventInstall {
					t.Errorf("state = %+v; want v1.1.0 on trial after an install", s)
				}
				if _, err := os.Stat(e.live + ".new"); !os.IsNotExist(err) {
					t.Errorf("staged file left behind: %v", err)
				}
			case tt.nothing:
				if err != nil || res.Installed {
					t.Fatalf("Check = %+v, %v; want nothing installed, no error", res, err)
				}
				e.liveIs(t, e.old)
			default:
				if !errors.Is(err, tt.want) || res.Installed {
					t.Fatalf("Check = %+v, %v; want %v", res, err, tt.want)
				}
				e.liveIs(t, e.old)
				if len(e.selftests) != 0 {
					t.Errorf("self-test ran for a refused update")
				}
				if mk, _ := readMarker(TrialMarkerPath(e.data)); mk != nil {
					t.Errorf("trial marker written for a refused update")
				}
				if s := mustState(t, e.data); tt.wantAudit && (s.Last == nil || s.Last.Kind != EventRefused) {
					t.Errorf("state.Last = %+v; want a refusal audited", s.Last)
				}
			}
		})
	}
}

func TestCheckResume(t *testing.T) {
	pub, priv := testKey(1)
	r := makeRelease(t, priv, "v1.1.0", 200_000)
	tests := []struct {
		name      string
		have      int
		garbage   bool // the .part holds wrong bytes
		noRange   bool
		wantRange string
		wantErr   error
	}{
		{name: "resume 206", have: 150_000, wantRange: "bytes=150000-"},
		{name: "server ignores range: 200 restarts", have: 150_000, noRange: true, wantRange: "bytes=150000-"},
		{name: "complete part, no request", have: 200_000},
		{name: "corrupt part is discarded", have: 150_000, garbage: true, wantRange: "bytes=150000-", wantErr: ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pub, "v1.0.0")
			srv := newServer(t, r)
			srv.noRange = tt.noRange
			e.opts.BaseURL = srv.URL
			part := filepath.Join(newLayout(e.data).dl(), r.m.SHA256+".part")
			os.MkdirAll(filepath.Dir(part), 0o755)
			held := bytes.Clone(r.bin[:tt.have])
			if tt.garbage {
				held[5] ^= 1
			}
			os.WriteFile(part, held, 0o644)
			u, _ := New(e.opts)
			res, err := u.Check(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Check = %v; want %v", err, tt.wantErr)
				}
				e.liveIs(t, e.old)
				if _, err := os.Stat(part); !os.IsNotExist(err) {
					t.Errorf("corrupt .part kept: %v", err)
				}
				// The next check starts over and succeeds.
				if res, err = u.Check(context.Background()); err != nil || !res.Installed {
					t.Fatalf("second Check = %+v, %v; want installed", res, err)
				}
				e.liveIs(t, r.bin)
				return
			}
			if err != nil || !res.Installed {
				t.Fatalf("Check = %+v, %v; want installed", res, err)
			}
			e.liveIs(t, r.bin)
			got := strings.Join(srv.sawRanges(), ",")
			if got != tt.wantRange {
				t.Errorf("Range headers sent = %q; want %q", got, tt.wantRange)
			}
		})
	}
}

func TestCheckTruncatedThenResumed(t *testing.T) {
	pub, priv := testKey(1)
	r := makeRelease(t, priv, "v1.1.0", 200_000)
	e := newEnv(t, pub, "v1.0.0")
	srv := newServer(t, r)
	srv.truncate = 70_000
	e.opts.BaseURL = srv.URL
	u, _ := New(e.opts)
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrDownload) {
		t.Fatalf("Check(truncated) = %v; want ErrDownload", err)
	}
	e.liveIs(t, e.old)
	srv.truncate = 0
	res, err := u.Check(context.Background())
	if err != nil || !res.Installed {
		t.Fatalf("Check(after) = %+v, %v; want installed", res, err)
	}
	if got := strings.Join(srv.sawRanges(), ","); got != "bytes=70000-" {
		t.Errorf("Range headers = %q; want bytes=70000-", got)
	}
	e.liveIs(t, r.bin)
}

func TestCheckSelfTestFails(t *testing.T) {
	pub, priv := testKey(1)
	r := makeRelease(t, priv, "v1.1.0", 5000)
	e := newEnv(t, pub, "v1.0.0")
	e.opts.BaseURL = newServer(t, r).URL
	e.opts.SelfTest = func(context.Context, string) error { return errors.New("config does not parse") }
	u, _ := New(e.opts)
	if _, err := u.Check(context.Background()); !errors.Is(err, ErrSelfTest) {
		t.Fatalf("Check = %v; want ErrSelfTest", err)
	}
	e.liveIs(t, e.old)
	for _, p := range []string{e.live + ".new", e.live + ".prev", TrialMarkerPath(e.data)} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed self-test", p)
		}
	}
}

func TestCheckRefusesDuringTrialAndRolledBack(t *testing.T) {
	pub, priv := testKey(1)
	r := makeRelease(t, priv, "v1.1.0", 5000)
	e := newEnv(t, pub, "v1.0.0")
	e.opts.BaseURL = newServer(t, r).URL
	saveState(newLayout(e.data), State{RolledBack: []string{"v1.1.0"}, RolledBackSHA256: []string{r.m.SHA256}})
	u, _ := New(e.opts)
	res, err := u.Check(context.Background())
	if err != nil || res.Installed || !strings.Contains(res.Detail, "rolled back") {
		t.Fatalf("Check(rolled back version) = %+v, %v; want skipped", res, err)
	}
	e.liveIs(t, e.old)
}

func TestApply(t *testing.T) {
	pub, priv := testKey(1)
	_, evil := testKey(9)
	good := makeRelease(t, priv, "v1.1.0", 100_000)
	older := makeRelease(t, priv, "v0.9.0", 1000)
	wrong := good
	wrong.sig = Sign(evil, good.manifest)
	tests := []struct {
		name  string
		file  func(t *testing.T, dir string) string
		force bool
		want  error
	}{
		{"bundle", func(t *testing.T, d string) string { return writeFile(t, d, "b", good.bundle(t)) }, false, nil},
		{"release dir", func(t *testing.T, d string) string { return writeDir(t, d, good) }, false, nil},
		{"bundle, wrong key", func(t *testing.T, d string) string { return writeFile(t, d, "b", wrong.bundle(t)) }, false, ErrBadSignature},
		{"bundle, flipped binary byte", func(t *testing.T, d string) string {
			b := good.bundle(t)
			b[len(b)-10] ^= 1
			return writeFile(t, d, "b", b)
		}, false, ErrMismatch},
		{"bundle, flipped manifest byte", func(t *testing.T, d string) string {
			b := good.bundle(t)
			b[bundleHeaderSize+12] ^= 1
			return writeFile(t, d, "b", b)
		}, false, ErrBadSignature},
		{"bundle, truncated", func(t *testing.T, d string) string {
			b := good.bundle(t)
			return writeFile(t, d, "b", b[:len(b)-1])
		}, false, ErrMismatch},
		{"bundle, extra byte", func(t *testing.T, d string) string {
			return writeFile(t, d, "b", append(good.bundle(t), 0))
		}, false, ErrMismatch},
		{"dir, unsigned", func(t *testing.T, d string) string {
			p := writeDir(t, d, good)
			os.Remove(filepath.Join(p, SigName))
			return p
		}, false, ErrUnsigned},
		{"not a bundle", func(t *testing.T, d string) string { return writeFile(t, d, "b", good.bin) }, false, ErrBadBundle},
		{"older", func(t *testing.T, d string) string { return writeFile(t, d, "b", older.bundle(t)) }, false, ErrNotNewer},
		{"older, forced", func(t *testing.T, d string) string { return writeFile(t, d, "b", older.bundle(t)) }, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pub, "v1.0.0")
			e.opts.Force = tt.force
			res, err := Apply(context.Background(), tt.file(t, t.TempDir()), e.opts)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || res.Installed {
					t.Fatalf("Apply = %+v, %v; want %v", res, err, tt.want)
				}
				e.liveIs(t, e.old)
				if s := mustState(t, e.data); s.Last == nil || s.Last.Kind != EventRefused {
					t.Errorf("state.Last = %+v; want the refusal audited", s.Last)
				}
				return
			}
			if err != nil || !res.Installed {
				t.Fatalf("Apply = %+v, %v; want installed", res, err)
			}
			if tt.force {
				e.liveIs(t, older.bin)
			} else {
				e.liveIs(t, good.bin)
			}
		})
	}
}

func TestApplyBusy(t *testing.T) {
	pub, priv := testKey(1)
	good := makeRelease(t, priv, "v1.1.0", 1000)
	e := newEnv(t, pub, "v1.0.0")
	unlock, err := lock(newLayout(e.data))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := Apply(context.Background(), writeFile(t, t.TempDir(), "b", good.bundle(t)), e.opts); !errors.Is(err, ErrBusy) {
		t.Fatalf("Apply while locked = %v; want ErrBusy", err)
	}
}

func TestRunSchedule(t *testing.T) {
	pub, priv := testKey(1)
	r := makeRelease(t, priv, "v1.0.0", 1000) // not newer: every check does nothing
	e := newEnv(t, pub, "v1.0.0")
	srv := newServer(t, r)
	fake := clock.NewFake(t0)
	e.opts.BaseURL, e.opts.Clock = srv.URL, fake
	e.opts.Interval, e.opts.Jitter = time.Hour, 10*time.Minute
	e.opts.Rand = rand.New(rand.NewPCG(1, 2))
	u, _ := New(e.opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := u.Run(ctx); done <- err }()
	// Each round: one timer armed; advancing past interval+jitter fires
	// one check of two small requests (manifest, sig).
	for i := 1; i <= 3; i++ {
		fake.WaitPending(1)
		fake.Advance(time.Hour + 10*time.Minute)
		for srv.requests() < 2*i {
			time.Sleep(time.Millisecond)
		}
	}
	fake.WaitPending(1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
	if n := srv.requests(); n != 6 {
		t.Errorf("requests = %d; want 6 (3 checks)", n)
	}
}

func TestJitterBounds(t *testing.T) {
	pub, _ := testKey(1)
	e := newEnv(t, pub, "v1.0.0")
	e.opts.BaseURL, e.opts.Jitter = "http://x", time.Minute
	e.opts.Rand = rand.New(rand.NewPCG(3, 4))
	u, _ := New(e.opts)
	seen := map[time.Duration]bool{}
	for range 100 {
		j := u.jitter()
		if j < 0 || j >= time.Minute {
			t.Fatalf("jitter() = %v; want in [0, 1m)", j)
		}
		seen[j] = true
	}
	if len(seen) < 50 {
		t.Errorf("jitter() gave %d distinct values of 100; want spread", len(seen))
	}
}

func TestNewNeedsKeys(t *testing.T) {
	if _, err := New(Options{DataDir: "d", LivePath: "l", BaseURL: "u"}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("New(no keys) = %v; want ErrNoKeys", err)
	}
	if _, err := New(Options{DataDir: "d", LivePath: "l", TrustedKeys: []ed25519.PublicKey{make([]byte, 32)}}); err == nil {
		t.Errorf("New(no URL) = nil; want an error")
	}
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeDir(t *testing.T, dir string, r rel) string {
	t.Helper()
	writeFile(t, dir, ManifestName, r.manifest)
	writeFile(t, dir, SigName, r.sig)
	writeFile(t, dir, BinaryName, r.bin)
	return dir
}
