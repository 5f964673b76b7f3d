package appliance

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"laned/appliance/config"
	"laned/cmb"
)

// sources is who may call the callback server.
type sources struct {
	allowed       []netip.Prefix // empty: anyone
	trustLoopback bool           // loopback callers pass
	trustedProxy  bool           // a loopback caller's X-Forwarded-For names the caller
}

func sourcesOf(p config.PlatformConfig) sources {
	return sources{allowed: p.Allowed, trustLoopback: p.TrustLoopback == nil || *p.TrustLoopback, trustedProxy: p.TrustedProxy}
}

// caller is the address the allow list judges: the peer, or, for a peer
// on loopback with trustedProxy, the last X-Forwarded-For entry (the one
// the local proxy appended; earlier ones are the client's word).
func (s sources) caller(r *http.Request) (netip.Addr, bool) {
	a, ok := remoteAddr(r)
	if !ok || !a.IsLoopback() || !s.trustedProxy {
		return a, ok
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return a, true // a local caller, not through the proxy
	}
	parts := strings.Split(xff[len(xff)-1], ",")
	last := strings.TrimSpace(parts[len(parts)-1])
	fa, err := netip.ParseAddr(last)
	if err != nil {
		return netip.Addr{}, false // a proxy that forwards garbage: refuse
	}
	return fa.Unmap(), true
}

func (s sources) allows(a netip.Addr) bool {
	if a.IsLoopback() && s.trustLoopback {
		return true
	}
	return containsAddr(s.allowed, a)
}

// allowList refuses callers outside s.allowed (when not empty) with 403
// and the platform's JSON envelope. Loopback callers pass unless
// trust_loopback is false; behind a trusted local proxy the forwarded
// address is judged instead of the proxy's.
func allowList(s sources, next http.Handler, logger *slog.Logger) http.Handler {
	if len(s.allowed) == 0 {
		return next
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.caller(r)
		if ok && s.allows(a) {
			next.ServeHTTP(w, r)
			return
		}
		logger.Warn("callback from a source not allowed", "remote", r.RemoteAddr, "caller", a.String(), "path", r.URL.Path)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(cmb.Envelope{Status: cmb.StatusFailed, Message: "source address not allowed"})
	})
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
