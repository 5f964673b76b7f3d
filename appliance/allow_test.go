package appliance

import (
	"bytes"
	"encoding/json"
	"laned/cmb"
	"net/http"
	"net/netip"
	"testing"
)

func TestAllowList(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	allowed := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	tests := []struct {
		name   string
		src    sources
		remote string
		xff    []string
		want   int
	}{
		{"allowed", sources{allowed: allowed, trustLoopback: true}, "10.1.2.3:5000", nil, http.StatusTeapot},
		{"loopback v4", sources{allowed: allowed, trustLoopback: true}, "127.0.0.1:5000", nil, http.StatusTeapot},
		{"loopback v6", sources{allowed: allowed, trustLoopback: true}, "[::1]:5000", nil, http.StatusTeapot},
		{"mapped caller", sources{allowed: allowed, trustLoopback: true}, "[::ffff:10.1.9.9]:5000", nil, http.StatusTeapot},
		{"outside", sources{allowed: allowed, trustLoopback: true}, "10.2.0.1:5000", nil, http.StatusForbidden},
		{"garbage", sources{allowed: allowed, trustLoopback: true}, "garbage", nil, http.StatusForbidden},
		{"forwarded header ignored without trusted_proxy", sources{allowed: allowed, trustLoopback: false}, "127.0.0.1:5000", []string{"10.1.2.3"}, http.StatusForbidden},
		{"loopback not trusted", sources{allowed: allowed, trustLoopback: false}, "127.0.0.1:5000", nil, http.StatusForbidden},
		{"proxy forwards an allowed caller", sources{allowed: allowed, trustedProxy: true}, "127.0.0.1:5000", []string{"10.1.2.3"}, http.StatusTeapot},
		{"proxy forwards an outside caller", sources{allowed: allowed, trustedProxy: true}, "127.0.0.1:5000", []string{"10.2.0.1"}, http.StatusForbidden},
		{"spoofed first entry, proxy's last counts", sources{allowed: allowed, trustedProxy: true}, "[::1]:5000", []string{"10.1.2.3, 10.2.0.1"}, http.StatusForbidden},
		{"proxy's own header line counts", sources{allowed: allowed, trustedProxy: true}, "127.0.0.1:5000", []string{"10.2.0.1", "10.1.2.3"}, http.StatusTeapot},
		{"proxy forwards garbage", sources{allowed: allowed, trustedProxy: true, trustLoopback: true}, "127.0.0.1:5000", []string{"evil"}, http.StatusForbidden},
		{"header from outside never honoured", sources{allowed: allowed, trustedProxy: true}, "10.2.0.1:5000", []string{"10.1.2.3"}, http.StatusForbidden},
		{"local caller without proxy, loopback trusted", sources{allowed: allowed, trustedProxy: true, trustLoopback: true}, "127.0.0.1:5000", nil, http.StatusTeapot},
		{"local caller without proxy, loopback not trusted", sources{allowed: allowed, trustedProxy: true}, "127.0.0.1:5000", nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := allowList(tt.src, ok, nil)
			r, _ := http.NewRequest(http.MethodPost, "/cmbParking/calc", nil)
			r.RemoteAddr = tt.remote
			for _, x := range tt.xff {
				r.Header.Add("X-Forwarded-For", x)
			}
			w := &recorder{h: http.Header{}}
			h.ServeHTTP(w, r)
			if w.code != tt.want {
				t.Fatalf("allowList(%s, XFF %q) = %d; want %d", tt.remote, tt.xff, w.code, tt.want)
			}
			if tt.want == http.StatusForbidden {
				var env cmb.Envelope
				if err := json.Unmarshal(w.body.Bytes(), &env); err != nil || env.Status == 0 {
					t.Errorf("403 body %q; want a refusing envelope", w.body.String())
				}
			}
		})
	}
}

type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(c int)           { r.code = c }
