package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"laned/appliance"
	"laned/appliance/appliancetest"
	"laned/appliance/config"
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

// startDaemon runs the daemon of the valid configuration at path until
// ctx ends; it returns the callback server's address once it serves, and
// the daemon's end.
func startDaemon(ctx context.Context, t *testing.T, path string) (net.Addr, <-chan error) {
	t.Helper()
	cfg, err := config.LoadValid(path)
	if err != nil {
		t.Fatal(err)
	}
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveDaemon(ctx, cfg, slog.New(slog.NewTextHandler(&tlog{t: t}, nil)), appliance.Options{OnServing: func(a net.Addr) { addrs <- a }})
	}()
	select {
	case a := <-addrs:
		return a, done
	case err := <-done:
		t.Fatalf("daemon stopped before serving: %v", err)
		return nil, nil
	}
}

func TestRunDaemon(t *testing.T) {
	dir := t.TempDir()
	vehicles := "[[vehicles]]\nplate = \"粤B11111\"\nlist = \"vip\"\n[[vehicles]]\nplate = \"粤B22222\"\nlist = \"black\"\n"
	p := minimalConfig(t, dir, vehicles)
	cfg, err := config.LoadValid(p)
	if err != nil {
		t.Fatal(err)
	}
	sd, sock := appliancetest.NotifyListener(t, "")
	logs := &tlog{t: t}
	hup := make(chan os.Signal, 1)
	addrs := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serveDaemon(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), appliance.Options{
			Getenv: appliancetest.Env(map[string]string{"NOTIFY_SOCKET": sock}), Hangup: hup,
			OnServing: func(a net.Addr) { addrs <- a },
		})
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("daemon stopped before serving: %v", err)
	}
	if got := appliancetest.ReadNotify(t, sd); !strings.HasPrefix(got, "READY=1\nSTATUS=serving 2 lanes") {
		t.Errorf("notify at start = %q; want READY=1 and a status", got)
	}
	base := "http://" + addr.String() + "/"

	// A signed calc gets the controller's answer: no such vehicle inside
	// (calc status 2), which only the controller can say.
	_, err = cmb.CallDownlink(ctx, nil, base, "app1", testSecret, "calc", url.Values{"park_code": {"4401"}, "vpl_number": {"粤B99999"}})
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
	if err := appliance.Probe(ctx, addr, false); err != nil {
		t.Errorf("probe = %v", err)
	}

	// SIGHUP: a broken file is refused and the old lists stay; a good one
	// re-syncs the vehicles.
	orig, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(orig), "spaces_total = 50", "spaces_total = -1", 1)), 0o644)
	hup <- nil
	if got := appliancetest.ReadNotify(t, sd); got != "RELOADING=1" {
		t.Errorf("notify at reload = %q", got)
	}
	appliancetest.ReadNotify(t, sd) // READY=1 again
	if !strings.Contains(logs.String(), "spaces_total") {
		t.Errorf("refused reload did not log the problem")
	}
	os.WriteFile(p, []byte(strings.Replace(string(orig), vehicles, "[[vehicles]]\nplate = \"粤B11111\"\nlist = \"vip\"\n", 1)), 0o644)
	hup <- nil
	appliancetest.ReadNotify(t, sd)
	if got := appliancetest.ReadNotify(t, sd); !strings.Contains(got, "READY=1") {
		t.Errorf("notify after reload = %q", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon stop = %v; want a clean stop", err)
	}
	if got := appliancetest.ReadNotify(t, sd); got != "STOPPING=1" {
		t.Errorf("notify at stop = %q", got)
	}
	// The store was closed: it opens again, with the reloaded lists and
	// the audit of what happened.
	db, _, err := store.Open(filepath.Join(cfg.DataDir, config.StoreFile), store.Options{})
	if err != nil {
		t.Fatalf("reopen store after stop = %v", err)
	}
	defer db.Close()
	vs, _ := db.ListVehicles()
	if len(vs) != 1 || vs[0].Plate != "粤B11111" || vs[0].Note != appliance.VehicleNote {
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
	cfg, err := config.LoadValid(p)
	if err != nil {
		t.Fatal(err)
	}
	err = serveDaemon(context.Background(), cfg, nil, appliance.Options{Getenv: appliancetest.Env(nil)})
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("serveDaemon on a busy port = %v; want a listen error", err)
	}
	// Everything opened before was closed: the store opens.
	db, _, err := store.Open(filepath.Join(cfg.DataDir, config.StoreFile), store.Options{})
	if err != nil {
		t.Fatalf("store after a failed start = %v", err)
	}
	db.Close()
}

func TestSelftestConfigAndStore(t *testing.T) {
	dir := t.TempDir()
	p := minimalConfig(t, dir, "")
	os.MkdirAll(filepath.Join(dir, "data"), 0o750)
	var out bytes.Buffer
	if err := selftest(context.Background(), p, &out); err != nil {
		t.Fatalf("selftest(no store yet) = %v", err)
	}
	db, _, err := store.Open(filepath.Join(dir, "data", config.StoreFile), store.Options{})
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
	os.WriteFile(filepath.Join(dir, "data", config.StoreFile), []byte("not a bbolt file, garbage of some length........"), 0o600)
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
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("listen = "), []byte("allow = [\"::ffff:10.1.0.0/112\"]\ntrust_loopback = false\ntrusted_proxy = true\nlisten = "), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := startDaemon(ctx, t, p)
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
	resp, err := http.Get("http://" + addr.String() + appliance.HealthPath)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("health probe = %v, %v; want 200", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("daemon stop = %v", err)
	}
}
