package update

import (
	"strconv"
	"testing"
)

func FuzzParseMarker(f *testing.F) {
	good := Marker{Version: "v1.1.0", From: "v1.0.0", SHA256: sum([]byte("x")), Attempts: 1, Limit: 3, Started: 1700000000}
	f.Add(good.encode())
	f.Add([]byte("attempts=x\n"))
	f.Add([]byte("version=v1\nsha256=zz\nattempts=-1\nlimit=0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMarker(b)
		if err != nil {
			return
		}
		if !ValidVersion(m.Version) || !validSHA(m.SHA256) || m.Attempts < 0 || m.Limit < 1 {
			t.Fatalf("parseMarker(%q) accepted %+v", b, m)
		}
		back, err := parseMarker(m.encode())
		if err != nil || back != m {
			t.Fatalf("round trip of %+v = %+v, %v", m, back, err)
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 100-199/200", "bytes 0-0/*", "bytes -1-2/3", "bytes 1-2", "items 1-2/3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, total, ok := parseContentRange(s)
		if !ok {
			return
		}
		if start < 0 || total < -1 {
			t.Fatalf("parseContentRange(%q) = %d, %d", s, start, total)
		}
		tot := "*"
		if total >= 0 {
			tot = strconv.FormatInt(total, 10)
		}
		s2 := "bytes " + strconv.FormatInt(start, 10) + "-9/" + tot
		if st2, t2, ok2 := parseContentRange(s2); !ok2 || st2 != start || t2 != total {
			t.Fatalf("round trip of %q: %q = %d, %d, %v", s, s2, st2, t2, ok2)
		}
	})
}

// FuzzParseKeys: key material from the configuration or a key file is
// refused or has exactly the ed25519 sizes.
func FuzzParseKeys(f *testing.F) {
	pub, priv, _ := GenerateKey(zeroReader{})
	f.Add(pub, priv)
	f.Add("AAAA", []byte(privateKeyHeader+"AAAA\n"))
	f.Fuzz(func(t *testing.T, pub string, priv []byte) {
		if k, err := ParsePublicKey(pub); err == nil && len(k) != 32 {
			t.Fatalf("ParsePublicKey(%q) = %d bytes", pub, len(k))
		}
		if k, err := ParsePrivateKey(priv); err == nil && len(k) != 64 {
			t.Fatalf("ParsePrivateKey(%q) = %d bytes", priv, len(k))
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
