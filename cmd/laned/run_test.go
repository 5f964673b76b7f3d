package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"laned/cmb"
	"laned/store"
)

// tlog writes log lines through t.Logf.
type tlog struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *tlog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func (w *tlog) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

func TestRunDaemon(t *testing.T) {
	dir := t.TempDir()
	vehicles := "[[vehicles]]\nplate = \"粤B11111\"\nlist = \"vip\"\n[[vehicles]]\nplate = \"粤B22222\"\nlist = \"black\"\n"
	p := minimalConfig(t, dir, vehicles)
	sd, sock := notifyListener(t, "")
	logs := &tlog{t: t}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := startDaemon(ctx, t, p, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), runOptions{
		Getenv: env(map[string]string{"NOTIFY_SOCKET": sock}), Hangup: hup,
	})
	addr := d.addr
	if got := readNotify(t, sd); !strings.HasPrefix(got, "READY=1\nSTATUS=serving 2 lanes") {
		t.Errorf("notify at start = %q; want READY=1 and a status", got)
	}
	base := "http://" + addr.String() + "/"

	// A signed calc gets the controller's answer: no such vehicle inside
	// (calc status 2), which only the controller can say.
	_, err := cmb.CallDownlink(ctx, nil, base, "app1", testSecret, "calc", url.Values{"park_code": {"4401"}, "vpl_number": {"粤B99999"}})
	var rej *cmb.RejectedError
	if !errors.As(err, &rej) || rej.Status != 2 {
		t.Fatalf("calc = %v; want the controller's status 2 (not inside)", err)
	}
	// A wrong secret is refused before the controller, and audited.
	_, err = cmb.CallDownlink(ctx, nil, base, "app1", "wrong", "calc", url.Values{"park_code": {"4401"}, "vpl_number": {"粤B99999"}})
	if !errors.As(err, &rej) || rej.Status == 2 || !strings.Contains(strings.ToLower(rej.Message), "sign") {
		t.Errorf("calc with a wrong secret = %v; want a sign refusal", err)
	}
	// The health probe answers on loopback.
	if err := probe(ctx, addr, false); err != nil {
		t.Errorf("probe = %v", err)
	}

	// SIGHUP: a broken file is refused and the old lists stay; a good one
	// re-syncs the vehicles.
	orig, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(orig), "spaces_total = 50", "spaces_total = -1", 1)), 0o644)
	hup <- nil
	if got := readNotify(t, sd); got != "RELOADING=1" {
		t.Errorf("notify at reload = %q", got)
	}
	readNotify(t, sd) // READY=1 again
	if !strings.Contains(logs.String(), "spaces_total") {
		t.Errorf("refused reload did not log the problem")
	}
	os.WriteFile(p, []byte(strings.Replace(string(orig), vehicles, "[[vehicles]]\nplate = \"粤B11111\"\nlist = \"vip\"\n", 1)), 0o644)
	hup <- nil
	readNotify(t, sd)
	if got := readNotify(t, sd); !strings.Contains(got, "READY=1") {
		t.Errorf("notify after reload = %q", got)
	}

	cancel()
	if err := <-d.done; err != nil {
		t.Fatalf("daemon stop = %v; want a clean stop", err)
	}
	if got := readNotify(t, sd); got != "STOPPING=1" {
		t.Errorf("notify at stop = %q", got)
	}
	// The store was closed: it opens again, with the reloaded lists and
	// the audit of what happened.
	db, _, err := store.Open(filepath.Join(d.cfg.DataDir, storeFile), store.Options{})
	if err != nil {
		t.Fatalf("reopen store after stop = %v", err)
	}
	defer db.Close()
	vs, _ := db.ListVehicles()
	if len(vs) != 1 || vs[0].Plate != "粤B11111" || vs[0].Note != vehicleNote {
		t.Errorf("vehicles after reload = %+v; want the one the file kept", vs)
	}
	evs, _ := db.RecentAudit(50)
	kinds := map[string]bool{}
	for _, e := range evs {
		kinds[e.Kind] = true
	}
	if !kinds["callback_refused"] || !kinds["config"] {
		t.Errorf("audit kinds = %v; want callback_refused and config", kinds)
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Errorf("the logs hold the secret")
	}
}

func TestRunRefusesBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	p := minimalConfig(t, dir, "[console]\nsokcet = \"/x\"\n")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"run", "-config", p}, nil, &out, &errb)
	if err == nil || exitCode(err) == 0 {
		t.Fatalf("laned run on a broken config = %v; want a non-zero exit", err)
	}
	if want := p + ":29: console.sokcet: unknown key"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr = %q; want %q", errb.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("a refused start created the data dir")
	}
	if err := run(context.Background(), []string{"run", "-config", filepath.Join(dir, "none")}, nil, &out, &errb); err == nil {
		t.Errorf("laned run on a missing config = nil; want an error")
	}
}

func TestRunFailsOnBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	p := minimalConfig(t, dir, "")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `listen = "127.0.0.1:0"`, "listen = \""+l.Addr().String()+"\"", 1)), 0o644)
	cfg, err := loadConfigErr(p)
	if err != nil {
		t.Fatal(err)
	}
	err = serveDaemon(context.Background(), cfg, nil, runOptions{Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("serveDaemon on a busy port = %v; want a listen error", err)
	}
	// Everything opened before was closed: the store opens.
	db, _, err := store.Open(filepath.Join(cfg.DataDir, storeFile), store.Options{})
	if err != nil {
		t.Fatalf("store after a failed start = %v", err)
	}
	db.Close()
}

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

type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func TestSelftestConfigAndStore(t *testing.T) {
	dir := t.TempDir()
	p := minimalConfig(t, dir, "")
	os.MkdirAll(filepath.Join(dir, "data"), 0o750)
	var out bytes.Buffer
	if err := selftest(context.Background(), p, &out); err != nil {
		t.Fatalf("selftest(no store yet) = %v", err)
	}
	db, _, err := store.Open(filepath.Join(dir, "data", storeFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := selftest(context.Background(), p, &out); err != nil {
		t.Errorf("selftest(store held by the daemon) = %v; want ok", err)
	}
	db.Close()
	if err := selftest(context.Background(), p, &out); err != nil {
		t.Errorf("selftest(store closed) = %v; want ok", err)
	}
	os.WriteFile(filepath.Join(dir, "data", storeFile), []byte("not a bbolt file, garbage of some length........"), 0o600)
	if err := selftest(context.Background(), p, &out); err == nil || !strings.Contains(err.Error(), "store opens") {
		t.Errorf("selftest(garbage store) = %v; want the store check to fail", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "data")); len(ents) != 1 {
		t.Errorf("selftest left %d files in the data dir; want only the store", len(ents))
	}
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "spaces_total = 50", "spaces_totl = 50", 1)), 0o644)
	if err := selftest(context.Background(), p, &out); err == nil || !strings.Contains(err.Error(), "config parses") {
		t.Errorf("selftest(typo) = %v; want the config check to fail", err)
	}
}

// TestDaemonBehindProxy: with trust_loopback = false and trusted_proxy =
// true, the running daemon judges a loopback request by its forwarded
// address, refuses a bare loopback caller, and still answers its own
// health probe.
func TestDaemonBehindProxy(t *testing.T) {
	dir := t.TempDir()
	p := minimalConfig(t, dir, "")
	editConfig(t, p, "listen = ", "allow = [\"::ffff:10.1.0.0/112\"]\ntrust_loopback = false\ntrusted_proxy = true\nlisten = ")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := startDaemon(ctx, t, p, nil, runOptions{})
	addr := d.addr
	post := func(xff string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr.String()+"/cmbParking/calc", strings.NewReader("a=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusForbidden {
		t.Errorf("bare loopback caller = %d; want 403", code)
	}
	if code := post("10.2.0.1"); code != http.StatusForbidden {
		t.Errorf("forwarded outside caller = %d; want 403", code)
	}
	if code := post("203.0.113.9, 10.1.2.3"); code == http.StatusForbidden {
		t.Errorf("forwarded allowed caller = %d; want it past the allow list", code)
	}
	resp, err := http.Get("http://" + addr.String() + healthPath)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("health probe = %v, %v; want 200", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	cancel()
	if err := <-d.done; err != nil {
		t.Errorf("daemon stop = %v", err)
	}
}
