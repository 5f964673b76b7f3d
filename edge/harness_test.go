package edge

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/internal/progress"
	"laned/store"
	"laned/store/storetest"
)

const (
	testAppID  = "ik45nfuz"
	testSecret = "vqhqr9vozoorivkc3lemrbicphgzx"
	testPark   = int64(5201020001)
)

// shenzhen is tariff.Typical: 15 free minutes, the first hour 5 yuan,
// each further 30 min 2 yuan, 40 yuan a day; large double; new-energy two
// free hours.
func shenzhen() tariff.Config { return tariff.Typical() }

type harness struct {
	t       *testing.T
	clk     *clock.Fake
	db      *store.DB
	sim     *cmbsim.Sim
	ctl     *Controller
	entry   *sim.Lane
	exit    *sim.Lane
	lanes   []*sim.Lane
	boards  map[string]*sim.Display // each lane's simulated display board (display_test.go)
	laneURL string
	// simTLS serves the same simulator over https (a binding's post_url
	// points at it); the client trusts it.
	simTLS *httptest.Server
	cancel context.CancelFunc
	done   chan error
	ctx    context.Context

	// what a restart rebuilds the controller from
	setup       harnessSetup
	cfg         Config
	eng         *tariff.Engine
	client      *cmb.Client
	laneHandler atomic.Value

	faultMu  sync.Mutex
	fault    error                 // the store's commits fail with it (nil: healthy)
	faultOp  map[string]bool       // only these operations (nil: all)
	onCommit func(op string) error // asked before each commit, after fault (nil: none)
	commits  []string              // the operations committed or tried, in order
}

type harnessOpt func(*Config)

// start is 2026-03-02 09:00 in Shanghai.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	return newHarnessWith(t, harnessSetup{}, opts...)
}

// harnessSetup changes what the harness builds.
type harnessSetup struct {
	// barrier wraps a lane's barrier (nil: the sim barrier as is).
	barrier func(lane string, b hal.Barrier) hal.Barrier
	// deps adjusts the controller's Deps (nil: as built).
	deps func(*Deps)
	// box is the store's box in a site ("": alone).
	box string
}

// newHarnessDeps is newHarness with the controller's Deps adjusted by deps.
func newHarnessDeps(t *testing.T, deps func(*Deps), opts ...harnessOpt) *harness {
	t.Helper()
	return newHarnessWith(t, harnessSetup{deps: deps}, opts...)
}

func newHarnessWith(t *testing.T, setup harnessSetup, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(start)}
	h.db, _ = storetest.Open(t, store.Options{Now: h.clk.Now, FailCommit: h.commitFault, Box: setup.box})
	eng, err := tariff.New(shenzhen())
	if err != nil {
		t.Fatal(err)
	}
	// SendTimeout: the tests' exchanges are loopback HTTP; on a busy
	// machine one may take seconds, and a timeout would turn it into a
	// retry the fake clock never reaches.
	cfg := Config{ParkCode: testPark, Spaces: Spaces{Total: 500, VIP: 20}, ReplaceStale: true, SendTimeout: progress.Stall}
	for _, o := range opts {
		o(&cfg)
	}

	// The lane's callback server, its handler set once the controller exists.
	laneSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.laneHandler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(laneSrv.Close)
	h.laneURL = laneSrv.URL + "/"

	h.sim = cmbsim.New(cmbsim.Config{
		AppID: testAppID, Secret: testSecret, ParkCode: testPark, LaneURL: laneSrv.URL + "/",
		Guaranteed: cfg.Guaranteed, Now: h.clk.Now, Rand: rand.NewChaCha8([32]byte{1}),
	})
	platform := httptest.NewServer(h.sim.Handler())
	t.Cleanup(platform.Close)
	h.simTLS = httptest.NewTLSServer(h.sim.Handler())
	t.Cleanup(h.simTLS.Close)
	client, err := cmb.NewClient(cmb.Config{BaseURL: platform.URL, AppID: testAppID, Secret: testSecret, ParkCode: testPark, Timeout: progress.Stall, HTTP: h.simTLS.Client()})
	if err != nil {
		t.Fatal(err)
	}
	h.setup, h.cfg, h.eng, h.client = setup, cfg, eng, client
	h.start(nil)
	t.Cleanup(h.stop)
	return h
}

// start builds fresh sim lanes (prepare, if set, puts vehicles on them
// before the controller runs) and a controller on the harness's store,
// and runs it.
func (h *harness) start(prepare func(entry, exit *sim.Lane)) {
	t := h.t
	h.entry = sim.NewLane(h.clk, sim.LaneConfig{Name: "entry1", CameraAddr: 1})
	h.exit = sim.NewLane(h.clk, sim.LaneConfig{Name: "exit1", CameraAddr: 2})
	h.lanes = []*sim.Lane{h.entry, h.exit}
	if prepare != nil {
		prepare(h.entry, h.exit)
	}
	barrier := func(l *sim.Lane) hal.Barrier {
		if h.setup.barrier == nil {
			return l.Barrier
		}
		return h.setup.barrier(l.Name, l.Barrier)
	}
	lanes := []LaneConfig{
		{Name: "entry1", Kind: Entry, Code: 1, Arming: h.entry.Arming, Safety: h.entry.Safety, Barrier: barrier(h.entry), Camera: h.entry.Camera},
		{Name: "exit1", Kind: Exit, Code: 1, Arming: h.exit.Arming, Safety: h.exit.Safety, Barrier: barrier(h.exit), Camera: h.exit.Camera},
	}
	h.attachBoards(&h.cfg, lanes)
	d := Deps{Store: h.db, Tariff: h.eng, Uplink: h.client, Clock: h.clk, Rand: rand.New(rand.NewPCG(1, 2)), Logger: testLogger(t)}
	if h.setup.deps != nil {
		h.setup.deps(&d)
	}
	var err error
	h.ctl, err = New(h.cfg, lanes, d)
	if err != nil {
		h.t.Fatal(err)
	}
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: testAppID, Secret: testSecret, ParkCode: testPark, Prefix: "/", Logger: testLogger(h.t)}, h.ctl)
	if err != nil {
		h.t.Fatal(err)
	}
	h.laneHandler.Store(http.Handler(srv))
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.done = make(chan error, 1)
	go func() { h.done <- h.ctl.Run(h.ctx) }()
}

// restart stops the controller (its devices halt, as at a power cut) and
// starts a new one on the same store with fresh devices; prepare puts the
// vehicles that stood in the lanes back on them.
func (h *harness) restart(prepare func(entry, exit *sim.Lane)) {
	h.t.Helper()
	h.stop()
	h.start(prepare)
}

// restartSettled restarts the controller once every lane has taken its
// events, and waits until the new one has taken its own.
func (h *harness) restartSettled() {
	h.t.Helper()
	h.settle()
	h.restart(nil)
	h.settle()
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	if err := <-h.done; err != nil {
		h.t.Errorf("Run() = %v", err)
	}
	for _, l := range h.lanes {
		for _, f := range l.Barrier.Faults() {
			if strings.HasPrefix(f.Fault, sim.FaultHit) {
				h.t.Errorf("%s: safety fault: %+v", l.Name, f)
			}
		}
	}
}

// failCommits makes the store's commits of ops (all when none) fail with
// err, as a full disk or a damaged file would; failCommits(nil) heals it.
func (h *harness) failCommits(err error, ops ...string) {
	h.faultMu.Lock()
	defer h.faultMu.Unlock()
	h.fault, h.faultOp = err, nil
	if len(ops) > 0 {
		h.faultOp = map[string]bool{}
		for _, op := range ops {
			h.faultOp[op] = true
		}
	}
}

func (h *harness) commitFault(op string) error {
	h.faultMu.Lock()
	defer h.faultMu.Unlock()
	h.commits = append(h.commits, op)
	if h.fault != nil && (h.faultOp == nil || h.faultOp[op]) {
		return h.fault
	}
	if h.onCommit != nil {
		return h.onCommit(op)
	}
	return nil
}

// commitOps returns the store operations tried so far, in order.
func (h *harness) commitOps() []string {
	h.faultMu.Lock()
	defer h.faultMu.Unlock()
	return append([]string(nil), h.commits...)
}

// setOnCommit sets the hook asked before each commit (nil: none).
func (h *harness) setOnCommit(f func(op string) error) {
	h.faultMu.Lock()
	defer h.faultMu.Unlock()
	h.onCommit = f
}

// eventually polls cond until it holds. It fails only when nothing moved
// (barriers, uplinks, the outbox, the lanes' work) for progress.Stall: a
// busy machine makes it slow, never failed.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	progress.Until(h.t, what, cond, h.moved)
}

// moved is a snapshot of what the system has done so far.
func (h *harness) moved() any {
	var m [8]int64
	for i, l := range h.lanes[:min(len(h.lanes), 2)] {
		m[i] = int64(len(l.Barrier.Log()))
		m[2+i] = h.ctl.lanes[i].posts.Load()
	}
	m[4] = int64(len(h.sim.Received(cmbsim.Filter{})))
	if st, err := h.db.OutboxStats(h.clk.Now()); err == nil {
		m[5], m[6] = int64(st.Count), int64(st.DeadTotal)
	}
	m[7] = h.clk.Now().UnixNano()
	return m
}

// settle waits until every lane has handled every device event.
func (h *harness) settle() {
	h.t.Helper()
	for range 3 {
		for i, sl := range h.lanes {
			h.eventually(sl.Name+" idle", sl.Idle)
			ln := h.ctl.lanes[i]
			h.eventually(sl.Name+" posts run", func() bool { return ln.posts.Load() == 0 })
			if err := h.ctl.lanes[i].do(context.Background(), func() {}); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// advance moves the clock once the lanes are quiet.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.settle()
	h.clk.Advance(d)
	h.settle()
}

func (h *harness) laneStatus(l *sim.Lane) laneStatus {
	h.settle()
	ln, _ := h.ctl.lane(l.Name)
	return ln.status()
}

// opens counts the open commands a barrier has had.
func opens(l *sim.Lane) int {
	n := 0
	for _, c := range l.Barrier.Log() {
		if c.Op == "open" {
			n++
		}
	}
	return n
}

func lastOp(l *sim.Lane) string {
	log := l.Barrier.Log()
	if len(log) == 0 {
		return ""
	}
	return log[len(log)-1].Op
}

// enter drives plate in through the entry and returns its record.
func (h *harness) enter(plate string) store.Record {
	h.t.Helper()
	n := opens(h.entry)
	h.entry.Arrive(plate)
	h.eventually("entry barrier up for "+plate, func() bool { return opens(h.entry) > n })
	h.entry.PassThrough()
	h.eventually("entry barrier down after "+plate, func() bool { return lastOp(h.entry) == "close" })
	// The barrier closes on the safety loop; the arming loop's clearing may
	// still be queued behind it, and must be taken before the next vehicle.
	h.settle()
	rec, err := h.db.OpenByPlate(plate)
	if err != nil {
		h.t.Fatalf("OpenByPlate(%s) after entry = %v", plate, err)
	}
	return rec
}

// arriveExit puts plate at the exit and waits for the lane's decision.
func (h *harness) arriveExit(plate string) laneStatus {
	h.t.Helper()
	h.exit.Arrive(plate)
	h.settle()
	return h.laneStatus(h.exit)
}

// atExitAfter drives plate in, lets stay pass and brings plate to the
// exit; it returns its record, the exit lane's decision and the exit
// barrier's opens before the vehicle arrived (for leaveExit).
func (h *harness) atExitAfter(plate string, stay time.Duration) (rec store.Record, st laneStatus, before int) {
	h.t.Helper()
	rec = h.enter(plate)
	h.advance(stay)
	before = opens(h.exit)
	return rec, h.arriveExit(plate), before
}

// leaveExit expects the exit barrier up for the vehicle and drives it out.
func (h *harness) leaveExit(opensBefore int) {
	h.t.Helper()
	h.eventually("exit barrier up", func() bool { return opens(h.exit) > opensBefore })
	h.exit.PassThrough()
	h.eventually("exit barrier down", func() bool { return lastOp(h.exit) == "close" })
}

// scanPay has the driver waiting at the exit scan its QR code and pay,
// which must be want fen.
func (h *harness) scanPay(want int64) {
	h.t.Helper()
	res, err := h.sim.ScanPay(context.Background(), 1)
	if err != nil || !res.Paid || res.Amount != want {
		h.t.Fatalf("ScanPay = %+v, %v; want %d paid", res, err, want)
	}
}

// scanPayAndLeave has the driver waiting at the exit pay want fen by
// scanning and drives the vehicle out.
func (h *harness) scanPayAndLeave(want int64) {
	h.t.Helper()
	before := opens(h.exit)
	h.scanPay(want)
	h.leaveExit(before)
}

// drain waits until the outbox is empty.
func (h *harness) drain() {
	h.t.Helper()
	h.settle()
	h.eventually("outbox drained", func() bool {
		h.ctl.kick() // the dispatcher may have armed its timer before the clock moved
		st, err := h.db.OutboxStats(h.clk.Now())
		return err == nil && st.Count == 0
	})
	h.settle()
}

// dispatcherIdle reports whether nothing in the outbox can go now: all
// delivered, waiting for a retry, or held while the platform is away.
func (h *harness) dispatcherIdle() bool {
	h.ctl.out.mu.Lock()
	hold := h.ctl.out.holdUntil
	h.ctl.out.mu.Unlock()
	now := h.clk.Now()
	if now.Before(hold) {
		return true
	}
	due, err := h.db.Due(now, 1)
	return err == nil && len(due) == 0
}

func (h *harness) received(ep, recordID string) []cmbsim.Uplink {
	return h.sim.Received(cmbsim.Filter{Endpoint: ep, RecordID: recordID})
}

// checkPlatform asserts what every scenario must leave true.
func (h *harness) checkPlatform() {
	h.t.Helper()
	if v := h.sim.OrderViolations(); len(v) > 0 {
		h.t.Errorf("platform saw uplinks out of order: %+v", v)
	}
	if d := h.sim.DoubleCharges(); len(d) > 0 {
		h.t.Errorf("platform charged twice: %+v", d)
	}
}

func (h *harness) closed(id string) store.Record {
	h.t.Helper()
	rec, err := h.db.RecordByID(id)
	if err != nil {
		h.t.Fatalf("RecordByID(%s) = %v", id, err)
	}
	if rec.State != store.StateClosed {
		h.t.Fatalf("record %s state = %s; want closed", id, rec.State)
	}
	return rec
}

func isAnswer(err error, status int) bool {
	var re *cmb.RejectedError
	return errors.As(err, &re) && re.Status == status
}

// advanceUntil moves the clock by step until cond holds (at most max
// steps): for what waits on the lane's own timers and the outbox's
// backoff. The real-time pause only paces the steps.
func (h *harness) advanceUntil(what string, step time.Duration, max int, cond func() bool) {
	h.t.Helper()
	for range max {
		h.settle()
		if cond() {
			return
		}
		h.ctl.kick()
		h.advance(step)
		for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline) && !cond(); time.Sleep(time.Millisecond) {
		}
	}
	if !cond() {
		h.t.Fatalf("%s: not after %d steps of %s (exit lane %+v)", what, max, step, h.laneStatus(h.exit))
	}
}

// contactlessEntry gives plate an agreement of limit fen on the platform,
// drives it in and waits until the lane knows the binding (from the
// entry's Indata answer).
func (h *harness) contactlessEntry(plate string, limit int64) store.Record {
	h.t.Helper()
	if err := h.sim.AddAgreement(plate, limit); err != nil {
		h.t.Fatal(err)
	}
	rec := h.enter(plate)
	h.drain()
	h.eventually("binding of "+plate, func() bool { b, err := h.db.Binding(plate); return err == nil && b.Limit == limit })
	return rec
}

// contactlessHour is the contactless tests' common start: plate, bound
// with limit fen, has been inside for an hour (5 yuan by the tariff).
func (h *harness) contactlessHour(plate string, limit int64) store.Record {
	h.t.Helper()
	rec := h.contactlessEntry(plate, limit)
	h.advance(time.Hour)
	return rec
}

// passExit drives plate to the exit and through it, expecting the barrier
// to rise for it with nobody paying at the lane (contactless, prepaid,
// free or exempt).
func (h *harness) passExit(plate string) {
	h.t.Helper()
	before := opens(h.exit)
	h.exit.Arrive(plate)
	h.leaveExit(before)
}

// setFault sets the platform's fault for endpoint (cmbsim.AllEndpoints:
// every uplink); a zero Fault clears it.
func (h *harness) setFault(endpoint string, f cmbsim.Fault) {
	h.t.Helper()
	if err := h.sim.SetFault(endpoint, f); err != nil {
		h.t.Fatal(err)
	}
}

// releasedOwing takes the platform down, drives plate to the exit and
// expects offline_release to let it out owing.
func (h *harness) releasedOwing(plate string) {
	h.t.Helper()
	h.setFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true})
	before := opens(h.exit)
	h.exit.Arrive(plate)
	h.advanceUntil("released owing", 5*time.Second, 10, func() bool { return opens(h.exit) > before })
	h.leaveExit(before)
}

// checkPaid asserts that record id is closed with want paid.
func (h *harness) checkPaid(id string, want int64) {
	h.t.Helper()
	if got := h.closed(id); got.Fees.Paid != want {
		h.t.Errorf("fees = %+v; want %d paid once", got.Fees, want)
	}
}

// checkScanPaidOnly asserts that record id is closed with want paid and
// that no order was charged contactless: the fee was paid by scanning.
func (h *harness) checkScanPaidOnly(id string, want int64) {
	h.t.Helper()
	h.checkPaid(id, want)
	for _, o := range h.sim.Orders() {
		if o.Charged {
			h.t.Errorf("order %+v charged", o)
		}
	}
	h.checkPlatform()
}

func asRejected(err error, re **cmb.RejectedError) bool { return errors.As(err, re) }
