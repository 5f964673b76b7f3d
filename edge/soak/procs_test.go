package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"laned/cmb/cmbtest"
	"laned/internal/progress"
	"laned/store"
)

const (
	appID    = "ik45nfuz"
	secret   = "vqhqr9vozoorivkc3lemrbicphgzx"
	parkCode = int64(5201020001)
)

// level is how long the suites run: the default is short (make test),
// LANED_SOAK=ci is CI's form, LANED_SOAK=full the long one (make soak).
type level struct {
	name        string
	kills       int           // TestKill9: SIGKILLs of the running daemon
	offlineCars int           // TestPlatformDownForADay: vehicles in the day
	garbage     time.Duration // TestCameraGarbage: garbage at line rate
	badSigns    int           // TestCallbackAbuse: refused requests
}

func soakLevel() level {
	switch os.Getenv("LANED_SOAK") {
	case "full":
		return level{name: "full", kills: 100, offlineCars: 10000, garbage: time.Minute, badSigns: 1000}
	case "ci":
		return level{name: "ci", kills: 50, offlineCars: 2000, garbage: 10 * time.Second, badSigns: 1000}
	}
	return level{name: "short", kills: 5, offlineCars: 300, garbage: 2 * time.Second, badSigns: 200}
}

// report prints a suite's figures: always (not only with -v), since they
// are the suite's result.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	fmt.Printf("%s: %s\n", t.Name(), fmt.Sprintf(format, args...))
}

// Binaries built once per test process.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds laned and cmbsim (static, as shipped) once and returns
// their paths.
func binaries(t *testing.T) (laned, cmbsim string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "laned-soak-bin-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"laned/cmd/laned", "laned/cmd/cmbsim"} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", binDir, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "laned"), filepath.Join(binDir, "cmbsim")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freePort finds a loopback TCP port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// simProc is a `cmbsim serve` process.
type simProc struct {
	base string // http://127.0.0.1:port
}

// startSim runs cmbsim serve in guaranteed mode with callbacks to laneURL.
func startSim(t *testing.T, bin, laneURL, logPath string) *simProc {
	t.Helper()
	return &simProc{base: cmbtest.Serve(t, bin, appID, secret, parkCode, laneURL, logPath)}
}

var adminHTTP = &http.Client{Timeout: progress.Stall} // a hang guard

// get decodes the JSON answer of GET path on the admin API.
func (s *simProc) get(path string, v any) error {
	resp, err := adminHTTP.Get(s.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// post sends body as JSON to path and decodes the answer into v (nil:
// ignored).
func (s *simProc) post(method, path string, body, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := adminHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// lanedConfig writes a sim-board configuration: entry in1 and exit out1,
// every stay charged (5 yuan the first hour), guaranteed mode, the
// console on a socket in dir.
func lanedConfig(t *testing.T, dir, platform string, port int) (path, sock string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "appsecret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(dir, "console.sock")
	body := fmt.Sprintf(`data_dir = %q
log_level = "warn"
[park]
park_code = %d
spaces_total = 100000
replace_stale = true
[platform]
base_url = %q
appid = %q
secret_file = "appsecret"
listen = "127.0.0.1:%d"
guaranteed = true
send_timeout = "5s"
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
free_minutes = 0
first_minutes = 60
first_price = 500
next_minutes = 30
next_price = 200
[console]
socket = %q
`, filepath.Join(dir, "data"), parkCode, platform, appID, port, sock)
	path = filepath.Join(dir, "laned.conf")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sock
}

// rig is a soak run's outside: the laned binary, a cmbsim serving with
// callbacks to laned's port, and laned's sim-board configuration and log
// in dir. laned itself is not started.
type rig struct {
	laned   string   // the laned binary
	dir     string   // the run's files: configuration, logs, data/
	port    int      // laned's callback port
	laneURL string   // http://127.0.0.1:port/
	sim     *simProc // the platform
	cfg     string   // laned's configuration file
	sock    string   // laned's console socket
	log     *os.File // laned's log, laned.log in dir
}

func newRig(t *testing.T) *rig {
	t.Helper()
	lanedBin, simBin := binaries(t)
	r := &rig{laned: lanedBin, dir: t.TempDir(), port: freePort(t)}
	r.laneURL = fmt.Sprintf("http://127.0.0.1:%d/", r.port)
	r.sim = startSim(t, simBin, r.laneURL, filepath.Join(r.dir, "cmbsim.log"))
	r.cfg, r.sock = lanedConfig(t, r.dir, r.sim.base, r.port)
	var err error
	if r.log, err = os.Create(filepath.Join(r.dir, "laned.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.log.Close() })
	return r
}

// dbPath is laned's store file.
func (r *rig) dbPath() string { return filepath.Join(r.dir, "data", "laned.db") }

// storeAfter opens laned's store once laned stopped, checks its
// consistency, and closes it when the test ends.
func (r *rig) storeAfter(t *testing.T) *store.DB {
	t.Helper()
	db, _, err := store.Open(r.dbPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CheckConsistency(); err != nil {
		t.Errorf("CheckConsistency of the store after the run = %v", err)
	}
	return db
}

// start runs laned on the rig's configuration, its log in laned.log (see
// startLaned).
func (r *rig) start(t *testing.T) (*daemonProc, time.Duration, error) {
	t.Helper()
	return startLaned(t, r.laned, r.cfg, r.port, r.log)
}

// daemonProc is a `laned run` process.
type daemonProc struct {
	cmd  *exec.Cmd
	done chan error
}

// startLaned runs laned with cfg, its log appended to logf, and waits
// until its callback server answers the health probe on port.
func startLaned(t *testing.T, bin, cfg string, port int, logf io.Writer) (*daemonProc, time.Duration, error) {
	t.Helper()
	t0 := time.Now()
	cmd := exec.Command(bin, "run", "-config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	p := &daemonProc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	if err := waitHealthy(port, p.done); err != nil {
		p.kill()
		return nil, 0, err
	}
	return p, time.Since(t0), nil
}

// waitHealthy polls the daemon's health probe; a guard of progress.Stall
// catches a daemon that never serves.
func waitHealthy(port int, done chan error) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/.laned/health", port)
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(progress.Stall)
	for {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("laned exited before serving: %v", err)
		default:
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("laned not serving after %s", progress.Stall)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// kill sends SIGKILL and reaps the process.
func (p *daemonProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// stop sends SIGTERM and waits for a clean exit.
func (p *daemonProc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(progress.Stall):
		p.kill()
		return fmt.Errorf("laned did not stop within %s of SIGTERM", progress.Stall)
	}
}

// consoleConn is a session on the daemon's console socket, speaking the
// line protocol `laned console` relays: a line in, the answer and a
// prompt out.
type consoleConn struct {
	c net.Conn
}

const prompt = "laned> "

func dialConsole(path string) (*consoleConn, error) {
	var c net.Conn
	var err error
	for deadline := time.Now().Add(progress.Stall); time.Now().Before(deadline); { // the socket appears shortly after the server serves
		if c, err = net.Dial("unix", path); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	cc := &consoleConn{c: c}
	if _, err := cc.readPrompt(); err != nil {
		c.Close()
		return nil, err
	}
	return cc, nil
}

func (cc *consoleConn) readPrompt() (string, error) {
	cc.c.SetReadDeadline(time.Now().Add(progress.Stall)) // a hang guard
	var out []byte
	b := make([]byte, 4096)
	for {
		n, err := cc.c.Read(b)
		out = append(out, b[:n]...)
		if bytes.HasSuffix(out, []byte(prompt)) {
			return string(out[:len(out)-len(prompt)]), nil
		}
		if err != nil {
			return string(out), err
		}
	}
}

// do runs one command and returns its output.
func (cc *consoleConn) do(cmd string) (string, error) {
	cc.c.SetWriteDeadline(time.Now().Add(progress.Stall)) // a hang guard
	if _, err := io.WriteString(cc.c, cmd+"\n"); err != nil {
		return "", err
	}
	return cc.readPrompt()
}

func (cc *consoleConn) Close() error { return cc.c.Close() }

// laneRow is one lane in the console's `lanes` table.
type laneRow struct{ barrier, state string }

var colSplit = regexp.MustCompile(`\s{2,}`)

// lanes parses the `lanes` table.
func (cc *consoleConn) lanes() (map[string]laneRow, error) {
	out, err := cc.do("lanes")
	if err != nil {
		return nil, err
	}
	rows := map[string]laneRow{}
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		f := colSplit.Split(strings.TrimSpace(line), -1)
		if len(f) >= 5 && f[0] != "#" {
			rows[f[1]] = laneRow{barrier: f[3], state: f[4]}
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("lanes printed no table: %q", out)
	}
	return rows, nil
}

var pendingRE = regexp.MustCompile(`pending\s+(\d+)`)

// pending is the outbox depth as `queue` shows it.
func (cc *consoleConn) pending() (int, error) {
	out, err := cc.do("queue")
	if err != nil {
		return 0, err
	}
	m := pendingRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("queue printed %q", out)
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n, nil
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Millisecond):
		}
	}
}
