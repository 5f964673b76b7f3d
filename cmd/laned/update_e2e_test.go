package main

// The end-to-end proof of the update: real builds of laned stamped by
// ldflags, a temp layout, an httptest update server, the real guard script.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"laned/edge/update"
)

// e2eBuilds are the binaries every subtest uses.
type e2eBuilds struct {
	dir     string
	key     string // private key file
	pub     string
	arch    string
	release map[string]string // name → release dir (manifest.json, manifest.sig, laned, laned.bundle)
	v100    []byte            // the v1.0.0 binary
}

func buildE2E(t *testing.T) *e2eBuilds {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("no go tool to build laned: %v", err)
	}
	start := time.Now()
	b := &e2eBuilds{dir: t.TempDir(), arch: update.Arch(), release: map[string]string{}}
	type build struct{ name, ldflags string }
	builds := []build{
		{"v1.0.0", "-X main.version=v1.0.0"},
		{"v1.1.0", "-X main.version=v1.1.0"},
		{"v1.2.0-unhealthy", "-X main.version=v1.2.0 -X main.healthBroken=1"},
		{"v1.3.0-broken-selftest", "-X main.version=v1.3.0 -X main.selftestBroken=1"},
		{"v1.4.0-crash", "-X main.version=v1.4.0 -X main.crashAfter=3s"},
	}
	// The first build compiles; the others only relink. Run those two at a
	// time (the machine has two cores).
	bin := func(name string) string { return filepath.Join(b.dir, "build", name, "laned") }
	goBuild := func(bd build) error {
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w "+bd.ldflags, "-o", bin(bd.name), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", bd.name, err, out)
		}
		return nil
	}
	if err := goBuild(builds[0]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(builds))
	for i, bd := range builds[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i+1] = goBuild(bd) }()
		if i%2 == 1 {
			wg.Wait()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d builds of laned in %v", len(builds), time.Since(start).Round(time.Millisecond))

	// Keys and releases through the CLI itself.
	tool := bin("v1.0.0")
	b.key = filepath.Join(b.dir, "release.key")
	out := mustRun(t, tool, nil, "release", "keygen", "-out", b.key)
	b.pub, _, _ = strings.Cut(out, "\n") // the public key; stderr follows
	if fi, err := os.Stat(b.key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keygen wrote %v, %v; want a 0600 key file", fi, err)
	}
	sign := func(name, buildName, version string) {
		dir := filepath.Join(b.dir, "rel", name)
		mustRun(t, tool, nil, "release", "sign", "--key", b.key, "--version", version, "--arch", b.arch,
			"--out", dir, "--created", "1767225600", bin(buildName))
		b.release[name] = dir
	}
	sign("v1.1.0", "v1.1.0", "v1.1.0")
	sign("v1.2.0-unhealthy", "v1.2.0-unhealthy", "v1.2.0")
	sign("v1.3.0-broken-selftest", "v1.3.0-broken-selftest", "v1.3.0")
	sign("v1.4.0-crash", "v1.4.0-crash", "v1.4.0")
	sign("v1.0.0", "v1.0.0", "v1.0.0") // to verify the old live binary
	// What `release sign` refuses to make, signed with the key directly:
	// an older version, and binaries signed as a version they are not.
	b.signDirect(t, "v0.9.0", bin("v1.0.0"), "v0.9.0")
	b.signDirect(t, "v1.1.0-as-v1.1.1", bin("v1.1.0"), "v1.1.1")
	b.signDirect(t, "v1.4.0-crash-as-v1.4.1", bin("v1.4.0-crash"), "v1.4.1")
	b.signDirect(t, "v1.4.0-crash-as-v9.0.0", bin("v1.4.0-crash"), "v9.0.0")
	var err error
	if b.v100, err = os.ReadFile(bin("v1.0.0")); err != nil {
		t.Fatal(err)
	}
	return b
}

// signDirect makes a release dir of bin signed as version with the
// package's own functions, bypassing `release sign`'s stamp check.
func (b *e2eBuilds) signDirect(t *testing.T, name, bin, version string) {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := os.ReadFile(b.key)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := update.ParsePrivateKey(kb)
	if err != nil {
		t.Fatal(err)
	}
	m, err := update.NewManifest(version, b.arch, update.DefaultChannel, time.Unix(1767225600, 0), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mb := m.Marshal()
	sig := update.Sign(priv, mb)
	var bundle bytes.Buffer
	if err := update.WriteBundle(&bundle, mb, sig, bytes.NewReader(data), m.Size); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(b.dir, "rel", name)
	os.MkdirAll(dir, 0o755)
	for n, d := range map[string][]byte{update.BinaryName: data, update.ManifestName: mb, update.SigName: sig, update.BinaryName + ".bundle": bundle.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b.release[name] = dir
}

func mustRun(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	out, err := runBin(bin, env, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return out
}

func runBin(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// e2eServer serves one release dir at /stable/{arch}/ with knobs to break it.
type e2eServer struct {
	mu       sync.Mutex
	files    map[string][]byte
	ranges   []string
	truncate int
	*httptest.Server
}

func newE2EServer(t *testing.T, b *e2eBuilds, release string) *e2eServer {
	s := &e2eServer{files: map[string][]byte{}}
	for _, n := range []string{update.ManifestName, update.SigName, update.BinaryName} {
		data, err := os.ReadFile(filepath.Join(b.release[release], n))
		if err != nil {
			t.Fatal(err)
		}
		s.files["/stable/"+b.arch+"/"+n] = data
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		data, ok := s.files[r.URL.Path]
		if rg := r.Header.Get("Range"); rg != "" {
			s.ranges = append(s.ranges, rg)
		}
		trunc := s.truncate
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if trunc > 0 && strings.HasSuffix(r.URL.Path, "/"+update.BinaryName) {
			data = data[:trunc]
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *e2eServer) edit(f func(files map[string][]byte, dir string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.files {
		f(s.files, strings.TrimSuffix(k, filepath.Base(k)))
		return
	}
}

// e2eSite is one controller: live binary v1.0.0, data dir, configuration.
type e2eSite struct {
	b                  *e2eBuilds
	live, data, config string
	guard              string
}

// installedSite is a site whose check has installed release from a server
// of its own, the live binary already release's.
func installedSite(t *testing.T, b *e2eBuilds, release string) (*e2eServer, *e2eSite) {
	t.Helper()
	srv := newE2EServer(t, b, release)
	s := newSite(t, b, srv.URL)
	mustRun(t, s.live, nil, "update", "check", "-restart=false", "-config", s.config)
	s.liveVerifies(t, release)
	return srv, s
}

func newSite(t *testing.T, b *e2eBuilds, url string) *e2eSite {
	dir := t.TempDir()
	s := &e2eSite{b: b, live: filepath.Join(dir, "bin", "laned"), data: filepath.Join(dir, "data"), config: filepath.Join(dir, "laned.conf")}
	s.guard, _ = filepath.Abs(filepath.Join("..", "..", "scripts", "laned-guard"))
	os.MkdirAll(filepath.Dir(s.live), 0o755)
	os.MkdirAll(s.data, 0o755)
	if err := os.WriteFile(s.live, b.v100, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("# laned test site\ndata_dir = %q\nupdate_url = %q\ntrusted_keys = [%q]\nupdate_max_starts = 2\nupdate_reserved_bytes = 1048576\n", s.data, url, b.pub)
	if err := os.WriteFile(s.config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// laned runs the live binary.
func (s *e2eSite) laned(env []string, args ...string) (string, error) {
	return runBin(s.live, env, args...)
}

// restart is what systemd does: the guard, then the new process, which here
// runs its trial with the health hold made instant.
func (s *e2eSite) restart(t *testing.T) (string, error) {
	t.Helper()
	return s.restartHolding(t, "0")
}

// restartHolding is restart with a trial that holds health for hold: a
// binary that crashes meanwhile ends the process, as under systemd.
func (s *e2eSite) restartHolding(t *testing.T, hold string) (string, error) {
	t.Helper()
	out, err := exec.Command("/bin/sh", s.guard, s.live, update.TrialMarkerPath(s.data)).CombinedOutput()
	if err != nil {
		t.Fatalf("laned-guard: %v: %s", err, out)
	}
	return s.laned(nil, "update", "trial", "-config", s.config, "-hold", hold, "-every", hold)
}

func (s *e2eSite) version(t *testing.T) string {
	t.Helper()
	out, err := s.laned(nil, "version")
	if err != nil {
		t.Fatalf("live laned version: %v: %s", err, out)
	}
	f := strings.Fields(out)
	if len(f) < 2 {
		t.Fatalf("laned version printed %q", out)
	}
	return f[1]
}

// liveVerifies checks that the live path holds a complete binary matching
// one of the signed releases, and returns that release's version.
func (s *e2eSite) liveVerifies(t *testing.T, candidates ...string) string {
	t.Helper()
	bin, err := os.ReadFile(s.live)
	if err != nil {
		t.Fatalf("live path: %v", err)
	}
	h := sha256.Sum256(bin)
	got := hex.EncodeToString(h[:])
	pub, _ := update.ParsePublicKey(s.b.pub)
	for _, c := range candidates {
		dir := s.b.release[c]
		mb, _ := os.ReadFile(filepath.Join(dir, update.ManifestName))
		sig, _ := os.ReadFile(filepath.Join(dir, update.SigName))
		m, err := update.Verify(mb, sig, []ed25519.PublicKey{pub})
		if err != nil {
			t.Fatalf("release %s does not verify: %v", c, err)
		}
		if m.SHA256 == got && m.Size == int64(len(bin)) {
			return m.Version
		}
	}
	t.Fatalf("live binary (%d bytes, sha256 %s) is none of the signed releases %v", len(bin), got, candidates)
	return ""
}

// expectRunning checks that the live binary runs version and that
// `update status` says each of status.
func (s *e2eSite) expectRunning(t *testing.T, version string, status ...string) {
	t.Helper()
	if v := s.version(t); v != version {
		t.Errorf("running version = %s; want %s", v, version)
	}
	s.expectStatus(t, status...)
}

// expectStatus checks that `update status` says each of want.
func (s *e2eSite) expectStatus(t *testing.T, want ...string) {
	t.Helper()
	st := s.status(t)
	for _, w := range want {
		if !strings.Contains(st, w) {
			t.Errorf("update status = %s; want %q in it", st, w)
		}
	}
}

func (s *e2eSite) status(t *testing.T) string {
	t.Helper()
	return mustRun(t, s.live, nil, "update", "status", "-config", s.config)
}

func bin100(b *e2eBuilds) string { return filepath.Join(b.dir, "build", "v1.0.0", "laned") }

func TestUpdateE2E(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for the guard script")
	}
	b := buildE2E(t)
	check := []string{"update", "check", "-restart=false"}

	t.Run("good update ends with the new version running", func(t *testing.T) {
		srv := newE2EServer(t, b, "v1.1.0")
		s := newSite(t, b, srv.URL)
		out, err := s.laned(nil, append(check, "-config", s.config)...)
		if err != nil || !strings.Contains(out, "installed v1.1.0 over v1.0.0") {
			t.Fatalf("update check = %v: %s", err, out)
		}
		if v := s.liveVerifies(t, "v1.1.0"); v != "v1.1.0" {
			t.Fatalf("live = %s", v)
		}
		if prev, _ := os.ReadFile(s.live + ".prev"); !bytes.Equal(prev, b.v100) {
			t.Errorf("live.prev is not the v1.0.0 binary")
		}
		out, err = s.restart(t)
		if err != nil || !strings.Contains(out, "v1.1.0 committed") {
			t.Fatalf("trial = %v: %s", err, out)
		}
		s.expectRunning(t, "v1.1.0", "floor: v1.1.0", "commit v1.1.0")
		// The next check finds nothing newer.
		out, err = s.laned(nil, append(check, "-config", s.config)...)
		if err != nil || !strings.Contains(out, "nothing installed") {
			t.Errorf("second check = %v: %s", err, out)
		}
	})

	refusals := []struct {
		name    string
		release string
		breakIt func(files map[string][]byte, dir string)
		trunc   int
		want    string
	}{
		{"flipped byte", "v1.1.0", func(f map[string][]byte, d string) {
			bin := bytes.Clone(f[d+update.BinaryName])
			bin[len(bin)/2] ^= 1
			f[d+update.BinaryName] = bin
		}, 0, "does not match manifest"},
		{"wrong key", "v1.1.0", func(f map[string][]byte, d string) {
			_, keyFile, err := update.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			evil, err := update.ParsePrivateKey(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			f[d+update.SigName] = update.Sign(evil, f[d+update.ManifestName])
		}, 0, "bad manifest signature"},
		{"unsigned manifest", "v1.1.0", func(f map[string][]byte, d string) { delete(f, d+update.SigName) }, 0, "signature"},
		{"older version", "v0.9.0", nil, 0, "nothing installed"},
		{"truncated download", "v1.1.0", nil, 100_000, "short"},
		{"self-test of the new binary fails", "v1.3.0-broken-selftest", nil, 0, "self-test of new binary failed"},
		{"binary stamped v1.1.0 signed as v1.1.1", "v1.1.0-as-v1.1.1", nil, 0,
			"binary is stamped v1.1.0 " + b.arch + ", signed manifest says v1.1.1 " + b.arch + ": binary's stamped version differs from the signed manifest"},
	}
	for _, tt := range refusals {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			srv := newE2EServer(t, b, tt.release)
			if tt.breakIt != nil {
				srv.edit(tt.breakIt)
			}
			srv.truncate = tt.trunc
			s := newSite(t, b, srv.URL)
			out, _ := s.laned(nil, append(check, "-config", s.config)...)
			if !strings.Contains(out, tt.want) {
				t.Errorf("update check printed %q; want %q", out, tt.want)
			}
			if live, _ := os.ReadFile(s.live); !bytes.Equal(live, b.v100) {
				t.Fatalf("live binary changed by a refused update")
			}
			for _, p := range []string{s.live + ".new", update.TrialMarkerPath(s.data)} {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s left by a refused update", p)
				}
			}
			if v := s.version(t); v != "v1.0.0" {
				t.Errorf("running version = %s; want v1.0.0", v)
			}
		})
	}

	t.Run("update failing its health check is rolled back", func(t *testing.T) {
		_, s := installedSite(t, b, "v1.2.0-unhealthy")
		for start := 1; start <= 2; start++ { // update_max_starts = 2
			out, err := s.restart(t)
			if err == nil || !strings.Contains(out, "health check failed") {
				t.Fatalf("start %d: trial = %v: %s; want a failed health check", start, err, out)
			}
		}
		out, err := s.restart(t) // the guard rolls back before this start
		if err != nil || !strings.Contains(out, "trial: none") {
			t.Fatalf("start after rollback: %v: %s", err, out)
		}
		if live, _ := os.ReadFile(s.live); !bytes.Equal(live, b.v100) {
			t.Fatalf("live is not v1.0.0 after the rollback")
		}
		s.expectRunning(t, "v1.0.0", "rollback v1.2.0 (from v1.0.0)", "rolled back versions: v1.2.0")
		out, err = s.laned(nil, append(check, "-config", s.config)...)
		if err != nil || !strings.Contains(out, "rolled back before") {
			t.Errorf("check after rollback = %v: %s; want the version skipped", err, out)
		}
	})

	t.Run("release sign refuses a binary stamped another version", func(t *testing.T) {
		out, err := runBin(bin100(b), nil, "release", "sign", "--key", b.key, "--version", "v1.1.1", "--arch", b.arch,
			"--out", filepath.Join(t.TempDir(), "rel"), filepath.Join(b.dir, "build", "v1.1.0", "laned"))
		if err == nil || !strings.Contains(out, "is stamped v1.1.0 "+b.arch+", not v1.1.1 "+b.arch) {
			t.Fatalf("release sign v1.1.0 as v1.1.1 = %v: %s; want refused", err, out)
		}
	})

	t.Run("push of a binary stamped another version is refused even forced", func(t *testing.T) {
		s := newSite(t, b, "http://127.0.0.1:1")
		bundle := filepath.Join(b.release["v1.1.0-as-v1.1.1"], "laned.bundle")
		out, err := s.laned(nil, "update", "apply", "-force", "-config", s.config, "-restart=false", bundle)
		if err == nil || !strings.Contains(out, "binary is stamped v1.1.0") {
			t.Fatalf("apply -force = %v: %s; want refused", err, out)
		}
		if live, _ := os.ReadFile(s.live); !bytes.Equal(live, b.v100) {
			t.Fatalf("live binary changed by a refused push")
		}
	})

	t.Run("crash-looping update is rolled back and never re-installed", func(t *testing.T) {
		srv, s := installedSite(t, b, "v1.4.0-crash")
		// Each start panics a few seconds in, before its trial could
		// commit; the test waits for the process to end, not for a time.
		for start := 1; start <= 2; start++ { // update_max_starts = 2
			out, err := s.restartHolding(t, "1h")
			if err == nil || !strings.Contains(out, "panic: laned: built with main.crashAfter") {
				t.Fatalf("start %d: trial = %v: %s; want the stamped crash", start, err, out)
			}
			if _, err := os.Stat(update.TrialMarkerPath(s.data)); err != nil {
				t.Fatalf("start %d: trial marker gone (%v): nothing would roll back", start, err)
			}
		}
		out, err := s.restart(t) // the guard rolls back before this start
		if err != nil || !strings.Contains(out, "trial: none") {
			t.Fatalf("start after rollback: %v: %s", err, out)
		}
		if live, _ := os.ReadFile(s.live); !bytes.Equal(live, b.v100) {
			t.Fatalf("live is not v1.0.0 after the rollback")
		}
		crash, _ := os.ReadFile(filepath.Join(b.release["v1.4.0-crash"], update.BinaryName))
		sum := sha256.Sum256(crash)
		s.expectStatus(t, "rollback v1.4.0 (from v1.0.0)", "refused build: sha256 "+hex.EncodeToString(sum[:]))
		// The same binary, offered again under its own or any other
		// version, pulled or pushed (even forced: the stamp refuses it).
		for _, rel := range []string{"v1.4.0-crash", "v1.4.0-crash-as-v1.4.1", "v1.4.0-crash-as-v9.0.0"} {
			srv2 := newE2EServer(t, b, rel)
			conf, _ := os.ReadFile(s.config)
			os.WriteFile(s.config, bytes.Replace(conf, []byte(srv.URL), []byte(srv2.URL), 1), 0o644)
			srv = srv2
			out, err := s.laned(nil, append(check, "-config", s.config)...)
			if err != nil || !strings.Contains(out, "nothing installed") || !strings.Contains(out, "rolled back before") {
				t.Errorf("check of %s = %v: %s; want it skipped as rolled back", rel, err, out)
			}
			out, err = s.laned(nil, "update", "apply", "-config", s.config, "-restart=false", filepath.Join(b.release[rel], "laned.bundle"))
			if err == nil || !strings.Contains(out, "rolled back before") {
				t.Errorf("apply of %s = %v: %s; want refused as rolled back", rel, err, out)
			}
			if rel != "v1.4.0-crash" {
				out, err = s.laned(nil, "update", "apply", "-force", "-config", s.config, "-restart=false", filepath.Join(b.release[rel], "laned.bundle"))
				if err == nil || !strings.Contains(out, "binary is stamped v1.4.0") {
					t.Errorf("apply -force of %s = %v: %s; want refused by its stamp", rel, err, out)
				}
			}
			if live, _ := os.ReadFile(s.live); !bytes.Equal(live, b.v100) {
				t.Fatalf("the rolled-back binary came back as %s", rel)
			}
		}
	})

	t.Run("install script", func(t *testing.T) {
		root := t.TempDir()
		script, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "install-laned"))
		bin := filepath.Join(b.dir, "build", "v1.0.0", "laned")
		out, err := exec.Command("/bin/sh", script, bin, root).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "laned installed: laned v1.0.0") {
			t.Fatalf("install-laned = %v: %s", err, out)
		}
		for p, mode := range map[string]os.FileMode{
			"usr/local/bin/laned":              0o755,
			"usr/local/lib/laned/laned-guard":  0o755,
			"etc/systemd/system/laned.service": 0o644,
		} {
			fi, err := os.Stat(filepath.Join(root, p))
			if err != nil || fi.Mode().Perm() != mode {
				t.Errorf("installed %s: %v, %v; want mode %v", p, fi, err, mode)
			}
		}
		unit, _ := os.ReadFile(filepath.Join(root, "etc/systemd/system/laned.service"))
		for _, want := range []string{"ExecStartPre=-/usr/local/lib/laned/laned-guard /usr/local/bin/laned /var/lib/laned/update/trial", "Restart=always", "StartLimitIntervalSec=0"} {
			if !strings.Contains(string(unit), want) {
				t.Errorf("laned.service lacks %q", want)
			}
		}
	})

	t.Run("push: update apply of a bundle", func(t *testing.T) {
		s := newSite(t, b, "http://127.0.0.1:1")
		bundle := filepath.Join(b.release["v1.1.0"], "laned.bundle")
		bad := filepath.Join(t.TempDir(), "bad.bundle")
		data, _ := os.ReadFile(bundle)
		data = bytes.Clone(data)
		data[len(data)-100] ^= 1
		os.WriteFile(bad, data, 0o644)
		if out, err := s.laned(nil, "update", "apply", "-config", s.config, "-restart=false", bad); err == nil || !strings.Contains(out, "does not match manifest") {
			t.Fatalf("apply(flipped bundle) = %v: %s; want refused", err, out)
		}
		if live, _ := os.ReadFile(s.live); !bytes.Equal(live, b.v100) {
			t.Fatalf("live binary changed by a refused push")
		}
		out := mustRun(t, s.live, nil, "update", "apply", "-config", s.config, "-restart=false", bundle)
		if !strings.Contains(out, "installed v1.1.0") {
			t.Fatalf("apply = %s", out)
		}
		if out, err := s.restart(t); err != nil || s.version(t) != "v1.1.0" {
			t.Fatalf("restart after push: %v: %s", err, out)
		}
	})

	for _, step := range []string{update.StepDownload, update.StepVerify, update.StepStage, update.StepRename, update.StepSwapped} {
		t.Run("killed at "+step, func(t *testing.T) {
			srv := newE2EServer(t, b, "v1.1.0")
			s := newSite(t, b, srv.URL)
			out, err := s.laned([]string{"LANED_TEST_KILL_AT=" + step}, append(check, "-config", s.config)...)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("update check with kill at %s = %v: %s; want SIGKILL", step, err, out)
			}
			got := s.liveVerifies(t, "v1.0.0", "v1.1.0")
			wantAfterKill := "v1.0.0"
			if step == update.StepSwapped {
				wantAfterKill = "v1.1.0"
			}
			if got != wantAfterKill {
				t.Errorf("live after kill at %s = %s; want %s", step, got, wantAfterKill)
			}
			// systemd restarts whatever is live; the guard and the trial
			// settle, and a new check finishes the job.
			s.restart(t)
			s.liveVerifies(t, "v1.0.0", "v1.1.0")
			if s.version(t) == "v1.0.0" {
				out := mustRun(t, s.live, nil, append(check, "-config", s.config)...)
				if !strings.Contains(out, "installed v1.1.0") {
					t.Fatalf("check after kill at %s = %s", step, out)
				}
				if out, err := s.restart(t); err != nil {
					t.Fatalf("trial after kill at %s: %v: %s", step, err, out)
				}
			}
			if v := s.liveVerifies(t, "v1.1.0"); v != "v1.1.0" || s.version(t) != "v1.1.0" {
				t.Errorf("after kill at %s and a new check: live %s", step, v)
			}
			if step == update.StepDownload {
				srv.mu.Lock()
				rg := strings.Join(srv.ranges, ",")
				srv.mu.Unlock()
				if !strings.HasPrefix(rg, "bytes=") {
					t.Errorf("the check after a killed download sent Range %q; want a resume", rg)
				}
			}
		})
	}
}
