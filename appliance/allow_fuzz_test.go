package appliance

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzForwardedFor: whatever X-Forwarded-For a local proxy passes, the
// caller judged is the last entry when it parses, and nothing otherwise;
// from a remote peer the header is never used.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range []string{"10.1.2.3", "1.1.1.1, 10.1.2.3", "evil", "", ",,", "::ffff:10.1.2.3"} {
		f.Add(s, true)
	}
	s := sources{allowed: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, trustedProxy: true}
	f.Fuzz(func(t *testing.T, xff string, local bool) {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = "10.9.9.9:1"
		if local {
			r.RemoteAddr = "127.0.0.1:1"
		}
		r.Header.Set("X-Forwarded-For", xff)
		a, ok := s.caller(r)
		if !local && (!ok || a != netip.MustParseAddr("10.9.9.9")) {
			t.Fatalf("remote peer with XFF %q judged as %v, %v", xff, a, ok)
		}
		if ok && a.Is4In6() {
			t.Fatalf("caller %v not unmapped", a)
		}
	})
}
