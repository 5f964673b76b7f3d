package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"laned/appliance/config"
	"laned/cmb"

	_ "time/tzdata" // the binary carries the zone database: a Pi may have none
)

// HealthPath answers the daemon's own health probe (loopback only).
const HealthPath = "/.laned/health"

// platformBase is the uplink base URL.
func platformBase(p config.PlatformConfig) string {
	if p.BaseURL != "" {
		return strings.TrimRight(p.BaseURL, "/")
	}
	env, _ := cmb.ParseEnvironment(p.Environment)
	return cmb.APIBase(env)
}

// listen opens the callback listener (or takes ln, opened by the
// caller), with TLS when configured.
func listen(p config.PlatformConfig, ln net.Listener) (net.Listener, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", p.Listen); err != nil {
			return nil, fmt.Errorf("listen %s: %w", p.Listen, err)
		}
	}
	if p.TLSCert == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// quickHealth is the watchdog's test: lanes running, server serving.
func (d *Daemon) quickHealth() error {
	if !d.lanesUp.Load() {
		return errors.New("lanes stopped")
	}
	if !d.serving.Load() {
		return errors.New("callback server stopped")
	}
	return nil
}

// health is the trial's test: the quick one, the store readable and
// the callback server answering on its own listener.
func (d *Daemon) health(ctx context.Context) error {
	if d.opt.HealthBroken {
		return errors.New("built with main.healthBroken")
	}
	if err := d.quickHealth(); err != nil {
		return err
	}
	if _, _, err := d.db.NextDue(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return Probe(ctx, d.ln.Addr(), d.cfg.Platform.TLSCert != "")
}

// Probe asks the callback listener for HealthPath over loopback.
func Probe(ctx context.Context, addr net.Addr, useTLS bool) error {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	host := netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())
	if ap.Addr().Is4() || ap.Addr().Is4In6() || ap.Addr().IsUnspecified() {
		host = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	}
	if !ap.Addr().IsUnspecified() {
		host = ap
	}
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true}
	if useTLS {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // our own listener on loopback
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host.String()+HealthPath, nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: callback server answered %s", resp.Status)
	}
	return nil
}

// withHealth answers HealthPath for loopback callers and passes every
// other request to next.
func withHealth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath && r.Method == http.MethodGet {
			if a, ok := remoteAddr(r); ok && a.IsLoopback() {
				io.WriteString(w, "ok\n")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func remoteAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}
