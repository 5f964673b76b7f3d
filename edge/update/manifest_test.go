package update

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

const goodSHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var manifestTests = []struct {
	name string
	in   string
	ok   bool
}{
	{"good", `{"version":"v1.2.3","arch":"linux/arm64","size":100,"sha256":"` + goodSHA + `","created":1700000000,"channel":"stable"}`, true},
	{"armv6 rc", `{"version":"1.2.3-rc1","arch":"linux/arm/v6","size":1,"sha256":"` + goodSHA + `","created":1,"channel":"beta"}`, true},
	{"unknown field", `{"version":"v1.2.3","arch":"linux/arm64","size":100,"sha256":"` + goodSHA + `","created":1,"channel":"stable","notes":"x"}`, true},
	{"dev version", `{"version":"dev","arch":"linux/arm64","size":100,"sha256":"` + goodSHA + `","created":1,"channel":"stable"}`, false},
	{"bad arch", `{"version":"v1","arch":"linux","size":100,"sha256":"` + goodSHA + `","created":1,"channel":"stable"}`, false},
	{"arch traversal", `{"version":"v1","arch":"linux/../etc","size":100,"sha256":"` + goodSHA + `","created":1,"channel":"stable"}`, false},
	{"zero size", `{"version":"v1","arch":"linux/arm64","size":0,"sha256":"` + goodSHA + `","created":1,"channel":"stable"}`, false},
	{"too big", `{"version":"v1","arch":"linux/arm64","size":67108865,"sha256":"` + goodSHA + `","created":1,"channel":"stable"}`, false},
	{"negative size", `{"version":"v1","arch":"linux/arm64","size":-5,"sha256":"` + goodSHA + `","created":1,"channel":"stable"}`, false},
	{"upper sha", `{"version":"v1","arch":"linux/arm64","size":1,"sha256":"` + strings.ToUpper(goodSHA) + `","created":1,"channel":"stable"}`, false},
	{"short sha", `{"version":"v1","arch":"linux/arm64","size":1,"sha256":"abc","created":1,"channel":"stable"}`, false},
	{"no created", `{"version":"v1","arch":"linux/arm64","size":1,"sha256":"` + goodSHA + `","channel":"stable"}`, false},
	{"channel dots", `{"version":"v1","arch":"linux/arm64","size":1,"sha256":"` + goodSHA + `","created":1,"channel":".."}`, false},
	{"no channel", `{"version":"v1","arch":"linux/arm64","size":1,"sha256":"` + goodSHA + `","created":1}`, false},
	{"trailing", `{"version":"v1","arch":"linux/arm64","size":1,"sha256":"` + goodSHA + `","created":1,"channel":"s"}{}`, false},
	{"not json", `version=v1`, false},
	{"empty", ``, false},
	{"size string", `{"version":"v1","arch":"linux/arm64","size":"1","sha256":"` + goodSHA + `","created":1,"channel":"s"}`, false},
}

func TestParseManifest(t *testing.T) {
	for _, tt := range manifestTests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("ParseManifest(%s) = %v; want ok %v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadManifest) {
				t.Errorf("ParseManifest(%s) = %v; want ErrBadManifest", tt.in, err)
			}
			if err == nil {
				back, err := ParseManifest(m.Marshal())
				if err != nil || back != m {
					t.Errorf("ParseManifest(Marshal(%+v)) = %+v, %v; want the same", m, back, err)
				}
			}
		})
	}
	if _, err := ParseManifest(bytes.Repeat([]byte(" "), MaxManifestSize+1)); !errors.Is(err, ErrBadManifest) {
		t.Errorf("ParseManifest(oversized) = %v; want ErrBadManifest", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	for _, tt := range manifestTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if m.Validate() != nil {
			t.Fatalf("ParseManifest accepted an invalid manifest %+v", m)
		}
		back, err := ParseManifest(m.Marshal())
		if err != nil || back != m {
			t.Fatalf("round trip of %+v = %+v, %v", m, back, err)
		}
	})
}

func TestVerify(t *testing.T) {
	pub, priv := testKey(1)
	pub2, priv2 := testKey(2)
	_, evil := testKey(9)
	r := makeRelease(t, priv, "v1.1.0", 1000)
	r2 := makeRelease(t, priv2, "v1.1.0", 1000)
	flipped := bytes.Clone(r.manifest)
	flipped[10] ^= 1
	tests := []struct {
		name     string
		manifest []byte
		sig      []byte
		keys     []ed25519.PublicKey
		want     error
	}{
		{"good", r.manifest, r.sig, []ed25519.PublicKey{pub}, nil},
		{"second key of two (rotation)", r2.manifest, r2.sig, []ed25519.PublicKey{pub, pub2}, nil},
		{"wrong key", r.manifest, Sign(evil, r.manifest), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"flipped manifest byte", flipped, r.sig, []ed25519.PublicKey{pub}, ErrBadSignature},
		{"unsigned", r.manifest, nil, []ed25519.PublicKey{pub}, ErrUnsigned},
		{"blank signature", r.manifest, []byte(" \n"), []ed25519.PublicKey{pub}, ErrUnsigned},
		{"not base64", r.manifest, []byte("!!!"), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"short signature", r.manifest, []byte("AAAA"), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"no keys", r.manifest, r.sig, nil, ErrNoKeys},
		{"signed garbage", []byte("not json"), Sign(priv, []byte("not json")), []ed25519.PublicKey{pub}, ErrBadManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Verify(tt.manifest, tt.sig, tt.keys)
			if tt.want == nil {
				if err != nil || m.Version != "v1.1.0" {
					t.Fatalf("Verify = %+v, %v; want v1.1.0, nil", m, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	pub, privFile, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParsePrivateKey(privFile)
	if err != nil {
		t.Fatalf("ParsePrivateKey(GenerateKey) = %v", err)
	}
	if got := PublicKeyOf(priv); got != pub {
		t.Errorf("PublicKeyOf(parsed) = %s; want %s", got, pub)
	}
	keys, err := ParsePublicKeys([]string{pub, " " + pub + "\n"})
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParsePublicKeys = %v, %v", keys, err)
	}
	for _, bad := range []string{"", "AAAA", "not base64!"} {
		if _, err := ParsePublicKeys([]string{pub, bad}); err == nil {
			t.Errorf("ParsePublicKeys(%q) = nil; want an error", bad)
		}
	}
	for _, bad := range [][]byte{nil, []byte("laned-ed25519-private-key\nAAAA\n"), privFile[1:]} {
		if _, err := ParsePrivateKey(bad); err == nil {
			t.Errorf("ParsePrivateKey(%q) = nil; want an error", bad)
		}
	}
}
