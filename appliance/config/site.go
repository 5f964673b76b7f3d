package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"laned/store"
)

// SiteConfig is [site]: this box's place in a car park of several boxes
// (issue 18). Absent, Box is "" and the box runs alone, as always.
type SiteConfig struct {
	Box     string   `toml:"box"`     // this box's id: 1–6 of [a-z0-9], starting with a letter
	Members []string `toml:"members"` // every box of the site, this one included
	Gateway bool     `toml:"gateway"` // the box behind the park's public address
	Listen  string   `toml:"listen"`  // leafnode listener host:port ("" = none)
	Hub     []string `toml:"hub"`     // leafnode URLs to dial (failover order)
	// Credentials is a root-only file: user=/password= lines, or an nkey
	// user seed on one line. Shared by every box of the site.
	Credentials    string   `toml:"credentials"`
	TLSCert        string   `toml:"tls_cert"`
	TLSKey         string   `toml:"tls_key"`
	TLSCA          string   `toml:"tls_ca"`
	RetentionAge   Duration `toml:"retention_age"`   // the replication stream's max age
	RetentionBytes int64    `toml:"retention_bytes"` // and its max size
	RequestTimeout Duration `toml:"request_timeout"` // a lane-owner request's budget
	TakeoverAfter  Duration `toml:"takeover_after"`  // silence before `site takeover` is allowed
	// An exit whose entry is not visible (a partition; edge.SiteRules):
	// the fee asked of a vehicle neither VIP nor contactless, in fen, and
	// how long it waits for its entry before it is settled alone.
	NoEntryFee  int64    `toml:"no_entry_fee"`
	NoEntryHold Duration `toml:"no_entry_hold"` // default 24h
	// HoldElsewhere: how long at most a record's uplink waits behind an
	// earlier one of the record still queued at another box (its Indata
	// there, its Outdata here) before it is sent anyway. Default 10m.
	HoldElsewhere Duration `toml:"hold_elsewhere"`

	Auth SiteAuth `toml:"-"` // read from Credentials
}

// SiteAuth is what the credentials file holds: a user and password, or
// the path of an nkey seed (the file itself). Never printed.
type SiteAuth struct {
	User     string
	Password Secret
	NkeySeed string // the credentials file, when it holds an nkey user seed
}

// String describes the credentials without their secret.
func (a SiteAuth) String() string {
	switch {
	case a.NkeySeed != "":
		return "nkey seed"
	case a.User != "":
		return "user " + a.User + ", password " + masked
	}
	return "none"
}

// Enabled reports whether the box is part of a site.
func (s SiteConfig) Enabled() bool { return s.Box != "" }

// Defaults of [site].
const (
	DefaultSiteRetentionAge   = 7 * 24 * time.Hour
	DefaultSiteRetentionBytes = 256 << 20
	DefaultSiteRequestTimeout = 300 * time.Millisecond
	DefaultSiteTakeoverAfter  = 30 * time.Minute
)

// checkBox judges a box id by store.ValidBox (the rule: it goes into
// record ids and NATS subjects), in the file's words.
func checkBox(s string) error {
	if store.ValidBox(s) != nil {
		return fmt.Errorf("box id %q: want 1–6 of a–z and 0–9, starting with a letter", s)
	}
	return nil
}

// siteDefaults are the values of the keys [site] leaves out.
func siteDefaults() SiteConfig {
	return SiteConfig{
		RetentionAge: Duration(DefaultSiteRetentionAge), RetentionBytes: DefaultSiteRetentionBytes,
		RequestTimeout: Duration(DefaultSiteRequestTimeout), TakeoverAfter: Duration(DefaultSiteTakeoverAfter),
	}
}

// validateSite checks [site]; an absent section is a box alone.
func (d *configDecoder) validateSite(cfg *Config, withFiles bool) {
	s := &cfg.Site
	if !d.md.IsDefined("site") {
		*s = SiteConfig{}
		return
	}
	if s.Box == "" {
		d.add("site.box", "required: this box's id in the site, e.g. \"a\" (1–6 of a–z, 0–9)")
	} else if err := checkBox(s.Box); err != nil {
		d.add("site.box", "%v", err)
	}
	seen := map[string]bool{}
	for i, m := range s.Members {
		key := fmt.Sprintf("site.members[%d]", i)
		if err := checkBox(m); err != nil {
			d.add(key, "%v", err)
		} else if seen[m] {
			d.add(key, "%q listed twice", m)
		}
		seen[m] = true
	}
	d.validateEdge(cfg, "site") // no_entry_fee, no_entry_hold
	if s.Box != "" && !slices.Contains(s.Members, s.Box) {
		d.add("site.members", "list every box of the site, this one (%q) included", s.Box)
	}
	alone := len(s.Members) <= 1
	if s.Listen != "" {
		if _, p, err := splitListen(s.Listen); err != nil {
			d.add("site.listen", "%v", err)
		} else if _, pp, _ := splitListen(cfg.Platform.Listen); pp == p && p != "0" {
			d.add("site.listen", "port %s is the platform's callback port: the site's links need a port of their own", p)
		}
	}
	for i, h := range s.Hub {
		if err := checkLeafURL(h); err != nil {
			d.add(fmt.Sprintf("site.hub[%d]", i), "%v", err)
		}
	}
	if !alone && s.Listen == "" && len(s.Hub) == 0 {
		d.add("site.hub", "a box of a site of %d needs a link: hub (the gateway's nats-leaf://host:7422) or listen", len(s.Members))
	}
	s.Credentials = d.resolve(s.Credentials)
	switch {
	case s.Credentials == "" && (s.Listen != "" || len(s.Hub) > 0):
		d.add("site.credentials", "required with listen or hub: a root-only file shared by the site's boxes (user=, password= lines or an nkey seed)")
	case s.Credentials != "" && withFiles:
		a, err := readSiteCredentials(s.Credentials)
		if err != nil {
			d.add("site.credentials", "%v", err)
		}
		s.Auth = a
	}
	s.TLSCert, s.TLSKey, s.TLSCA = d.resolve(s.TLSCert), d.resolve(s.TLSKey), d.resolve(s.TLSCA)
	switch {
	case (s.TLSCert == "") != (s.TLSKey == ""):
		d.add("site.tls_cert", "set both tls_cert and tls_key, or neither")
	case s.TLSCert != "" && withFiles:
		if err := checkPrivateFile(s.TLSKey, "the site's TLS private key"); err != nil {
			d.add("site.tls_key", "%v", err)
		} else if _, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey); err != nil {
			d.add("site.tls_cert", "%v", err)
		}
	}
	if s.TLSCA != "" && withFiles {
		if b, err := os.ReadFile(s.TLSCA); err != nil {
			d.add("site.tls_ca", "%s: %v", s.TLSCA, errors.Unwrap(err))
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			d.add("site.tls_ca", "%s holds no PEM certificate", s.TLSCA)
		}
	}
	if s.RetentionAge.D() < time.Hour || s.RetentionAge.D() > 365*24*time.Hour {
		d.add("site.retention_age", "%s out of range [1h, 365 days]", s.RetentionAge.D())
	}
	if s.RetentionBytes < 1<<20 {
		d.add("site.retention_bytes", "%d: at least 1 MiB (default 256 MiB)", s.RetentionBytes)
	}
	if s.RequestTimeout.D() < 10*time.Millisecond || s.RequestTimeout.D() > 5*time.Second {
		d.add("site.request_timeout", "%s out of range [10ms, 5s] (the bank waits for the answer)", s.RequestTimeout.D())
	}
	if s.TakeoverAfter.D() < time.Minute || s.TakeoverAfter.D() > 30*24*time.Hour {
		d.add("site.takeover_after", "%s out of range [1m, 30 days]", s.TakeoverAfter.D())
	}
}

// checkLeafURL checks a leafnode URL: nats-leaf, tls, ws or wss, with a
// host and, if given, a port.
func checkLeafURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("want a URL like nats-leaf://10.0.0.2:7422, got %q", s)
	}
	switch u.Scheme {
	case "nats-leaf", "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%q: scheme %q: want nats-leaf, tls, ws or wss", s, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%q: no user or password in the URL: they come from credentials", redactURL(u))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: bad port %q", s, p)
		}
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%q: no path", s)
	}
	if net.ParseIP(strings.Trim(u.Hostname(), "[]")) == nil && strings.ContainsAny(u.Hostname(), " _") {
		return fmt.Errorf("%q: bad host", s)
	}
	return nil
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = url.User("…")
	return c.String()
}

// readSiteCredentials reads the site's credentials file: root-only, and
// either one nkey user seed (SU…) alone or user= and password= lines
// (blank lines and # comments allowed). Errors never contain a secret.
func readSiteCredentials(path string) (SiteAuth, error) {
	if err := checkPrivateFile(path, "the site's credentials"); err != nil {
		return SiteAuth{}, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return SiteAuth{}, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	a, err := parseSiteCredentials(string(b))
	if err != nil {
		return SiteAuth{}, fmt.Errorf("%s: %v", path, err)
	}
	if a.NkeySeed != "" {
		a.NkeySeed = path
	}
	return a, nil
}

// parseSiteCredentials reads a credentials file's text. NkeySeed is "-"
// for a seed (the caller puts the file's path there).
func parseSiteCredentials(text string) (SiteAuth, error) {
	var a SiteAuth
	seed, comments, set := false, false, map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			comments = true
			continue
		}
		n := i + 1
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			if !isNkeyUserSeed(line) {
				return SiteAuth{}, fmt.Errorf("line %d: want user=, password= or an nkey user seed (SU…)", n)
			}
			if seed {
				return SiteAuth{}, fmt.Errorf("line %d: a second nkey seed", n)
			}
			seed = true
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if set[k] {
			return SiteAuth{}, fmt.Errorf("line %d: %s set twice", n, k)
		}
		set[k] = true
		switch k {
		case "user":
			a.User = v
		case "password":
			a.Password = Secret(v)
		default:
			return SiteAuth{}, fmt.Errorf("line %d: unknown key %q (user, password)", n, k)
		}
	}
	switch {
	case seed && len(set) > 0:
		return SiteAuth{}, errors.New("holds both an nkey seed and user/password: keep one")
	case seed && comments:
		return SiteAuth{}, errors.New("an nkey seed file holds the seed alone: remove the comments")
	case seed:
		a.NkeySeed = "-"
	case a.User == "" || a.Password == "":
		return SiteAuth{}, errors.New("want user= and password= (both not empty) or an nkey user seed")
	case strings.ContainsAny(a.User, " \t"):
		return SiteAuth{}, errors.New("user: no spaces")
	}
	return a, nil
}

// isNkeyUserSeed reports whether s is an nkey user seed (SU…, its
// checksum right), as NATS will read it.
func isNkeyUserSeed(s string) bool {
	if !strings.HasPrefix(s, "SU") {
		return false
	}
	kp, err := nkeys.FromSeed([]byte(s))
	if err != nil {
		return false
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	return err == nil && nkeys.IsValidPublicUserKey(pub)
}
