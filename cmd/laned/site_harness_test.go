package main

// The harness of the site tests (issue 18): laned and cmbsim built once per
// test process and run as processes on loopback; one cmbsim (the bank,
// calling back the gateway box) and three laned boxes, each with its own
// data_dir, sim board, console socket and, for a site, a [site] section
// whose hub URL is a TCP proxy in this process (sitetest.Proxy) in front
// of the hub's leafnode listener, so that a test cuts and restores each
// box's link.

import (
	"bytes"
	"encoding/json"
	"errors"
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

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/cmb/cmbtest"
	"laned/internal/progress"
	"laned/site/sitetest"
)

const (
	siteAppID  = "ik45nfuz"
	siteSecret = "vqhqr9vozoorivkc3lemrbicphgzx"
	sitePark   = int64(5201020001)
)

// The binaries, built once per test process (TestMain removes them).
var siteBuild struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if siteBuild.dir != "" {
		os.RemoveAll(siteBuild.dir)
	}
	os.Exit(code)
}

// siteBinaries builds laned and cmbsim (static, without -race: they are
// the processes under test, not this one) and returns their paths.
func siteBinaries(t *testing.T) (laned, sim string) {
	t.Helper()
	siteBuild.once.Do(func() {
		if _, err := exec.LookPath("go"); err != nil {
			siteBuild.err = fmt.Errorf("no go tool to build laned: %w", err)
			return
		}
		if siteBuild.dir, siteBuild.err = os.MkdirTemp("", "laned-site-bin-"); siteBuild.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", siteBuild.dir, "laned/cmd/laned", "laned/cmd/cmbsim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			siteBuild.err = fmt.Errorf("go build laned cmbsim: %v\n%s", err, out)
		}
	})
	if siteBuild.err != nil {
		t.Fatal(siteBuild.err)
	}
	return filepath.Join(siteBuild.dir, "laned"), filepath.Join(siteBuild.dir, "cmbsim")
}

// freeTCPPort finds a loopback TCP port nobody listens on.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// bankProc is a `cmbsim serve` process: the bank of the whole site.
type bankProc struct {
	base string // http://127.0.0.1:port
}

var bankHTTP = &http.Client{Timeout: progress.Stall} // a hang guard

// startBank runs cmbsim serve in guaranteed mode, its callbacks to laneURL.
func startBank(t *testing.T, bin, laneURL, logPath string) *bankProc {
	t.Helper()
	return &bankProc{base: cmbtest.Serve(t, bin, siteAppID, siteSecret, sitePark, laneURL, logPath)}
}

// get decodes the JSON answer of GET path on the admin API.
func (b *bankProc) get(path string, v any) error {
	resp, err := bankHTTP.Get(b.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// post sends body as JSON to path and decodes the answer into v (nil:
// ignored).
func (b *bankProc) post(path string, body, v any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := bankHTTP.Post(b.base+path, "application/json", bytes.NewReader(data))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, msg)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// uplinks are the uplinks of endpoint the bank accepted.
func (b *bankProc) uplinks(t *testing.T, endpoint string) []cmbsim.Uplink {
	t.Helper()
	var all []cmbsim.Uplink
	if err := b.get("/_sim/received?endpoint="+endpoint, &all); err != nil {
		t.Fatal(err)
	}
	var out []cmbsim.Uplink
	for _, u := range all {
		if u.Accepted() {
			out = append(out, u)
		}
	}
	return out
}

// payNotices are the pay notices the bank sent for record id that the
// lane accepted.
func (b *bankProc) payNotices(t *testing.T, id string) []cmbsim.Callback {
	t.Helper()
	var sent []cmbsim.Callback
	if err := b.get("/_sim/sent", &sent); err != nil {
		t.Fatal(err)
	}
	var out []cmbsim.Callback
	for _, c := range sent {
		if c.Endpoint == cmb.EpPay && c.Params["record_id"] == id && c.Err == "" && c.Status == cmb.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

// scanPay plays the driver at exit outCode scanning the QR code and
// paying: the bank's calc (by out_code) and pay notice go to the gateway.
func (b *bankProc) scanPay(outCode int) (order string, fen int64, err error) {
	return b.pay("/_sim/scan-pay", map[string]any{"out_code": outCode})
}

// platePay plays the driver of plate paying on the phone: the bank's calc
// (by plate) and pay notice go to the gateway.
func (b *bankProc) platePay(plate string) (order string, fen int64, err error) {
	return b.pay("/_sim/plate-pay", map[string]any{"vpl_number": plate})
}

// pay is a driver's payment; not paid (nothing owed yet, the lane's
// owner unreachable) is errTryAgain.
func (b *bankProc) pay(path string, body any) (order string, fen int64, err error) {
	var res struct {
		Paid   bool   `json:"paid"`
		Order  string `json:"order"`
		Amount int64  `json:"amount"`
		Status int    `json:"status"`
		Msg    string `json:"message"`
		Error  string `json:"error"`
	}
	if err := b.post(path, body, &res); err != nil {
		return "", 0, err
	}
	if !res.Paid {
		return "", 0, fmt.Errorf("%s %v: not paid: status %d %s %s: %w", path, body, res.Status, res.Msg, res.Error, errTryAgain)
	}
	return res.Order, res.Amount, nil
}

// boxSpec is one box of a test's car park.
type boxSpec struct {
	name string // box id and lane suffix: lanes in<name>, out<name>
	code int    // in_code and out_code of its lanes
}

// siteBoxes are the boxes of every test: a is the gateway (and the hub).
var siteBoxes = []boxSpec{{"a", 1}, {"b", 2}, {"c", 3}}

// box is one laned of the rig.
type box struct {
	boxSpec
	bin   string
	dir   string
	cfg   string
	sock  string
	port  int             // the platform callback port
	leaf  int             // the leafnode listen port (the hub), 0: none
	proxy *sitetest.Proxy // this box's link to the hub (site, not the hub)
	logf  *os.File

	mu   sync.Mutex
	proc *exec.Cmd
	done chan error // the process's exit, once
}

func (b *box) entry() string { return "in" + b.name }
func (b *box) exit() string  { return "out" + b.name }

// dataDir is the box's data_dir.
func (b *box) dataDir() string { return filepath.Join(b.dir, "data") }

// siteRig is a car park of boxes and its bank.
type siteRig struct {
	t     *testing.T
	bank  *bankProc
	boxes []*box
	site  bool // boxes have a [site] section
}

// vipPlates are on every box's vip list: they leave free (pay_type 7).
var vipPlates = []string{"粤V00001", "粤V00002", "粤V00003", "粤V00004", "粤V00005", "粤V00006"}

// newSiteRig starts the bank and the three boxes; with site, the boxes
// form one site with a as gateway and hub, b and c linked through their
// proxies.
func newSiteRig(t *testing.T, site bool) *siteRig {
	t.Helper()
	lanedBin, simBin := siteBinaries(t)
	root := t.TempDir()
	r := &siteRig{t: t, site: site}
	for _, s := range siteBoxes {
		b := &box{boxSpec: s, bin: lanedBin, dir: filepath.Join(root, s.name), port: freeTCPPort(t)}
		if err := os.MkdirAll(b.dir, 0o750); err != nil {
			t.Fatal(err)
		}
		r.boxes = append(r.boxes, b)
	}
	hub := r.boxes[0]
	if site {
		hub.leaf = freeTCPPort(t)
		for _, b := range r.boxes[1:] {
			p, err := sitetest.NewProxy(fmt.Sprintf("127.0.0.1:%d", hub.leaf))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			b.proxy = p
		}
	}
	r.bank = startBank(t, simBin, fmt.Sprintf("http://127.0.0.1:%d/", hub.port), filepath.Join(root, "cmbsim.log"))
	for _, b := range r.boxes {
		r.writeConfig(b)
	}
	t.Cleanup(func() {
		for _, b := range r.boxes {
			b.kill()
		}
		if t.Failed() {
			r.dumpLogs()
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, len(r.boxes))
	for i, b := range r.boxes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = b.start() }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *siteRig) box(name string) *box {
	for _, b := range r.boxes {
		if b.name == name {
			return b
		}
	}
	r.t.Fatalf("no box %q", name)
	return nil
}

// writeConfig writes b's configuration: lanes in<b>/out<b> on the sim
// board on a simulated clock (the rig moves every box's on together),
// every stay of a minute or more charged (5 yuan the first hour),
// guaranteed mode, the console on a socket, and its [site] section.
func (r *siteRig) writeConfig(b *box) {
	t := r.t
	t.Helper()
	if err := os.WriteFile(filepath.Join(b.dir, "appsecret"), []byte(siteSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.sock = filepath.Join(b.dir, "console.sock")
	var vip strings.Builder
	for _, p := range vipPlates {
		fmt.Fprintf(&vip, "[[vehicles]]\nplate = %q\nlist = \"vip\"\n", p)
	}
	body := fmt.Sprintf(`data_dir = %q
log_level = "info"
[park]
park_code = %d
spaces_total = 1000
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
clock = "sim"
[[lanes]]
name = %q
kind = "entry"
code = %d
[[lanes]]
name = %q
kind = "exit"
code = %d
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
%s`, b.dataDir(), sitePark, r.bank.base, siteAppID, b.port, b.entry(), b.code, b.exit(), b.code, b.sock, vip.String())
	if r.site {
		body += r.siteSection(b)
	}
	b.cfg = filepath.Join(b.dir, "laned.conf")
	if err := os.WriteFile(b.cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// siteSection is b's [site]: the hub listens, the others dial it through
// their proxy. request_timeout is the longest allowed: on a loaded
// machine a lane-owner request must not turn into "try again".
func (r *siteRig) siteSection(b *box) string {
	t := r.t
	cred := filepath.Join(b.dir, "site.cred")
	if err := os.WriteFile(cred, []byte("user=laned\npassword=e2e-site-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, m := range r.boxes {
		members = append(members, fmt.Sprintf("%q", m.name))
	}
	s := fmt.Sprintf("[site]\nbox = %q\nmembers = [%s]\ncredentials = \"site.cred\"\nrequest_timeout = \"5s\"\n",
		b.name, strings.Join(members, ", "))
	if b.leaf != 0 {
		s += fmt.Sprintf("gateway = true\nlisten = \"127.0.0.1:%d\"\n", b.leaf)
	}
	if b.proxy != nil {
		s += fmt.Sprintf("hub = [\"nats-leaf://%s\"]\n", b.proxy.Addr())
	}
	return s
}

// advance moves every running box's simulated clock on by d: the car
// park's clocks move together.
func (r *siteRig) advance(t *testing.T, d time.Duration) {
	t.Helper()
	for _, b := range r.boxes {
		if b.running() {
			if out := b.must(t, "sim advance "+d.String()); !strings.Contains(out, "now ") {
				t.Fatalf("box %s: sim advance %s printed %q", b.name, d, out)
			}
		}
	}
}

// dumpLogs logs every box's warnings and errors and the tail of its log.
func (r *siteRig) dumpLogs() {
	for _, b := range r.boxes {
		data, err := os.ReadFile(filepath.Join(b.dir, "laned.log"))
		if err != nil {
			continue
		}
		var bad []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				bad = append(bad, line)
			}
		}
		if len(bad) > 40 {
			bad = bad[len(bad)-40:]
		}
		r.t.Logf("box %s: warnings and errors (last %d):\n%s\nlog (tail):\n%s", b.name, len(bad), strings.Join(bad, "\n"), tailText(string(data), 3000))
	}
}

func tailText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// start runs `laned run` on the box's configuration, its log appended to
// laned.log, and waits until the callback server answers the health
// probe and the console socket answers.
func (b *box) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.logf == nil {
		f, err := os.OpenFile(filepath.Join(b.dir, "laned.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		b.logf = f
	}
	cmd := exec.Command(b.bin, "run", "-config", b.cfg)
	cmd.Stdout, cmd.Stderr = b.logf, b.logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("box %s: %w", b.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	b.proc, b.done = cmd, done
	if err := waitServing(b.port, done); err != nil {
		return fmt.Errorf("box %s: %w", b.name, err)
	}
	// The console socket comes up beside the callback server: until it
	// answers, a dial may meet the socket file a killed life left.
	deadline := time.Now().Add(progress.Stall)
	for {
		_, err := b.do()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("box %s: console socket: %w", b.name, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitServing polls the daemon's health probe until it answers; the guard
// of progress.Stall only catches a daemon that never serves.
func waitServing(port int, done chan error) error {
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
		time.Sleep(5 * time.Millisecond)
	}
}

// running reports whether the box's process runs.
func (b *box) running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.proc != nil
}

// kill sends SIGKILL (kill -9) and reaps the process; a no-op when it is
// not running.
func (b *box) kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return
	}
	b.proc.Process.Signal(syscall.SIGKILL)
	<-b.done
	b.proc, b.done = nil, nil
}

// stop sends SIGTERM and waits for the exit.
func (b *box) stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.proc == nil {
		return nil
	}
	b.proc.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-b.done:
	case <-time.After(progress.Stall): // a hang guard
		b.proc.Process.Signal(syscall.SIGKILL)
		<-b.done
		err = fmt.Errorf("box %s did not stop within %s of SIGTERM", b.name, progress.Stall)
	}
	b.proc, b.done = nil, nil
	return err
}

// consolePrompt ends every answer on the console socket.
const consolePrompt = "laned> "

// do runs console commands on the box's socket, one session, and returns
// their output joined. An error is a session that failed; a command's
// own refusal is in the output.
func (b *box) do(cmds ...string) (string, error) {
	c, err := net.Dial("unix", b.sock)
	if err != nil {
		return "", err
	}
	defer c.Close()
	read := func() (string, error) {
		c.SetReadDeadline(time.Now().Add(progress.Stall)) // a hang guard
		var out []byte
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			out = append(out, buf[:n]...)
			if bytes.HasSuffix(out, []byte(consolePrompt)) {
				return string(out[:len(out)-len(consolePrompt)]), nil
			}
			if err != nil {
				return string(out), err
			}
		}
	}
	if _, err := read(); err != nil {
		return "", err
	}
	var all strings.Builder
	for _, cmd := range cmds {
		c.SetWriteDeadline(time.Now().Add(progress.Stall))
		if _, err := io.WriteString(c, cmd+"\n"); err != nil {
			return all.String(), err
		}
		out, err := read()
		all.WriteString(strings.ReplaceAll(out, "\r", ""))
		if err != nil {
			return all.String(), err
		}
	}
	return all.String(), nil
}

// must runs console commands and fails the test on a broken session.
func (b *box) must(t *testing.T, cmds ...string) string {
	t.Helper()
	out, err := b.do(cmds...)
	if err != nil {
		t.Fatalf("box %s: console %q: %v\n%s", b.name, cmds, err, out)
	}
	return out
}

var tableCols = regexp.MustCompile(`\s{2,}`)

// laneState is one lane in the console's `lanes` table.
type laneState struct{ barrier, state string }

// lanes parses the box's `lanes` table.
func (b *box) lanes() (map[string]laneState, error) {
	out, err := b.do("lanes")
	if err != nil {
		return nil, err
	}
	rows := map[string]laneState{}
	for _, line := range strings.Split(out, "\n") {
		f := tableCols.Split(strings.TrimSpace(line), -1)
		if len(f) >= 5 && f[0] != "#" {
			rows[f[1]] = laneState{barrier: f[3], state: f[4]}
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("box %s: lanes printed no table: %q", b.name, out)
	}
	return rows, nil
}

// recRow is one row of the console's `records PLATE` table.
type recRow struct{ id, plate, state string }

// records parses `records PLATE` on the box.
func (b *box) records(plate string) ([]recRow, error) {
	out, err := b.do("records " + plate)
	if err != nil {
		return nil, err
	}
	var rows []recRow
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] == "ID" || f[1] != plate {
			continue
		}
		rows = append(rows, recRow{id: f[0], plate: f[1], state: f[2]})
	}
	return rows, nil
}

// record parses `record ID` on the box: its key → value lines.
func (b *box) record(id string) (map[string]string, error) {
	out, err := b.do("record " + id)
	if err != nil {
		return nil, err
	}
	if strings.Contains(out, "no such record") {
		return nil, nil
	}
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok {
			kv[k] = strings.TrimSpace(v)
		}
	}
	if kv["id"] != id {
		return nil, fmt.Errorf("box %s: record %s printed %q", b.name, id, out)
	}
	return kv, nil
}

// pending is the box's outbox depth as `queue` shows it.
func (b *box) pending() (int, error) {
	out, err := b.do("queue")
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`pending\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("box %s: queue printed %q", b.name, out)
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n, nil
}

// until polls cond until it holds; it fails the test only when cond is
// still false and moved's snapshot has not changed for progress.Stall.
// cond's error fails the test at once.
func until(t *testing.T, what string, cond func() (bool, error), moved func() any) {
	t.Helper()
	w := progress.NewWatch(moved)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if w.Stalled() {
			var seen any
			if moved != nil {
				seen = moved()
			}
			t.Fatalf("%s: nothing moved for %s; last seen: %v", what, progress.Stall, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// barrierUp: the barrier is open or opening.
func barrierUp(l laneState) bool { return l.barrier == "open" || l.barrier == "opening" }

// drive plays a vehicle at lane of b: it arrives, the lane lets it through
// (pay is called when the lane waits for payment; nil: the test fails
// there), and it drives away; it returns when the barrier is down.
func (b *box) drive(t *testing.T, lane, plate string, pay func() error) {
	t.Helper()
	if err := b.driveErr(lane, plate, pay); err != nil {
		t.Fatal(err)
	}
}

// errTryAgain is a payment the bank could not make yet (the lane's owner
// unreachable, a calc answered "try again"): pay is called again.
var errTryAgain = errors.New("try again")

// driveErr is drive for a goroutine: it returns what failed. A stall of
// progress.Stall with the lane's state unchanged is a failure.
func (b *box) driveErr(lane, plate string, pay func() error) error {
	if _, err := b.do("sim arrive " + lane + " " + plate); err != nil {
		return fmt.Errorf("box %s: sim arrive %s %s: %w", b.name, lane, plate, err)
	}
	paid := false
	var last laneState
	var payErr error
	w := progress.NewWatch(func() any { return last })
	for !barrierUp(last) {
		rows, err := b.lanes()
		if err != nil {
			return err
		}
		last = rows[lane]
		switch {
		case barrierUp(last):
		case strings.HasPrefix(last.state, "waiting to pay") && !paid:
			if pay == nil {
				return fmt.Errorf("box %s: %s waits to pay: %s", b.name, lane, last.state)
			}
			payErr = pay()
			switch {
			case errors.Is(payErr, errTryAgain):
			case payErr != nil:
				return fmt.Errorf("box %s: paying for %s at %s: %w", b.name, plate, lane, payErr)
			default:
				paid = true
			}
		case strings.HasPrefix(last.state, "refused"), strings.HasPrefix(last.state, "unknown"):
			return fmt.Errorf("box %s: %s at %s: %s", b.name, plate, lane, last.state)
		}
		if w.Stalled() {
			return fmt.Errorf("box %s: %s at %s: stuck for %s in %+v (last payment: %v)", b.name, plate, lane, progress.Stall, last, payErr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := b.do("sim pass " + lane); err != nil {
		return err
	}
	w = progress.NewWatch(func() any { return last })
	for last.barrier != "closed" {
		rows, err := b.lanes()
		if err != nil {
			return err
		}
		if last = rows[lane]; last.barrier != "closed" {
			if w.Stalled() {
				return fmt.Errorf("box %s: %s stays %+v behind %s", b.name, lane, last, plate)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// drained waits until b's outbox is empty.
func (b *box) drained(t *testing.T) {
	t.Helper()
	n := -1
	until(t, "box "+b.name+": outbox drains", func() (bool, error) {
		var err error
		n, err = b.pending()
		return n == 0, err
	}, func() any { return n })
}

// byRecord counts the accepted uplinks of endpoint per record id.
func byRecord(us []cmbsim.Uplink) map[string][]cmbsim.Uplink {
	m := map[string][]cmbsim.Uplink{}
	for _, u := range us {
		m[u.RecordID] = append(m[u.RecordID], u)
	}
	return m
}

// codeParam is the lane code an Indata (in_code) or Outdata (out_code)
// carries.
func codeParam(u cmbsim.Uplink) string {
	if u.Endpoint == cmb.EpOutdata {
		return u.Params["out_code"]
	}
	return u.Params["in_code"]
}
