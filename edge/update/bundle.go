package update

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The bundle is one file carrying a release for push (USB stick, scp):
//
//	offset  size  field
//	0       8     magic "LANEDUP1"
//	8       4     M: manifest length, big-endian uint32, 1..MaxManifestSize
//	12      4     S: signature length, big-endian uint32, 1..MaxSigSize
//	16      M     manifest.json, the exact signed bytes
//	16+M    S     manifest.sig, base64 text as in a release directory
//	16+M+S  size  the binary; its length is the manifest's size and the
//	              bundle ends exactly there
//
// It holds the same three artefacts the pull path downloads separately, and
// both are verified by the same code.
const bundleMagic = "LANEDUP1"

const bundleHeaderSize = 16

// BundleHeader is a bundle's parsed head: the signed parts and where the
// binary starts.
type BundleHeader struct {
	Manifest  []byte // exact signed bytes
	Sig       []byte // manifest.sig content
	BinOffset int64
}

// ReadBundleHeader reads and bounds-checks a bundle's head from r. It does
// not verify the signature; total, when ≥ 0, is the bundle's full length and
// must leave room for a binary within MaxBinarySize.
func ReadBundleHeader(r io.Reader, total int64) (BundleHeader, error) {
	var h [bundleHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return BundleHeader{}, fmt.Errorf("update: bundle header: %v: %w", err, ErrBadBundle)
	}
	if string(h[:8]) != bundleMagic {
		return BundleHeader{}, fmt.Errorf("update: bundle header: bad magic: %w", ErrBadBundle)
	}
	m := binary.BigEndian.Uint32(h[8:12])
	s := binary.BigEndian.Uint32(h[12:16])
	if m == 0 || m > MaxManifestSize {
		return BundleHeader{}, fmt.Errorf("update: bundle header: manifest length %d: %w", m, ErrBadBundle)
	}
	if s == 0 || s > MaxSigSize {
		return BundleHeader{}, fmt.Errorf("update: bundle header: signature length %d: %w", s, ErrBadBundle)
	}
	off := int64(bundleHeaderSize) + int64(m) + int64(s)
	if total >= 0 && (total <= off || total-off > MaxBinarySize) {
		return BundleHeader{}, fmt.Errorf("update: bundle header: total length %d: %w", total, ErrBadBundle)
	}
	buf := make([]byte, int(m)+int(s))
	if _, err := io.ReadFull(r, buf); err != nil {
		return BundleHeader{}, fmt.Errorf("update: bundle header: %v: %w", err, ErrBadBundle)
	}
	return BundleHeader{Manifest: buf[:m:m], Sig: buf[m:], BinOffset: off}, nil
}

// WriteBundle writes a bundle of manifest, sig and the binary read from bin
// (exactly size bytes, as the manifest says).
func WriteBundle(w io.Writer, manifest, sig []byte, bin io.Reader, size int64) error {
	if len(manifest) == 0 || len(manifest) > MaxManifestSize || len(sig) == 0 || len(sig) > MaxSigSize {
		return fmt.Errorf("update: write bundle: lengths %d/%d: %w", len(manifest), len(sig), ErrBadBundle)
	}
	var h [bundleHeaderSize]byte
	copy(h[:], bundleMagic)
	binary.BigEndian.PutUint32(h[8:12], uint32(len(manifest)))
	binary.BigEndian.PutUint32(h[12:16], uint32(len(sig)))
	for _, b := range [][]byte{h[:], manifest, sig} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("update: write bundle: %w", err)
		}
	}
	n, err := io.Copy(w, io.LimitReader(bin, size))
	if err != nil {
		return fmt.Errorf("update: write bundle: %w", err)
	}
	if n != size {
		return fmt.Errorf("update: write bundle: binary %d of %d bytes: %w", n, size, ErrMismatch)
	}
	return nil
}
