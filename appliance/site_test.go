package appliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/appliance/config"
	"laned/cmb"
	"laned/edge/console"
	"laned/hal/clock"
	"laned/store"
)

const siteTestSecret = "s3cr3t-appsecret-value"

// siteTestConfig writes a valid sim configuration (entry 1, exit 1) with
// the given [site] section into a temp dir and loads it.
func siteTestConfig(t *testing.T, site string) *config.Config {
	t.Helper()
	return siteTestConfigCode(t, 1, site)
}

// siteTestConfigCode is siteTestConfig with the lanes' codes code.
func siteTestConfigCode(t *testing.T, code int, site string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "appsecret"), []byte(siteTestSecret), 0o600)
	os.WriteFile(filepath.Join(dir, "site.creds"), []byte("user=laned\npassword=pw-of-the-site\n"), 0o600)
	body := fmt.Sprintf(`data_dir = %q
[park]
park_code = 4401
spaces_total = 50
[platform]
base_url = "http://127.0.0.1:1"
appid = "app1"
secret_file = "appsecret"
listen = "127.0.0.1:0"
[console]
socket = ""
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
`, filepath.Join(dir, "data"))
	body = strings.ReplaceAll(body, "code = 1\n", fmt.Sprintf("code = %d\n", code)) + site
	p := filepath.Join(dir, "laned.conf")
	os.WriteFile(p, []byte(body), 0o644)
	cfg, err := config.LoadValid(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeNode is a SiteNode with nobody else on the site: every request
// goes unanswered.
type fakeNode struct {
	mu        sync.Mutex
	served    []string
	handlers  map[string]func(context.Context, []byte) ([]byte, error)
	entries   []int
	exits     []int
	onApplied func(records, paid []string)
	status    console.SiteInfo
	asked     []string
	taken     []string
	closed    bool
}

func (f *fakeNode) Request(_ context.Context, subject string, _ []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, subject)
	return nil, errors.New("fake node: no responders")
}

func (f *fakeNode) Serve(subject string, h func(context.Context, []byte) ([]byte, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served = append(f.served, subject)
	f.handlers[subject] = h
	return nil
}

func (f *fakeNode) SetLanes(entries, exits []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries, f.exits = entries, exits
}

func (f *fakeNode) OnApplied(fn func(records, paid []string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onApplied = fn
}

func (f *fakeNode) Status() console.SiteInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeNode) TakeOver(box string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.taken = append(f.taken, box)
	return 3, nil
}

func (f *fakeNode) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// A box of a site: its lanes are served to the others and announced,
// the callbacks go through the Router (an exit of another box is asked
// of the site, and answered "try again" when nobody answers), the console
// has the site role, and the node closes with the daemon.
func TestBuildJoinsSite(t *testing.T) {
	cfg := siteTestConfig(t, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\ngateway = true\nlisten = \":7422\"\ncredentials = \"site.creds\"\n")
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	node := &fakeNode{handlers: map[string]func(context.Context, []byte) ([]byte, error){}}
	node.status = console.SiteInfo{Box: "a", Gateway: true, Since: clk.Now().Add(-3 * time.Hour),
		Members: []console.SiteMemberInfo{{Box: "b", LastHello: clk.Now().Add(-2 * time.Hour), Head: 9, Applied: 7, Lag: 2}}}
	started := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	var logs bytes.Buffer
	d, err := Build(ctx, cfg, slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)), Options{
		Clock: clk, OnServing: func(a net.Addr) { addrs <- a },
		StartSite: func(_ context.Context, c *config.Config, db *store.DB, _ *slog.Logger) (SiteNode, error) {
			started++
			if c.Site.Box != "a" || db == nil {
				t.Errorf("StartSite(%+v, %v)", c.Site, db)
			}
			return node, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	addr := <-addrs

	if started != 1 {
		t.Errorf("StartSite called %d times; want 1", started)
	}
	node.mu.Lock()
	served, entries, exits, applied := slices.Clone(node.served), node.entries, node.exits, node.onApplied
	node.mu.Unlock()
	if !slices.Equal(served, []string{"laned.entry.1.novpln", "laned.exit.1.calc"}) {
		t.Errorf("served %v; want this box's entry and exit", served)
	}
	if !slices.Equal(entries, []int{1}) || !slices.Equal(exits, []int{1}) {
		t.Errorf("SetLanes(%v, %v); want [1], [1]", entries, exits)
	}
	if applied == nil {
		t.Error("OnApplied not set")
	}
	applied(nil, []string{"nothing-waits-for-it"}) // reaches the Controller without effect

	// Exit 9 is another box's: asked of the site, nobody answers.
	base := "http://" + addr.String() + "/"
	_, err = cmb.CallDownlink(ctx, nil, base, "app1", siteTestSecret, "calc", url.Values{"park_code": {"4401"}, "out_code": {"9"}})
	var rej *cmb.RejectedError
	if !errors.As(err, &rej) || rej.Status != cmb.CalcUnavailable || !strings.Contains(rej.Message, "try again") {
		t.Errorf("calc of another box's exit = %v; want status 1, try again", err)
	}
	// Exit 1 is this box's: answered here (nothing at the exit).
	_, err = cmb.CallDownlink(ctx, nil, base, "app1", siteTestSecret, "calc", url.Values{"park_code": {"4401"}, "out_code": {"1"}})
	if !errors.As(err, &rej) || rej.Status != cmb.CalcNoPlate {
		t.Errorf("calc of this box's exit = %v; want status 3 (nothing there)", err)
	}
	node.mu.Lock()
	asked := slices.Clone(node.asked)
	node.mu.Unlock()
	if !slices.Equal(asked, []string{"laned.exit.9.calc"}) {
		t.Errorf("site asked %v; want exit 9's box only", asked)
	}

	// The console's site role: the status with takeover_after, and a
	// takeover of b (silent 2h > 30m), audited.
	c := console.New(console.Options{Backend: d.consoleRoles("console test"), Clock: clk, Location: time.UTC, Name: "test"})
	var out bytes.Buffer
	if err := c.Exec(ctx, []string{"site"}, &out); err != nil || !strings.Contains(out.String(), "box  a (gateway)") || !strings.Contains(out.String(), "2 (0s)") {
		t.Errorf("site = %v:\n%s", err, out.String())
	}
	out.Reset()
	if err := c.Exec(ctx, []string{"site", "takeover", "b", "confirm", "box", "b", "flooded"}, &out); err != nil || !strings.Contains(out.String(), "box b: 3 queued uplinks taken over") {
		t.Errorf("site takeover b = %v:\n%s", err, out.String())
	}
	node.mu.Lock()
	taken := slices.Clone(node.taken)
	node.mu.Unlock()
	if !slices.Equal(taken, []string{"b"}) {
		t.Errorf("TakeOver calls %v; want [b]", taken)
	}
	evs, err := d.Store().RecentAudit(10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.Kind == "site_takeover" && strings.Contains(ev.Detail, "console test: box b: 3 queued uplinks taken over; reason: box b flooded") {
			found = true
		}
	}
	if !found {
		t.Errorf("audit %+v; want the takeover", evs)
	}
	if strings.Contains(logs.String(), "pw-of-the-site") {
		t.Error("the site's password is in the log")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	node.mu.Lock()
	defer node.mu.Unlock()
	if !node.closed {
		t.Error("the site's node was not closed")
	}
}

// Without [site] no node starts and the console has no site role; a
// site node that cannot start fails the build clearly and leaves nothing
// open (the data directory's lock is released).
func TestBuildAloneOrSiteFails(t *testing.T) {
	cfg := siteTestConfig(t, "")
	ctx := context.Background()
	d, err := Build(ctx, cfg, nil, Options{StartSite: func(context.Context, *config.Config, *store.DB, *slog.Logger) (SiteNode, error) {
		t.Error("StartSite called for a box alone")
		return nil, errors.New("no")
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r := d.consoleRoles("x"); r.Site != nil {
		t.Error("a box alone has a site role")
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg = siteTestConfig(t, fmt.Sprintf("[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\ngateway = true\nlisten = %q\ncredentials = \"site.creds\"\n", taken.Addr().String()))
	if _, err := Build(ctx, cfg, nil, Options{}); err == nil || !strings.Contains(err.Error(), "run: site:") {
		t.Fatalf("Build with the site's port taken = %v; want a site error", err)
	}
	if lock, err := LockDataDir(cfg.DataDir); err != nil {
		t.Errorf("data dir still locked after a failed build: %v", err)
	} else {
		lock.Release()
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
