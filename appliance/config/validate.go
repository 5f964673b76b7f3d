package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"laned/cmb"
)

// validate checks every value and fills the derived fields.
func (d *configDecoder) validate(cfg *Config, withFiles bool) {
	cfg.DataDir = d.resolve(cfg.DataDir)
	if cfg.DataDir == "" {
		d.add("data_dir", "empty")
	}
	if cfg.StoreCheckTimeout < -time.Second || cfg.StoreCheckTimeout > time.Hour {
		d.add("store_check_timeout", "%s out of range (-1s skips the check; up to 1h)", cfg.StoreCheckTimeout)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		d.add("log_format", "unknown format %q (text, json)", cfg.LogFormat)
	}
	d.validatePark(cfg)
	d.validatePlatform(cfg, withFiles)
	d.validateCameras(cfg)
	d.validateLanes(cfg, withFiles)
	d.validateTariff(cfg)
	d.validateVehicles(cfg)
	d.validateConsole(cfg)
	d.validateUpdate(cfg)
	d.validateDisplay(cfg)
	d.validateSite(cfg, withFiles)
}

func (d *configDecoder) validatePark(cfg *Config) {
	p := &cfg.Park
	if !d.md.IsDefined("park") {
		d.addAbsent("park", "missing section [park] (park_code, spaces_total …)")
		return
	}
	d.validateEdge(cfg, "park")
	loc, err := time.LoadLocation(p.Zone)
	switch {
	case p.Zone == "" || p.Zone == "Local":
		d.add("park.zone", "name the car park's zone, e.g. \"Asia/Shanghai\"")
	case err != nil:
		d.add("park.zone", "unknown zone %q", p.Zone)
	default:
		p.Location = loc
	}
	if p.ReservedOutTime.D() <= 0 || p.ReservedOutTime.D() > 24*time.Hour {
		d.add("park.reserved_out_time", "%s out of range (0, 24h]", p.ReservedOutTime.D())
	}
}

func (d *configDecoder) validatePlatform(cfg *Config, withFiles bool) {
	p := &cfg.Platform
	if !d.md.IsDefined("platform") {
		d.addAbsent("platform", "missing section [platform] (environment, appid, secret_file …)")
		return
	}
	switch {
	case p.Environment != "" && p.BaseURL != "":
		d.add("platform.base_url", "set environment or base_url, not both")
	case p.BaseURL != "":
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.add("platform.base_url", "want an http(s) URL, got %q", p.BaseURL)
		}
	case p.Environment != "":
		env, err := cmb.ParseEnvironment(p.Environment)
		if err != nil || cmb.APIBase(env) == "" {
			d.add("platform.environment", "unknown environment %q (st, uat, prod)", p.Environment)
		}
	default:
		d.add("platform.environment", "required: st, uat or prod (or base_url)")
	}
	if p.AppID == "" {
		d.add("platform.appid", "required: the appid the platform assigned")
	}
	p.SecretFile = d.resolve(p.SecretFile)
	switch {
	case p.SecretFile == "":
		d.add("platform.secret_file", "required: a root-only file holding the appsecret")
	case withFiles:
		s, err := readSecret(p.SecretFile)
		if err != nil {
			d.add("platform.secret_file", "%v", err)
		}
		p.Secret = s
	}
	if _, _, err := splitListen(p.Listen); err != nil {
		d.add("platform.listen", "%v", err)
	}
	if !strings.HasPrefix(p.Prefix, "/") || !strings.HasSuffix(p.Prefix, "/") {
		d.add("platform.prefix", "want a path starting and ending with /, e.g. \"/\" or \"/park/\"; got %q", p.Prefix)
	}
	p.TLSCert, p.TLSKey = d.resolve(p.TLSCert), d.resolve(p.TLSKey)
	switch {
	case (p.TLSCert == "") != (p.TLSKey == ""):
		d.add("platform.tls_cert", "set both tls_cert and tls_key, or neither")
	case p.TLSCert != "" && withFiles:
		if err := checkPrivateFile(p.TLSKey, "the TLS private key"); err != nil {
			d.add("platform.tls_key", "%v", err)
		}
		if _, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey); err != nil {
			d.add("platform.tls_cert", "%v", err)
		}
	}
	d.validateEdge(cfg, "platform")
	p.Allowed = nil
	for i, a := range p.Allow {
		pre, err := parseAllow(a)
		if err != nil {
			d.add(fmt.Sprintf("platform.allow[%d]", i), "%v", err)
			continue
		}
		p.Allowed = append(p.Allowed, pre)
	}
}

// splitListen checks a listen address: host:port, host may be empty.
func splitListen(s string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", fmt.Errorf("want host:port or :port, got %q", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil && host != "localhost" {
			return "", "", fmt.Errorf("want an IP address to listen on, got %q", host)
		}
	}
	return host, port, nil
}

// parseAllow reads an address or a CIDR.
func parseAllow(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", s)
		}
		if a := p.Addr(); a.Is4In6() {
			// ::ffff:10.1.0.0/112 is 10.1.0.0/16: callers are unmapped.
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("bad CIDR %q: an IPv4-mapped prefix needs at least 96 bits", s)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q (want an IP or a CIDR)", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// readSecret reads the appsecret file: it must be a regular file readable
// by its owner only (mode & 077 == 0) and not empty. The error never
// contains the secret.
func readSecret(path string) (Secret, error) {
	if err := checkPrivateFile(path, "the appsecret"); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s holds more than one line", path)
	}
	return Secret(s), nil
}

// checkPrivateFile checks that path (holding what) is a regular file that
// neither its group nor others may read or write: mode & 077 == 0.
func checkPrivateFile(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s does not exist (write %s there, chmod 600)", path, what)
		}
		return fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}
