package update

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func header(magic string, m, s uint32) []byte {
	b := make([]byte, bundleHeaderSize)
	copy(b, magic)
	binary.BigEndian.PutUint32(b[8:], m)
	binary.BigEndian.PutUint32(b[12:], s)
	return b
}

func TestReadBundleHeader(t *testing.T) {
	_, priv := testKey(1)
	r := makeRelease(t, priv, "v1.1.0", 500)
	good := r.bundle(t)
	tests := []struct {
		name  string
		in    []byte
		total int64
		ok    bool
	}{
		{"good", good, int64(len(good)), true},
		{"good, unknown total", good, -1, true},
		{"empty", nil, 0, false},
		{"short header", good[:10], 10, false},
		{"bad magic", append([]byte("LANEDUP2"), good[8:]...), int64(len(good)), false},
		{"zero manifest", header(bundleMagic, 0, 88), 200, false},
		{"huge manifest", header(bundleMagic, 1<<31, 88), 1 << 32, false},
		{"zero sig", header(bundleMagic, 100, 0), 200, false},
		{"huge sig", header(bundleMagic, 100, MaxSigSize+1), 1000, false},
		{"no binary", good[:bundleHeaderSize+len(r.manifest)+len(r.sig)], int64(bundleHeaderSize + len(r.manifest) + len(r.sig)), false},
		{"binary over cap", good, bundleHeaderSize + int64(len(r.manifest)+len(r.sig)) + MaxBinarySize + 1, false},
		{"truncated manifest", good[:bundleHeaderSize+5], -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadBundleHeader(bytes.NewReader(tt.in), tt.total)
			if (err == nil) != tt.ok {
				t.Fatalf("ReadBundleHeader = %v; want ok %v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrBadBundle) {
					t.Errorf("ReadBundleHeader = %v; want ErrBadBundle", err)
				}
				return
			}
			if !bytes.Equal(h.Manifest, r.manifest) || !bytes.Equal(h.Sig, r.sig) {
				t.Errorf("ReadBundleHeader parts differ from what WriteBundle wrote")
			}
			if !bytes.Equal(good[h.BinOffset:], r.bin) {
				t.Errorf("ReadBundleHeader BinOffset = %d; binary does not start there", h.BinOffset)
			}
		})
	}
}

func TestWriteBundleShortBinary(t *testing.T) {
	_, priv := testKey(1)
	r := makeRelease(t, priv, "v1.1.0", 500)
	var b bytes.Buffer
	if err := WriteBundle(&b, r.manifest, r.sig, bytes.NewReader(r.bin[:100]), 500); !errors.Is(err, ErrMismatch) {
		t.Errorf("WriteBundle(short binary) = %v; want ErrMismatch", err)
	}
}

func FuzzReadBundleHeader(f *testing.F) {
	_, priv := testKey(1)
	r := makeRelease(f, priv, "v1.1.0", 64)
	good := r.bundle(f)
	f.Add(good, int64(len(good)))
	f.Add(good[:20], int64(-1))
	f.Add(header(bundleMagic, 0, 88), int64(200))
	f.Add(header(bundleMagic, 1<<31, 1<<31), int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, total int64) {
		h, err := ReadBundleHeader(bytes.NewReader(b), total)
		if err != nil {
			return
		}
		if len(h.Manifest) == 0 || len(h.Manifest) > MaxManifestSize || len(h.Sig) == 0 || len(h.Sig) > MaxSigSize {
			t.Fatalf("accepted lengths %d/%d", len(h.Manifest), len(h.Sig))
		}
		if h.BinOffset != int64(bundleHeaderSize+len(h.Manifest)+len(h.Sig)) || h.BinOffset > int64(len(b)) {
			t.Fatalf("BinOffset %d for %d bytes", h.BinOffset, len(b))
		}
		if total >= 0 && (total <= h.BinOffset || total-h.BinOffset > MaxBinarySize) {
			t.Fatalf("accepted total %d with BinOffset %d", total, h.BinOffset)
		}
		// Whatever the header says, a verified manifest is needed next.
		_, _ = Verify(h.Manifest, h.Sig, nil)
	})
}
