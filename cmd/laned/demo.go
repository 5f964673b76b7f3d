package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/edge/console"
	"laned/edge/tariff"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"
)

func init() {
	register("demo", "run the embedded default: sim board, built-in platform simulator, scripted traffic", runDemo)
}

const (
	demoAppID  = "demoappid"
	demoSecret = "demo-secret-not-for-production"
	demoPark   = int64(5201020001)
)

// demo is one run of the embedded default.
type demo struct {
	out   io.Writer
	clk   *clock.Fake
	db    *store.DB
	sim   *cmbsim.Sim
	ctl   *edge.Controller
	entry *sim.Lane
	exit  *sim.Lane
	lanes []*sim.Lane
	zone  *time.Location
	net   *demoNetLane // entry2: a network camera with pictures

	mu sync.Mutex // serialises the narration
}

func runDemo(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data directory (default: a new temporary one, removed at the end)")
	forever := fs.Bool("forever", false, "after the script, keep running in real time with the console on -socket")
	socket := fs.String("socket", "", "console socket for -forever (default: DATA/console.sock)")
	verbose := fs.Bool("v", false, "log every uplink and decision in detail")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *dataDir == "" {
		dir, err := os.MkdirTemp("", "laned-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dataDir = dir
	}
	if *socket == "" {
		*socket = filepath.Join(*dataDir, "console.sock")
	}
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return fmt.Errorf("demo: zone: %w", err)
	}
	d := &demo{out: stdout, zone: zone}
	d.clk = clock.NewFake(time.Date(2026, 3, 2, 7, 55, 0, 0, zone))
	return d.run(ctx, *dataDir, *forever, *socket, *verbose)
}

func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, "%s  %s\n", d.clk.Now().In(d.zone).Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (d *demo) run(ctx context.Context, dataDir string, forever bool, socket string, verbose bool) error {
	logger := slog.New(&demoHandler{d: d, verbose: verbose})
	db, rep, err := store.Open(filepath.Join(dataDir, "laned.db"), store.Options{Logger: logger, Now: d.clk.Now})
	if err != nil {
		return fmt.Errorf("demo: store: %w", err)
	}
	defer db.Close()
	d.db = db
	if !rep.Created {
		return fmt.Errorf("demo: %s already holds a store: the demo wants a fresh data directory", dataDir)
	}
	eng, err := tariff.New(tariff.Typical())
	if err != nil {
		return fmt.Errorf("demo: tariff: %w", err)
	}

	// The lane's callback server and the platform simulator, on loopback.
	laneLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: listen: %w", err)
	}
	platLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		laneLn.Close()
		return fmt.Errorf("demo: listen: %w", err)
	}
	d.sim = cmbsim.New(cmbsim.Config{
		AppID: demoAppID, Secret: demoSecret, ParkCode: demoPark, LaneURL: "http://" + laneLn.Addr().String() + "/",
		Now: d.clk.Now, Rand: rand.NewChaCha8([32]byte{7}), Logger: logger.With("who", "platform"),
	})
	client, err := cmb.NewClient(cmb.Config{BaseURL: "http://" + platLn.Addr().String(), AppID: demoAppID, Secret: demoSecret, ParkCode: demoPark, Timeout: 3 * time.Second})
	if err != nil {
		return err
	}
	d.entry = sim.NewLane(d.clk, sim.LaneConfig{Name: "entry1", CameraAddr: 1})
	d.exit = sim.NewLane(d.clk, sim.LaneConfig{Name: "exit1", CameraAddr: 2})
	netLane, err := d.openNetLane(logger)
	if err != nil {
		return err
	}
	defer d.net.close()
	d.lanes = []*sim.Lane{d.entry, d.exit, d.net.lane}
	pics, err := demoPictures(dataDir)
	if err != nil {
		return err
	}
	d.ctl, err = edge.New(edge.Config{ParkCode: demoPark, Spaces: edge.Spaces{Total: 200, VIP: 10}, ReplaceStale: true, Display: demoDisplayConfig()},
		[]edge.LaneConfig{
			{Name: "entry1", Kind: edge.Entry, Code: 1, Arming: d.entry.Arming, Safety: d.entry.Safety, Barrier: d.entry.Barrier, Camera: d.entry.Camera, Display: d.board("entry1")},
			{Name: "exit1", Kind: edge.Exit, Code: 1, Arming: d.exit.Arming, Safety: d.exit.Safety, Barrier: d.exit.Barrier, Camera: d.exit.Camera, Display: d.board("exit1")},
			netLane,
		},
		edge.Deps{Store: db, Tariff: eng, Uplink: client, Clock: d.clk, Rand: rand.New(rand.NewPCG(7, 7)), Logger: logger, Pictures: pics})
	if err != nil {
		return err
	}
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: demoAppID, Secret: demoSecret, ParkCode: demoPark, Prefix: "/", Logger: logger}, d.ctl)
	if err != nil {
		return err
	}
	laneHTTP := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	platHTTP := &http.Server{Handler: d.sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go laneHTTP.Serve(laneLn)
	go platHTTP.Serve(platLn)
	defer platHTTP.Close()
	defer laneHTTP.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- d.ctl.Run(runCtx) }()

	fmt.Fprintf(d.out, "laned demo — two entry lanes (entry2 with a network camera) and one exit lane on the simulated board, the CMB platform simulated at %s.\n", platLn.Addr())
	fmt.Fprintf(d.out, "Tariff: 15 min free, first hour 5.00, every further 30 min 2.00, 40.00 a day. Time runs simulated.\n\n")
	scriptErr := d.script(runCtx)
	if scriptErr == nil && forever {
		scriptErr = d.forever(runCtx, socket, eng)
	}
	stop()
	runErr := <-done
	if scriptErr != nil {
		return scriptErr
	}
	if runErr != nil {
		return runErr
	}
	return d.summary()
}

// ---- the script ----

// settle waits until the lanes have handled every event and result.
func (d *demo) settle(ctx context.Context) error {
	for range 3 {
		for _, l := range d.lanes {
			if err := waitUntil(ctx, l.Idle); err != nil {
				return err
			}
		}
		if err := d.ctl.Sync(ctx); err != nil {
			return err
		}
		if err := waitUntil(ctx, d.ctl.DisplaysSettled); err != nil {
			return err
		}
	}
	return nil
}

func waitUntil(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("demo: the lanes did not settle (a bug: please report the log above)")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// at moves simulated time to hh:mm.
func (d *demo) at(ctx context.Context, hhmm string) error {
	if err := d.settle(ctx); err != nil {
		return err
	}
	t, err := time.ParseInLocation("15:04", hhmm, d.zone)
	if err != nil {
		return err
	}
	now := d.clk.Now().In(d.zone)
	target := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, d.zone)
	for now.Before(target) { // in steps, so that timers fire in order
		step := min(target.Sub(now), time.Minute)
		d.clk.Advance(step)
		now = d.clk.Now().In(d.zone)
	}
	d.ctl.Kick()
	return d.settle(ctx)
}

// drain lets simulated time run, a second at a time, until the outbox has
// no record or payment uplink left (the dispatcher retries on its own
// backoff, up to five minutes after an outage).
func (d *demo) drain(ctx context.Context) error {
	for range 15 * 60 {
		if err := d.settle(ctx); err != nil {
			return err
		}
		d.ctl.Kick()
		time.Sleep(2 * time.Millisecond) // let a send in flight finish in real time
		n, err := d.recordUplinksPending()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		d.clk.Advance(time.Second)
	}
	return errors.New("demo: uplinks still queued after 15 simulated minutes")
}

// recordUplinksPending counts queued uplinks that carry records or money
// (space counts and the config are refreshed periodically anyway).
func (d *demo) recordUplinksPending() (int, error) {
	st, err := d.db.OutboxStats(d.clk.Now())
	if err != nil {
		return 0, err
	}
	n := st.Count
	for kind, k := range st.ByKind {
		if store.Droppable(kind) {
			n -= k
		}
	}
	return n, nil
}

func opensOf(l *sim.Lane) int {
	n := 0
	for _, c := range l.Barrier.Log() {
		if c.Op == "open" {
			n++
		}
	}
	return n
}

// drive puts plate on lane l and, if the barrier rises, drives through.
func (d *demo) drive(ctx context.Context, l *sim.Lane, plate string) (bool, error) {
	before := opensOf(l)
	l.Arrive(plate)
	if err := d.decided(ctx, l.Name); err != nil {
		return false, err
	}
	if opensOf(l) == before {
		return false, nil
	}
	l.PassThrough()
	return true, d.settle(ctx)
}

// decided waits until the lane has decided about its vehicle: a
// contactless payment goes to the platform and back first.
func (d *demo) decided(ctx context.Context, lane string) error {
	if err := d.settle(ctx); err != nil {
		return err
	}
	return waitUntil(ctx, func() bool {
		if d.settle(ctx) != nil {
			return true
		}
		_, state, _ := d.ctl.LaneState(lane)
		return state != "contactless paying" && state != "identifying"
	})
}

func (d *demo) passIfOpen(ctx context.Context, l *sim.Lane, before int) error {
	if err := d.decided(ctx, l.Name); err != nil {
		return err
	}
	if opensOf(l) == before {
		return fmt.Errorf("demo: %s: the barrier did not rise", l.Name)
	}
	l.PassThrough()
	return d.settle(ctx)
}

func (d *demo) script(ctx context.Context) error {
	steps := []struct {
		at   string
		what string
		do   func() error
	}{
		{"07:55", "the platform knows a contactless (无感) agreement: 沪C88888, limit 100.00 yuan; 京V00001 is a VIP", func() error {
			if err := d.sim.AddAgreement("沪C88888", 10000); err != nil {
				return err
			}
			return d.db.PutVehicle(store.Vehicle{Plate: "京V00001", List: store.ListVIP, Note: "demo"})
		}},
		{"08:00", "京A12345 arrives at entry1", func() error { return d.mustEnter(ctx, "京A12345") }},
		{"08:05", "沪C88888 (contactless) arrives at entry1", func() error { return d.mustEnter(ctx, "沪C88888") }},
		{"08:10", "京V00001 (VIP) arrives at entry1", func() error { return d.mustEnter(ctx, "京V00001") }},
		{"08:20", "a car without a plate arrives at entry1; its driver scans the entry QR code", func() error {
			d.entry.Arrive("")
			if err := d.settle(ctx); err != nil {
				return err
			}
			before := opensOf(d.entry)
			_, ans, err := d.sim.NoVpln(ctx, "临粤B0000000000001", 1)
			if err != nil {
				return fmt.Errorf("demo: NoVpln: %w", err)
			}
			d.say("platform → lane: NoVpln answered 0, virtual plate %s", ans.VplNumber)
			return d.passIfOpen(ctx, d.entry, before)
		}},
		{"08:30", "京B77777 arrives at entry1", func() error { return d.mustEnter(ctx, "京B77777") }},
		{"09:00", "粤Z88888 arrives at entry2: its network camera pushes the plate with the pictures", func() error { return d.netEnter(ctx, "粤Z88888") }},
		{"09:10", "粤Z88888 leaves within the free 15 minutes", func() error { return d.mustLeave(ctx, "粤Z88888") }},
		{"10:20", "京A12345's driver pays in advance on the phone (calc by plate, then pay)", func() error {
			res, err := d.sim.PayPlate(ctx, "京A12345")
			if err != nil {
				return fmt.Errorf("demo: pay by plate: %w", err)
			}
			d.say("driver paid %s yuan for record %s", console.FormatFen(res.Amount), res.Calc.RecordID)
			return nil
		}},
		{"10:30", "京A12345 reaches exit1 within the 15-minute grace", func() error { return d.mustLeave(ctx, "京A12345") }},
		{"11:05", "沪C88888 reaches exit1: contactless payment", func() error { return d.mustLeave(ctx, "沪C88888") }},
		{"11:30", "OUTAGE: the platform becomes unreachable", func() error {
			return d.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true})
		}},
		{"11:40", "粤B55555 arrives at entry1 during the outage", func() error { return d.mustEnter(ctx, "粤B55555") }},
		{"11:50", "粤B55555 leaves within the free 15 minutes", func() error { return d.mustLeave(ctx, "粤B55555") }},
		{"12:00", "京V00001 (VIP) leaves during the outage", func() error { return d.mustLeave(ctx, "京V00001") }},
		{"12:00", "queued uplinks while the platform is away", func() error {
			st, err := d.db.OutboxStats(d.clk.Now())
			if err != nil {
				return err
			}
			d.say("outbox: %d uplinks waiting, oldest %s", st.Count, st.OldestAge.Round(time.Second))
			return nil
		}},
		{"12:30", "RECOVERY: the platform answers again", func() error {
			d.sim.ClearFaults()
			return d.drain(ctx)
		}},
		{"13:00", "京B77777 reaches exit1 and must pay", func() error {
			before := opensOf(d.exit)
			d.exit.Arrive("京B77777")
			if err := d.settle(ctx); err != nil {
				return err
			}
			_, state, _ := d.ctl.LaneState("exit1")
			d.say("exit1: %s", state)
			res, err := d.sim.ScanPay(ctx, 1)
			if err != nil {
				return fmt.Errorf("demo: scan to pay: %w", err)
			}
			d.say("driver scanned the exit QR code and paid %s yuan", console.FormatFen(res.Amount))
			return d.passIfOpen(ctx, d.exit, before)
		}},
		{"13:10", "the car without a plate reaches exit1; its driver scans as unlicensed", func() error {
			before := opensOf(d.exit)
			d.exit.Arrive("")
			if err := d.settle(ctx); err != nil {
				return err
			}
			res, err := d.sim.ScanPayUnlicensed(ctx, 1, "临粤B0000000000001")
			if err != nil {
				return fmt.Errorf("demo: unlicensed scan to pay: %w", err)
			}
			d.say("driver paid %s yuan for the unlicensed stay", console.FormatFen(res.Amount))
			return d.passIfOpen(ctx, d.exit, before)
		}},
		{"13:20", "the last space counts go out; every uplink delivered", func() error { return d.drain(ctx) }},
	}
	for _, s := range steps {
		if err := d.at(ctx, s.at); err != nil {
			return err
		}
		d.say("▶ %s", s.what)
		if err := s.do(); err != nil {
			return err
		}
	}
	return d.settle(ctx)
}

func (d *demo) mustEnter(ctx context.Context, plate string) error {
	ok, err := d.drive(ctx, d.entry, plate)
	if err == nil && !ok {
		_, state, _ := d.ctl.LaneState("entry1")
		err = fmt.Errorf("demo: %s was not let in (%s)", plate, state)
	}
	return err
}

func (d *demo) mustLeave(ctx context.Context, plate string) error {
	ok, err := d.drive(ctx, d.exit, plate)
	if err == nil && !ok {
		_, state, _ := d.ctl.LaneState("exit1")
		err = fmt.Errorf("demo: %s was not let out (%s)", plate, state)
	}
	return err
}

// ---- the summary ----

func (d *demo) summary() error {
	recs, err := d.db.Records("", 1000)
	if err != nil {
		return err
	}
	var open, closed int
	var paid int64
	byType := map[string]int64{}
	for _, r := range recs {
		if r.State.Open() {
			open++
		} else {
			closed++
		}
		ps, err := d.db.Payments(r.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			paid += p.Amount
			kind := "scan/phone"
			if _, ok := d.sim.Order(p.BillID); ok { // an AutoPay's request_order
				kind = "contactless"
			} else if _, ok := d.sim.Order(p.Order); ok {
				kind = "contactless"
			}
			byType[kind] += p.Amount
		}
	}
	pending, err := d.recordUplinksPending()
	if err != nil {
		return err
	}
	recv := d.sim.Received(cmbsim.Filter{})
	byEp := map[string]int{}
	delivered := 0
	for _, u := range recv {
		if u.Status == 0 {
			byEp[u.Endpoint]++
			delivered++
		}
	}
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, "── summary ──")
	fmt.Fprintf(d.out, "records: %d, %d closed, %d open\n", len(recs), closed, open)
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range byType {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range kinds {
		parts = append(parts, k+" "+console.FormatFen(byType[k]))
	}
	fmt.Fprintf(d.out, "money: %s yuan received (%s)\n", console.FormatFen(paid), strings.Join(parts, ", "))
	eps := make([]string, 0, len(byEp))
	for ep := range byEp {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	parts = parts[:0]
	for _, ep := range eps {
		parts = append(parts, ep+" "+strconv.Itoa(byEp[ep]))
	}
	fmt.Fprintf(d.out, "uplinks: %d delivered (%s), %d record or payment uplinks pending\n", delivered, strings.Join(parts, ", "), pending)
	fmt.Fprintf(d.out, "platform: %d order violations, %d double charges\n", len(d.sim.OrderViolations()), len(d.sim.DoubleCharges()))
	rep, err := d.reconcile()
	if err != nil {
		return err
	}
	adds := "adds up"
	if !rep.AddsUp() {
		adds = "DOES NOT ADD UP"
	}
	fmt.Fprintf(d.out, "reconciliation: due %s = collected %s + waived %s + owed %s yuan (%s)\n",
		console.FormatFen(rep.Due), console.FormatFen(rep.Collected), console.FormatFen(rep.Waived), console.FormatFen(rep.Owed), adds)
	picLine, picsOK, err := d.pictureSummary()
	if err != nil {
		return err
	}
	if picLine != "" {
		fmt.Fprintln(d.out, picLine)
	}
	if open != 0 || pending != 0 || len(d.sim.OrderViolations()) != 0 || len(d.sim.DoubleCharges()) != 0 || !picsOK {
		return errors.New("demo: the summary is not clean")
	}
	if !rep.AddsUp() || rep.Collected != paid || rep.Owed != 0 {
		return fmt.Errorf("demo: the reconciliation is not clean: due %d, collected %d (received %d), waived %d, owed %d fen",
			rep.Due, rep.Collected, paid, rep.Waived, rep.Owed)
	}
	return nil
}

// reconcile is the reconciliation report over the demo's whole morning
// (from the day of its first entry to the end of its last day).
func (d *demo) reconcile() (edge.DayReport, error) {
	now := d.clk.Now().In(d.zone)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, d.zone)
	if recs, err := d.db.Records("", 1000); err == nil {
		for _, r := range recs {
			if t := r.InTime.In(d.zone); t.Before(from) {
				from = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, d.zone)
			}
		}
	}
	data, err := d.db.Report(from, time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, d.zone))
	if err != nil {
		return edge.DayReport{}, fmt.Errorf("demo: reconciliation: %w", err)
	}
	return edge.BuildDayReport(data, d.zone), nil
}

// ---- the live log ----

// demoHandler prints the controller's log as one readable line an event,
// stamped with simulated time.
type demoHandler struct {
	d       *demo
	verbose bool
	attrs   []slog.Attr
}

func (h *demoHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo
}

func (h *demoHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	get := func(k string) string {
		for _, a := range attrs {
			if a.Key == k {
				return a.Value.String()
			}
		}
		return ""
	}
	if r.Message == "uplink delivered" && !h.verbose {
		if k := get("kind"); k == "SpaceInfo" || k == "ConfigUpload" {
			return nil
		}
	}
	if get("who") == "platform" && !h.verbose && r.Level < slog.LevelWarn {
		return nil
	}
	if r.Message == "display" {
		if !h.verbose && get("moment") == "idle" {
			return nil // the board's idle text after each passage: -v shows it
		}
		h.d.say("    %s", displayLine(get("lane"), get("shown")))
		return nil
	}
	var b strings.Builder
	b.WriteString("    ")
	if l := get("lane"); l != "" {
		b.WriteString(l + ": ")
	}
	b.WriteString(r.Message)
	for _, a := range attrs {
		switch a.Key {
		case "lane", "who", "colour", "conf", "seq":
			continue
		}
		if a.Key == "record" && a.Value.String() == "" {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
	}
	h.d.say("%s", b.String())
	return nil
}

func (h *demoHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &demoHandler{d: h.d, verbose: h.verbose, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *demoHandler) WithGroup(string) slog.Handler { return h }

// ---- forever: the lanes by hand ----

// forever keeps the demo running in real time with the console on a
// local socket, so a newcomer can drive the lanes with `sim …` commands.
func (d *demo) forever(ctx context.Context, socket string, eng *tariff.Engine) error {
	b := &edge.Console{
		Ctl: d.ctl, Who: "console demo", Zone: d.zone, VersionText: Version(),
		ConfigText:  func() string { return "demo configuration: sim board, platform simulator, appsecret = ****" },
		NetEndpoint: "platform simulator",
		SimF:        d.simCommands().run,
	}
	c := console.New(console.Options{Backend: b.Roles(), Clock: d.clk, Location: d.zone, Name: "laned demo"})
	fmt.Fprintf(d.out, "\nThe demo keeps running in real time. In another terminal:\n  laned console -socket %s\nthen try: help, status, sim help. Ctrl-C here ends the demo.\n", socket)
	// Simulated time now follows real time.
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.clk.Advance(100 * time.Millisecond)
			}
		}
	}()
	err := serveConsoleSocket(ctx, socket, c)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// simCommands drives the demo's lanes and its in-process platform with
// the console's sim commands, the same as laned run's on the sim board.
func (d *demo) simCommands() *simCommands {
	return &simCommands{
		lanes: d.lanes, clk: d.clk, zone: d.zone, platform: localPlatform{d.sim},
		settle: d.settle, kick: d.ctl.Kick,
	}
}
