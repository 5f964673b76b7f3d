package config

import "testing"

// FuzzParseAllow: an accepted entry is a masked prefix that is never an
// IPv4-mapped IPv6 one (callers are unmapped before the check).
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"10.1.2.3", "10.0.0.0/8", "::ffff:10.1.0.0/112", "::ffff:10.1.2.3", "2001:db8::/32", "nope", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseAllow(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("parseAllow(%q) = %v", s, p)
		}
	})
}

func TestParseAllowUnmaps(t *testing.T) {
	tests := []struct{ in, want string }{
		{"::ffff:10.1.2.3", "10.1.2.3/32"},
		{"::ffff:10.1.0.0/112", "10.1.0.0/16"},
		{"::ffff:10.1.2.3/128", "10.1.2.3/32"},
		{"10.1.2.3/16", "10.1.0.0/16"},
		{"2001:db8::/32", "2001:db8::/32"},
	}
	for _, tt := range tests {
		p, err := parseAllow(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("parseAllow(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
	if _, err := parseAllow("::ffff:0.0.0.0/64"); err == nil {
		t.Errorf("parseAllow(::ffff:0.0.0.0/64) = nil error; want a refusal")
	}
}
