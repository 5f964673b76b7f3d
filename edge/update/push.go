package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

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
	return u.land(ctx, res, m, false, func(part string) error {
		if err := copyToPart(src.bin, part, m.Size); err != nil {
			return fmt.Errorf("update: apply: %w", err)
		}
		return nil
	})
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
		if errors.Is(err, os.ErrNotExist) {
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
