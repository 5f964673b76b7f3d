package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Limits every parser enforces before it allocates or trusts a length.
const (
	MaxBinarySize   = 64 << 20 // a laned binary is ~15 MB
	MaxManifestSize = 4 << 10
	MaxSigSize      = 256 // base64 of a 64-byte signature is 88
)

// File names of a release directory, as served at {base}/{channel}/{arch}/.
const (
	ManifestName = "manifest.json"
	SigName      = "manifest.sig"
	BinaryName   = "laned"
)

// Manifest describes one release binary. The signature covers the exact
// bytes it was serialised to, never a re-encoding.
type Manifest struct {
	Version string `json:"version"` // semver-ish: v1.2.3, 1.2.3-rc1
	Arch    string `json:"arch"`    // linux/arm64, linux/arm/v6, linux/arm/v7, linux/amd64
	Size    int64  `json:"size"`    // bytes of the binary
	SHA256  string `json:"sha256"`  // lower-case hex
	Created int64  `json:"created"` // UNIX seconds
	Channel string `json:"channel"` // stable, beta, …
}

// ParseManifest decodes and validates manifest bytes. Unknown fields are
// ignored so that newer releases stay installable by older controllers.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) == 0 || len(b) > MaxManifestSize {
		return m, fmt.Errorf("update: parse manifest: %d bytes: %w", len(b), ErrBadManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("update: parse manifest: %v: %w", err, ErrBadManifest)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("update: parse manifest: trailing data: %w", ErrBadManifest)
	}
	if err := m.Validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// Validate checks every field.
func (m Manifest) Validate() error {
	bad := func(f string, args ...any) error {
		return fmt.Errorf("update: manifest: %s: %w", fmt.Sprintf(f, args...), ErrBadManifest)
	}
	switch {
	case !ValidVersion(m.Version) || len(m.Version) > 64:
		return bad("version %q", m.Version)
	case !validArch(m.Arch):
		return bad("arch %q", m.Arch)
	case m.Size <= 0 || m.Size > MaxBinarySize:
		return bad("size %d", m.Size)
	case !validSHA(m.SHA256):
		return bad("sha256 %q", m.SHA256)
	case m.Created <= 0:
		return bad("created %d", m.Created)
	case !validChannel(m.Channel):
		return bad("channel %q", m.Channel)
	}
	return nil
}

func validArch(s string) bool {
	p := strings.Split(s, "/")
	if len(p) < 2 || len(p) > 3 {
		return false
	}
	for _, x := range p {
		if x == "" || len(x) > 16 || !isIdent(x) || strings.Contains(x, "-") {
			return false
		}
	}
	return true
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func validChannel(s string) bool {
	if s == "" || len(s) > 32 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Marshal returns the manifest's canonical bytes (what gets signed).
func (m Manifest) Marshal() []byte {
	b, _ := json.MarshalIndent(m, "", "  ") // cannot fail: plain fields
	return append(b, '\n')
}

// NewManifest hashes bin and returns its validated manifest.
func NewManifest(version, arch, channel string, created time.Time, bin io.Reader) (Manifest, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(bin, MaxBinarySize+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("update: new manifest: %w", err)
	}
	m := Manifest{
		Version: version, Arch: arch, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
		Created: created.Unix(), Channel: channel,
	}
	return m, m.Validate()
}

// Sign returns the manifest.sig content for manifest bytes: the base64 of
// the ed25519 signature over exactly those bytes, with a newline.
func Sign(priv ed25519.PrivateKey, manifest []byte) []byte {
	s := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, manifest))
	return []byte(s + "\n")
}

// Verify checks sig (manifest.sig content) over the exact manifest bytes
// against every trusted key, and only then parses the manifest.
func Verify(manifest, sig []byte, keys []ed25519.PublicKey) (Manifest, error) {
	if len(keys) == 0 {
		return Manifest{}, fmt.Errorf("update: verify: %w", ErrNoKeys)
	}
	sig = bytes.TrimSpace(sig)
	if len(sig) == 0 {
		return Manifest{}, fmt.Errorf("update: verify: %w", ErrUnsigned)
	}
	if len(sig) > MaxSigSize || len(manifest) > MaxManifestSize {
		return Manifest{}, fmt.Errorf("update: verify: oversized: %w", ErrBadSignature)
	}
	raw, err := base64.StdEncoding.DecodeString(string(sig))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return Manifest{}, fmt.Errorf("update: verify: malformed signature: %w", ErrBadSignature)
	}
	ok := false
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, manifest, raw) {
			ok = true
			break
		}
	}
	if !ok {
		return Manifest{}, fmt.Errorf("update: verify: no trusted key: %w", ErrBadSignature)
	}
	return ParseManifest(manifest)
}

// ParsePublicKey decodes a base64 ed25519 public key (as in the
// configuration's trusted_keys).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("update: parse public key: not a base64 ed25519 key")
	}
	return ed25519.PublicKey(b), nil
}

// ParsePublicKeys decodes every key; one bad key is an error (a typo in the
// configuration must not silently drop a key during a rotation).
func ParsePublicKeys(ss []string) ([]ed25519.PublicKey, error) {
	keys := make([]ed25519.PublicKey, 0, len(ss))
	for i, s := range ss {
		k, err := ParsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("update: trusted key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// privateKeyHeader starts a private key file; the rest is the base64 seed.
const privateKeyHeader = "laned-ed25519-private-key\n"

// GenerateKey makes a key pair from rand. It returns the base64 public key
// (for trusted_keys) and the private key file content (keep it 0600).
func GenerateKey(rand io.Reader) (pub string, privFile []byte, err error) {
	pk, sk, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", nil, fmt.Errorf("update: generate key: %w", err)
	}
	pub = base64.StdEncoding.EncodeToString(pk)
	privFile = []byte(privateKeyHeader + base64.StdEncoding.EncodeToString(sk.Seed()) + "\n")
	return pub, privFile, nil
}

// ParsePrivateKey decodes a private key file written by GenerateKey.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	rest, ok := bytes.CutPrefix(b, []byte(privateKeyHeader))
	if !ok {
		return nil, fmt.Errorf("update: parse private key: not a laned private key file")
	}
	seed, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(rest)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("update: parse private key: bad seed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// PublicKeyOf returns the base64 public key of priv.
func PublicKeyOf(priv ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
}

// Arch is the running binary's arch in manifest form: "linux/arm64",
// "linux/amd64", "linux/arm/v6" (GOARM from the build info).
func Arch() string {
	a := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		goarm := "7"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "GOARM" && s.Value != "" {
					goarm = strings.SplitN(s.Value, ",", 2)[0]
				}
			}
		}
		a += "/v" + goarm
	}
	return a
}
