package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"laned/edge/update"
)

func TestReleaseKeygenAndSign(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"release", "keygen", "-out", key}, nil, &out, &errb); err != nil {
		t.Fatalf("release keygen = %v: %s", err, errb.String())
	}
	pub := strings.TrimSpace(out.String())
	pk, err := update.ParsePublicKey(pub)
	if err != nil {
		t.Fatalf("keygen printed %q: %v", pub, err)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v; want 0600", fi.Mode().Perm())
	}
	if err := run(context.Background(), []string{"release", "keygen", "-out", key}, nil, &out, &errb); err == nil {
		t.Errorf("release keygen over an existing key = nil; want an error")
	}

	bin := filepath.Join(dir, "build", "laned-linux-arm64")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	// A stand-in binary: what `laned version` prints, from a script.
	script := "#!/bin/sh\necho 'laned v1.2.3 (linux/arm64, go1.26, built unknown)'\n"
	os.WriteFile(bin, []byte(script), 0o755)
	rel := filepath.Join(dir, "rel")
	out.Reset()
	args := []string{"release", "sign", "--key", key, "--version", "v1.2.3", "--arch", "linux/arm64", "--out", rel, "--created", "1767225600", bin}
	if err := run(context.Background(), args, nil, &out, &errb); err != nil {
		t.Fatalf("release sign = %v: %s", err, errb.String())
	}
	mb, _ := os.ReadFile(filepath.Join(rel, update.ManifestName))
	sig, _ := os.ReadFile(filepath.Join(rel, update.SigName))
	m, err := update.Verify(mb, sig, []ed25519.PublicKey{pk})
	if err != nil {
		t.Fatalf("Verify(signed release) = %v", err)
	}
	want := update.Manifest{Version: "v1.2.3", Arch: "linux/arm64", Size: int64(len(script)), Created: 1767225600, Channel: "stable", SHA256: m.SHA256}
	if m != want {
		t.Errorf("manifest = %+v; want %+v", m, want)
	}
	if b, _ := os.ReadFile(filepath.Join(rel, update.BinaryName)); string(b) != script {
		t.Errorf("release dir binary = %q", b)
	}
	bf, err := os.Open(filepath.Join(rel, "laned.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	fi, _ := bf.Stat()
	h, err := update.ReadBundleHeader(bf, fi.Size())
	if err != nil || !bytes.Equal(h.Manifest, mb) || !bytes.Equal(h.Sig, sig) || fi.Size()-h.BinOffset != int64(len(script)) {
		t.Errorf("bundle header = %+v, %v; want the release's manifest, sig and the binary", h, err)
	}

	bad := []struct {
		name string
		args []string
		want error
	}{
		{"no key", []string{"release", "sign", "--version", "v1", "--arch", "linux/arm64", bin}, errUsage},
		{"dev version", []string{"release", "sign", "--key", key, "--version", "dev", "--arch", "linux/arm64", bin}, update.ErrBadManifest},
		{"bad arch", []string{"release", "sign", "--key", key, "--version", "v1", "--arch", "arm64", bin}, update.ErrBadManifest},
		{"stamped another version", []string{"release", "sign", "--key", key, "--version", "v1.2.4", "--arch", "linux/arm64", "--out", t.TempDir(), bin}, update.ErrStamp},
		{"stamped another arch", []string{"release", "sign", "--key", key, "--version", "v1.2.3", "--arch", "linux/arm/v7", "--out", t.TempDir(), bin}, update.ErrStamp},
		{"not runnable", []string{"release", "sign", "--key", key, "--version", "v1.2.3", "--arch", "linux/arm64", "--out", t.TempDir(), key}, update.ErrStamp},
		{"no subcommand", []string{"release"}, errUsage},
		{"unknown subcommand", []string{"release", "publish"}, errUsage},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := run(context.Background(), tt.args, nil, &out, &errb); !errors.Is(err, tt.want) {
				t.Errorf("run(%q) = %v; want %v", tt.args, err, tt.want)
			}
		})
	}
}
