package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/hal/clock"
)

const testArch = "linux/arm64"

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// testKey returns a deterministic key pair from seed.
func testKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// rel is a signed release for tests.
type rel struct {
	bin, manifest, sig []byte
	m                  Manifest
}

func makeRelease(t testing.TB, priv ed25519.PrivateKey, version string, size int) rel {
	t.Helper()
	bin := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), uint64(len(version))))
	for i := range bin {
		bin[i] = byte(r.Uint32())
	}
	copy(bin, "laned "+version+" ("+testArch+", go1.26, built unknown)\n")
	return signRelease(t, priv, version, bin)
}

// signRelease signs bin as version, whatever bin is stamped with.
func signRelease(t testing.TB, priv ed25519.PrivateKey, version string, bin []byte) rel {
	t.Helper()
	m, err := NewManifest(version, testArch, DefaultChannel, t0, bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	mb := m.Marshal()
	return rel{bin: bin, manifest: mb, sig: Sign(priv, mb), m: m}
}

func (r rel) bundle(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteBundle(&b, r.manifest, r.sig, bytes.NewReader(r.bin), int64(len(r.bin))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// server serves releases under /stable/linux/arm64/ and records requests.
type server struct {
	mu       sync.Mutex
	files    map[string][]byte
	ranges   []string
	noRange  bool // ignore Range: always 200
	truncate int  // serve the binary cut to this many bytes (0 = whole)
	*httptest.Server
}

func newServer(t *testing.T, r rel) *server {
	s := &server{}
	s.set(r)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) set(r rel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := "/" + DefaultChannel + "/" + testArch + "/"
	s.files = map[string][]byte{dir + ManifestName: r.manifest, dir + SigName: r.sig, dir + BinaryName: r.bin}
}

func (s *server) serve(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	b, ok := s.files[req.URL.Path]
	rg := req.Header.Get("Range")
	s.ranges = append(s.ranges, rg)
	noRange, trunc := s.noRange, s.truncate
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	if trunc > 0 && strings.HasSuffix(req.URL.Path, "/"+BinaryName) {
		b = b[:trunc]
	}
	if noRange {
		w.Write(b)
		return
	}
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(b))
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ranges)
}

func (s *server) sawRanges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.ranges {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}

// env is a temp layout: live binary "old", data dir, options.
type env struct {
	dir, data, live string
	old             []byte
	opts            Options
	selftests       []string
}

func newEnv(t *testing.T, pub ed25519.PublicKey, running string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, data: filepath.Join(dir, "data"), live: filepath.Join(dir, "bin", "laned"), old: []byte("old laned " + running)}
	os.MkdirAll(e.data, 0o755)
	os.MkdirAll(filepath.Dir(e.live), 0o755)
	if err := os.WriteFile(e.live, e.old, 0o755); err != nil {
		t.Fatal(err)
	}
	e.opts = Options{
		DataDir: e.data, LivePath: e.live, Running: running, Arch: testArch,
		TrustedKeys: []ed25519.PublicKey{pub}, Reserved: 1 << 20, Clock: clock.NewFake(t0),
		FreeSpace: func(string) (uint64, error) { return 1 << 40, nil },
		Stamp: func(_ context.Context, bin string) (string, string, error) {
			b, err := os.ReadFile(bin)
			if err != nil {
				return "", "", err
			}
			return ParseVersionLine(b)
		},
		SelfTest: func(_ context.Context, bin string) error {
			e.selftests = append(e.selftests, bin)
			return nil
		},
	}
	return e
}

func (e *env) liveIs(t *testing.T, want []byte) {
	t.Helper()
	got, err := os.ReadFile(e.live)
	if err != nil {
		t.Fatalf("read live: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("live binary = %q…; want %q…", head(got), head(want))
	}
}

func head(b []byte) string {
	if len(b) > 20 {
		b = b[:20]
	}
	return string(b)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustState(t *testing.T, dataDir string) State {
	t.Helper()
	s, err := loadState(newLayout(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
