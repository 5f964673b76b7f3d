package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"laned/edge"
	"laned/store"
)

// siteBase is a valid configuration of one sim box; a test appends its
// [site] section.
const siteBase = `data_dir = "data"
[park]
park_code = 4401
spaces_total = 50
[platform]
base_url = "http://127.0.0.1:1"
appid = "app1"
secret_file = "appsecret"
listen = "127.0.0.1:8080"
[board]
profile = "sim"
[[lanes]]
name = "in1"
kind = "entry"
code = 1
[[lanes]]
name = "out1"
kind = "exit"
code = 1
[tariff]
fallback_to_small = true
[tariff.small]
free_minutes = 15
first_minutes = 60
first_price = 500
next_minutes = 30
next_price = 200
`

const testPassword = "site-pa55word"

// testSeed is an nkey user seed made for these tests (nkeys.CreateUser).
const testSeed = "SUAKMFL44URWHFF7EZHK464XGPSXB5PU35BW5RLILLWGSIVNYRO5TS5Q2Y"

// badSeed is testSeed with one character changed: its checksum fails.
var badSeed = testSeed[:10] + string(rune(testSeed[10]^1)) + testSeed[11:]

// siteDir writes the appsecret and a credentials file (mode 0600) into a
// temp dir and returns it.
func siteDir(t *testing.T, creds string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "appsecret"), []byte(testSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.creds"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadSite(t *testing.T, dir, site string) (*Config, []Problem) {
	t.Helper()
	p := filepath.Join(dir, "laned.conf")
	if err := os.WriteFile(p, []byte(siteBase+site), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ps
}

// TestSiteAbsent: without [site] the box is alone and the summary is the
// one of before sites (no site line).
func TestSiteAbsent(t *testing.T) {
	dir := siteDir(t, "")
	cfg, ps := loadSite(t, dir, "")
	if len(ps) != 0 {
		t.Fatalf("Load = %v; want no problems", ps)
	}
	if cfg.Site.Enabled() || !reflect.DeepEqual(cfg.Site, SiteConfig{}) {
		t.Errorf("Site = %+v; want the zero value (alone)", cfg.Site)
	}
	var b bytes.Buffer
	WriteSummary(&b, cfg)
	if strings.Contains(b.String(), "site") {
		t.Errorf("summary of a box alone mentions a site:\n%s", b.String())
	}
}

func TestSiteValid(t *testing.T) {
	tests := []struct {
		name, creds, site string
		want              SiteConfig // Credentials and Auth checked apart
		auth              string     // SiteAuth.String()
	}{
		{"gateway user/password", "# site\nuser = laned\npassword=" + testPassword + "\n", `[site]
box = "a"
members = ["a", "b", "c"]
gateway = true
listen = ":7422"
credentials = "site.creds"
`, SiteConfig{Box: "a", Members: []string{"a", "b", "c"}, Gateway: true, Listen: ":7422",
			RetentionAge: Duration(DefaultSiteRetentionAge), RetentionBytes: DefaultSiteRetentionBytes,
			RequestTimeout: Duration(DefaultSiteRequestTimeout), TakeoverAfter: Duration(DefaultSiteTakeoverAfter)}, "user laned, password ********"},
		{"lane box nkey, every key", testSeed + "\n", `[site]
box = "c2"
members = ["a", "c2"]
hub = ["nats-leaf://10.0.0.1:7422", "tls://gw.park.example:7422"]
credentials = "site.creds"
retention_age = "72h"
retention_bytes = 2097152
request_timeout = "250ms"
takeover_after = "2h"
`, SiteConfig{Box: "c2", Members: []string{"a", "c2"}, Hub: []string{"nats-leaf://10.0.0.1:7422", "tls://gw.park.example:7422"},
			RetentionAge: Duration(72 * time.Hour), RetentionBytes: 2 << 20, RequestTimeout: Duration(250 * time.Millisecond),
			TakeoverAfter: Duration(2 * time.Hour)}, "nkey seed"},
		{"one member, no links", "", `[site]
box = "a"
members = ["a"]
`, SiteConfig{Box: "a", Members: []string{"a"},
			RetentionAge: Duration(DefaultSiteRetentionAge), RetentionBytes: DefaultSiteRetentionBytes,
			RequestTimeout: Duration(DefaultSiteRequestTimeout), TakeoverAfter: Duration(DefaultSiteTakeoverAfter)}, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := siteDir(t, tt.creds)
			cfg, ps := loadSite(t, dir, tt.site)
			if len(ps) != 0 {
				t.Fatalf("Load = %v; want no problems", ps)
			}
			got := cfg.Site
			if tt.creds != "" && got.Credentials != filepath.Join(dir, "site.creds") {
				t.Errorf("Credentials = %q; want it resolved against the file's dir", got.Credentials)
			}
			if s := got.Auth.String(); s != tt.auth {
				t.Errorf("Auth = %s; want %s", s, tt.auth)
			}
			got.Credentials, got.Auth = "", SiteAuth{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Site = %+v; want %+v", got, tt.want)
			}
			var b bytes.Buffer
			WriteSummary(&b, cfg)
			if !strings.Contains(b.String(), "site      box "+tt.want.Box) {
				t.Errorf("summary lacks the site line:\n%s", b.String())
			}
			if strings.Contains(b.String(), testPassword) || strings.Contains(b.String(), testSeed) {
				t.Errorf("summary prints a site secret:\n%s", b.String())
			}
		})
	}
}

func TestSiteSummary(t *testing.T) {
	dir := siteDir(t, "user=laned\npassword="+testPassword+"\n")
	cfg, ps := loadSite(t, dir, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\ngateway = true\nlisten = \":7422\"\ncredentials = \"site.creds\"\n")
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	var b bytes.Buffer
	WriteSummary(&b, cfg)
	want := "  site      box a, the gateway (answers the bank); members a, b\n" +
		"              listen :7422; credentials " + filepath.Join(dir, "site.creds") + " (user laned, password ********); no TLS\n" +
		"              stream kept 168h0m0s / 268435456 bytes, lane requests 300ms, takeover after 30m0s silent\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("summary ends\n%s\nwant\n%s", b.String(), want)
	}
}

func TestSiteProblems(t *testing.T) {
	const userPass = "user=laned\npassword=" + testPassword + "\n"
	tests := []struct {
		name, creds, site string
		key, msg          string
		mode              os.FileMode // of the credentials file; 0: 0600
	}{
		{"no box", userPass, "[site]\nmembers = [\"a\"]\n", "site.box", "required: this box's id", 0},
		{"box upper case", userPass, "[site]\nbox = \"A\"\nmembers = [\"A\"]\n", "site.box", `box id "A": want 1–6 of a–z and 0–9, starting with a letter`, 0},
		{"box too long", userPass, "[site]\nbox = \"abcdefg\"\nmembers = [\"abcdefg\"]\n", "site.box", `box id "abcdefg": want 1–6`, 0},
		{"box with a dot", userPass, "[site]\nbox = \"a.b\"\nmembers = [\"a.b\"]\n", "site.box", `box id "a.b": want 1–6`, 0},
		{"self not a member", userPass, "[site]\nbox = \"a\"\nmembers = [\"b\", \"c\"]\nhub = [\"nats-leaf://10.0.0.1\"]\ncredentials = \"site.creds\"\n", "site.members", `this one ("a") included`, 0},
		{"member twice", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\", \"b\"]\nlisten = \":7422\"\ncredentials = \"site.creds\"\n", "site.members[2]", `"b" listed twice`, 0},
		{"member bad", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"9b\"]\nlisten = \":7422\"\ncredentials = \"site.creds\"\n", "site.members[1]", `box id "9b": want`, 0},
		{"no link", userPass, "[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\n", "site.hub", "needs a link", 0},
		{"bad listen", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\nlisten = \"7422\"\ncredentials = \"site.creds\"\n", "site.listen", "want host:port", 0},
		{"listen on the callback port", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\nlisten = \":8080\"\ncredentials = \"site.creds\"\n", "site.listen", "the platform's callback port", 0},
		{"hub scheme", userPass, "[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\nhub = [\"http://10.0.0.1:7422\"]\ncredentials = \"site.creds\"\n", "site.hub[0]", `scheme "http"`, 0},
		{"hub user in URL", userPass, "[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\nhub = [\"nats-leaf://u:secretpw@10.0.0.1:7422\"]\ncredentials = \"site.creds\"\n", "site.hub[0]", "they come from credentials", 0},
		{"hub no host", userPass, "[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\nhub = [\"10.0.0.1:7422\"]\ncredentials = \"site.creds\"\n", "site.hub[0]", "want a URL like", 0},
		{"hub bad port", userPass, "[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\nhub = [\"nats-leaf://h:99999\"]\ncredentials = \"site.creds\"\n", "site.hub[0]", "bad port", 0},
		{"no credentials", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\nlisten = \":7422\"\n", "site.credentials", "required with listen or hub", 0},
		{"credentials readable", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\nlisten = \":7422\"\ncredentials = \"site.creds\"\n", "site.credentials", "readable by others (mode 0644)", 0o644},
		{"credentials missing", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\nlisten = \":7422\"\ncredentials = \"nope.creds\"\n", "site.credentials", "does not exist", 0},
		{"credentials no password", "user=laned\n", "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\nlisten = \":7422\"\ncredentials = \"site.creds\"\n", "site.credentials", "want user= and password=", 0},
		{"tls half", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\ntls_cert = \"c.pem\"\n", "site.tls_cert", "set both", 0},
		{"tls ca missing", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\ntls_ca = \"ca.pem\"\n", "site.tls_ca", "ca.pem", 0},
		{"retention age", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\nretention_age = \"10m\"\n", "site.retention_age", "10m0s out of range", 0},
		{"retention bytes", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\nretention_bytes = 1000\n", "site.retention_bytes", "at least 1 MiB", 0},
		{"request timeout", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\nrequest_timeout = \"30s\"\n", "site.request_timeout", "30s out of range", 0},
		{"takeover after", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\ntakeover_after = \"5s\"\n", "site.takeover_after", "5s out of range", 0},
		{"no-entry fee", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\nno_entry_fee = -5\n", "site.no_entry_fee", "-5 fen out of range", 0},
		{"no-entry hold", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\nno_entry_hold = \"10m\"\n", "site.no_entry_hold", "10m0s out of range", 0},
		{"hold elsewhere", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\nhold_elsewhere = \"48h\"\n", "site.hold_elsewhere", "48h0m0s out of range", 0},
		{"unknown key", userPass, "[site]\nbox = \"a\"\nmembers = [\"a\"]\npeers = [\"b\"]\n", "site.peers", "unknown key", 0},
		{"bad type", userPass, "[site]\nbox = \"a\"\nmembers = \"a\"\n", "site.members", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := siteDir(t, tt.creds)
			if tt.mode != 0 {
				os.Chmod(filepath.Join(dir, "site.creds"), tt.mode)
			}
			_, ps := loadSite(t, dir, tt.site)
			found := false
			for _, p := range ps {
				if strings.Contains(p.String(), testPassword) || strings.Contains(p.String(), "secretpw") {
					t.Errorf("problem %s prints a secret", p)
				}
				if p.Key == tt.key && strings.Contains(p.Msg, tt.msg) {
					found = true
					if p.Line == 0 {
						t.Errorf("problem %s has no line", p)
					}
				}
			}
			if !found {
				t.Errorf("problems %v; want one at %s saying %q", ps, tt.key, tt.msg)
			}
		})
	}
}

func TestParseSiteCredentials(t *testing.T) {
	tests := []struct {
		name, in string
		want     SiteAuth
		err      string
	}{
		{"user password", "user=laned\npassword=" + testPassword, SiteAuth{User: "laned", Password: testPassword}, ""},
		{"spaces comments crlf", "# the site\r\n  user = laned \r\n\r\npassword = " + testPassword + "\r\n", SiteAuth{User: "laned", Password: testPassword}, ""},
		{"seed", testSeed + "\n", SiteAuth{NkeySeed: "-"}, ""},
		{"seed with a comment", "# the site\n" + testSeed + "\n", SiteAuth{}, "the seed alone"},
		{"seed and user", testSeed + "\nuser=x\npassword=y\n", SiteAuth{}, "keep one"},
		{"two seeds", testSeed + "\n" + testSeed + "\n", SiteAuth{}, "line 2: a second nkey seed"},
		{"not a seed", "SUshort\n", SiteAuth{}, "line 1: want user=, password= or an nkey user seed"},
		{"seed with a bad checksum", badSeed + "\n", SiteAuth{}, "line 1:"},
		{"account seed", "SA" + testSeed[2:] + "\n", SiteAuth{}, "line 1:"},
		{"unknown key", "user=a\npassword=b\ntoken=c\n", SiteAuth{}, `line 3: unknown key "token"`},
		{"twice", "user=a\nuser=b\npassword=c\n", SiteAuth{}, "line 2: user set twice"},
		{"empty password", "user=a\npassword=\n", SiteAuth{}, "both not empty"},
		{"empty", "\n# nothing\n", SiteAuth{}, "want user= and password="},
		{"user with space", "user=a b\npassword=c\n", SiteAuth{}, "user: no spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSiteCredentials(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseSiteCredentials = %+v, %v; want an error about %q", got, err, tt.err)
				}
				if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testSeed[2:20]) {
					t.Errorf("error %q prints a secret", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseSiteCredentials = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// FuzzParseSiteCredentials: an accepted file names exactly one way in.
func FuzzParseSiteCredentials(f *testing.F) {
	for _, s := range []string{"user=a\npassword=b\n", testSeed, "\n" + testSeed + "\n", "# x\nuser=a\npassword=b", "user=a\n", "=\n", "SU\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseSiteCredentials(s)
		if err != nil {
			return
		}
		if (a.NkeySeed != "") == (a.User != "" && a.Password != "") {
			t.Fatalf("parseSiteCredentials(%q) = %+v: want a seed or a user and password", s, a)
		}
	})
}

// The box rule is the store's: config accepts and refuses what
// store.ValidBox does.
func TestCheckBoxIsTheStoreRule(t *testing.T) {
	for _, s := range []string{"a", "gate1", "b2c3d4", "z", "", "1a", "abcdefg", "A", "a-b", "a.b", "a b", "é"} {
		if got, want := checkBox(s) == nil, store.ValidBox(s) == nil; got != want {
			t.Errorf("checkBox(%q) ok = %t; store.ValidBox ok = %t", s, got, want)
		}
	}
}

// A lane box of a site leaves the car park's own uplinks to the gateway.
func TestSiteLaneBoxToEdge(t *testing.T) {
	const creds = "user=laned\npassword=" + testPassword + "\n"
	tests := []struct {
		name, site string
		want       bool
	}{
		{"alone", "", false},
		{"gateway", "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\ngateway = true\nlisten = \":7422\"\ncredentials = \"site.creds\"\n", false},
		{"lane box", "[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\nhub = [\"nats-leaf://10.0.0.1:7422\"]\ncredentials = \"site.creds\"\n", true},
	}
	for _, tt := range tests {
		cfg, ps := loadSite(t, siteDir(t, creds), tt.site)
		if len(ps) != 0 {
			t.Fatalf("%s: %v", tt.name, ps)
		}
		if got := cfg.Edge().LaneBox; got != tt.want {
			t.Errorf("%s: Edge().LaneBox = %t; want %t", tt.name, got, tt.want)
		}
	}
}

// [site] gives edge its no-entry rules (edge.SiteRules).
func TestSiteNoEntryToEdge(t *testing.T) {
	const creds = "user=laned\npassword=" + testPassword + "\n"
	for _, tt := range []struct {
		name, site string
		want       edge.SiteRules
	}{
		{"alone", "", edge.SiteRules{}},
		{"defaults", "[site]\nbox = \"b\"\nmembers = [\"b\"]\n", edge.SiteRules{Enabled: true, Box: "b"}},
		{"set", "[site]\nbox = \"b\"\nmembers = [\"b\"]\nno_entry_fee = 2000\nno_entry_hold = \"48h\"\n", edge.SiteRules{Enabled: true, Box: "b", NoEntryFee: 2000, NoEntryHold: 48 * time.Hour}},
	} {
		cfg, ps := loadSite(t, siteDir(t, creds), tt.site)
		if len(ps) != 0 {
			t.Fatalf("%s: %v", tt.name, ps)
		}
		if got := cfg.Edge().Site; got != tt.want {
			t.Errorf("%s: Edge().Site = %+v; want %+v", tt.name, got, tt.want)
		}
	}
	cfg, ps := loadSite(t, siteDir(t, creds), "[site]\nbox = \"b\"\nmembers = [\"b\"]\nhold_elsewhere = \"3m\"\n")
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	if got := cfg.Edge().HoldElsewhere; got != 3*time.Minute {
		t.Errorf("hold_elsewhere = \"3m\": Edge().HoldElsewhere = %s; want 3m", got)
	}
}
