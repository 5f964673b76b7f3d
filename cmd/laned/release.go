package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"laned/edge/update"
)

func runRelease(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: laned release keygen -out KEYFILE | sign -key KEYFILE -version V -arch A [-channel C] [-out DIR] [-exec QEMU] BINARY")
		return errUsage
	}
	switch args[0] {
	case "keygen":
		return releaseKeygen(args[1:], stdout, stderr)
	case "sign":
		return releaseSign(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "laned release: unknown subcommand %q\n", args[0])
	return errUsage
}

func releaseKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("release keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "private key file to write (0600; never overwritten)")
	if err := fs.Parse(args); err != nil || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	pub, priv, err := update.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("release keygen: %w", err)
	}
	if _, err := f.Write(priv); err != nil {
		f.Close()
		return fmt.Errorf("release keygen: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("release keygen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("release keygen: %w", err)
	}
	fmt.Fprintf(stdout, "%s\n", pub)
	fmt.Fprintf(stderr, "private key written to %s; add the public key above to trusted_keys\n", *out)
	return nil
}

func releaseSign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("release sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "private key file from `laned release keygen`")
	ver := fs.String("version", "", "the version stamped into BINARY (v1.2.3)")
	arch := fs.String("arch", "", "linux/arm64 | linux/arm/v6 | linux/arm/v7 | linux/amd64")
	channel := fs.String("channel", update.DefaultChannel, "release channel")
	outDir := fs.String("out", "", "release directory to write (default: BINARY's directory)")
	created := fs.Int64("created", 0, "creation time, UNIX seconds (default now)")
	execWith := fs.String("exec", "", "run BINARY's `version` under this program (a cross build: qemu-aarch64-static, qemu-arm-static)")
	if err := fs.Parse(args); err != nil || *keyPath == "" || *ver == "" || *arch == "" || fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	binPath := fs.Arg(0)
	kb, err := os.ReadFile(*keyPath)
	if err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	priv, err := update.ParsePrivateKey(kb)
	if err != nil {
		return err
	}
	when := time.Now()
	if *created > 0 {
		when = time.Unix(*created, 0)
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	m, err := update.NewManifest(*ver, *arch, *channel, when, bytes.NewReader(bin))
	if err != nil {
		return err
	}
	// The binary must say it is what the manifest will say: an updater
	// refuses a mismatch, so a release that has one is never made.
	sv, sa, err := update.ReadStamp(context.Background(), binPath, *execWith)
	if err != nil {
		return fmt.Errorf("release sign: cannot read %s's stamp (a cross build needs -exec qemu-…-static): %v: %w", binPath, err, update.ErrStamp)
	}
	if sv != m.Version || sa != m.Arch {
		return fmt.Errorf("release sign: %s is stamped %s %s, not %s %s: %w", binPath, sv, sa, m.Version, m.Arch, update.ErrStamp)
	}
	dir := *outDir
	if dir == "" {
		dir = filepath.Dir(binPath)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	mb := m.Marshal()
	sig := update.Sign(priv, mb)
	var bundle bytes.Buffer
	if err := update.WriteBundle(&bundle, mb, sig, bytes.NewReader(bin), m.Size); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{update.BinaryName, bin, 0o755},
		{update.ManifestName, mb, 0o644},
		{update.SigName, sig, 0o644},
		{update.BinaryName + ".bundle", bundle.Bytes(), 0o644},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if same(p, binPath) {
			continue
		}
		if err := os.WriteFile(p, f.data, f.perm); err != nil {
			return fmt.Errorf("release sign: %w", err)
		}
	}
	fmt.Fprintf(stdout, "signed %s %s (%s bytes, sha256 %s) with key %s into %s\n",
		m.Version, m.Arch, strconv.FormatInt(m.Size, 10), m.SHA256, update.PublicKeyOf(priv), dir)
	return nil
}

// same reports whether a and b name the same existing file.
func same(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return os.SameFile(fa, fb)
}
