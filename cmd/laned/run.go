package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/board"
	"laned/cmb"
	"laned/edge"
	"laned/edge/tariff"
	"laned/edge/update"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/clock"
	"laned/store"

	_ "time/tzdata" // the binary carries the zone database: a Pi may have none
)

// storeFile is the store's file name in data_dir.
const storeFile = "laned.db"

// healthPath answers the daemon's own health probe (loopback only).
const healthPath = "/.laned/health"

// Shutdown bounds: in-flight callbacks get shutdownGrace to finish.
const shutdownGrace = 8 * time.Second

// startConsoles starts the technician console servers (the root-only
// socket cfg.Console.Socket, the serial port cfg.Console.SerialPort) of
// the running daemon. The console's wiring sets it in its init; nil means
// no console. The daemon calls it once, in its own goroutine, when the
// lanes run and the callback server serves; it may serve until ctx ends
// (the daemon's stop) and should then return nil. An error is logged and
// the lanes keep running: a console that cannot start stops no car.
var startConsoles func(ctx context.Context, d *daemon) error

func init() {
	register("run", "the daemon: lanes, callback server, outbox and console (SIGHUP reloads tariff and vehicles)", runDaemon)
}

func runDaemon(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs, config := configFlags("run", stderr)
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	cfg, ps, err := loadConfig(*config)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stderr, p)
		}
		return fmt.Errorf("run: refusing to start: %w", ProblemsError(ps))
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serveDaemon(ctx, cfg, newLogger(stderr, cfg), runOptions{Hangup: hup})
}

// newLogger is the daemon's structured logger on w.
func newLogger(w io.Writer, cfg *Config) *slog.Logger {
	o := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// runOptions are the daemon's seams for tests; zero values are the real
// thing.
type runOptions struct {
	Clock     clock.Clock         // the base clock under the SaneClock; nil: wall clock
	Getenv    func(string) string // systemd's environment; nil: os.Getenv
	Hangup    <-chan os.Signal    // reload requests (SIGHUP)
	OnServing func(addr net.Addr) // called once the callback server serves
	OnCameras func(addr net.Addr) // called once the network cameras' listener serves (if any)
	LivePath  string              // the live binary for the pull updater; "": this executable
	HTTP      update.HTTPDoer     // the pull updater's client; nil: a client with a 10 min timeout
	Board     func(*board.Config) // adjusts the board config before Open (tests: pins)
	Uplink    func(*cmb.Config)   // adjusts the uplink client config (tests: HTTP)
}

// serveDaemon builds the daemon from a valid configuration and runs it
// until ctx ends (SIGTERM, SIGINT), an installed update asks for a
// restart, or a part of it fails.
func serveDaemon(ctx context.Context, cfg *Config, logger *slog.Logger, opt runOptions) error {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	sd, err := newNotifier(getenv, os.Getpid())
	if err != nil {
		logger.Warn("systemd notify disabled", "err", err)
	}
	d, err := buildDaemon(ctx, cfg, logger, opt)
	if err != nil {
		sd.Status("start failed: " + err.Error())
		return err
	}
	d.sd = sd
	return d.run(ctx)
}

// daemon is laned running: everything buildDaemon opened.
type daemon struct {
	cfg    *Config
	opt    runOptions
	log    *slog.Logger
	base   clock.Clock
	clk    *edge.SaneClock
	real   clock.Clock   // the watchdog's, the consoles' and the updater's: base unless the sim clock replaced it
	simClk *clock.Fake   // [board] clock = "sim": the base clock, moved by `sim advance`
	simEnd chan struct{} // closed by close: the sim clock stops following real time
	trial  *update.Trial
	db     *store.DB
	board  *board.Board
	ctl    *edge.Controller
	ln     net.Listener
	http   *http.Server
	audits chan store.AuditEvent // refused callbacks, written off the request path
	sd     *notifier
	cams   *netCameras // network cameras: their listener and pictures
	lock   *daemonLock // data_dir's lock: the field tools see laned running

	fixMu sync.Mutex   // guards ctl's assignment against the clock's fix-up
	fixes []edge.Fixup // fix-ups that came before the controller

	lanesUp   atomic.Bool
	serving   atomic.Bool
	auditDrop atomic.Int64

	// restart is the one way into an installed update, pulled or applied
	// at the console: run stops when it is requested.
	restart *update.Restart
}

// buildDaemon opens, in order, the clock, the update trial, the store,
// the vehicle lists, the tariff, the board, the uplink client, the
// controller and the callback listener. Each failure is a clear error
// and closes what was opened.
func buildDaemon(ctx context.Context, cfg *Config, logger *slog.Logger, opt runOptions) (_ *daemon, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &daemon{cfg: cfg, opt: opt, log: logger, base: clock.Or(opt.Clock), audits: make(chan store.AuditEvent, 64)}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	logger.Info("laned starting", "version", Version(), "config", cfg.Path, "park_code", cfg.Park.ParkCode, "board", cfg.Board.Profile, "lanes", len(cfg.Lanes))
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("run: data dir: %w", err)
	}
	if d.lock, err = lockDaemon(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	d.real = d.base
	if cfg.SimClock {
		d.startSimClock()
	}
	d.clk = edge.NewSaneClock(d.base, buildFloor(buildTime), func(f edge.Fixup) {
		logger.Info("clock set", "behind", f.Delta.Round(time.Second).String(), "now", d.clk.Now().Unix())
		d.fixMu.Lock()
		defer d.fixMu.Unlock()
		if d.ctl == nil {
			d.fixes = append(d.fixes, f) // applied once the controller exists
			return
		}
		if err := d.ctl.FixClock(f); err != nil {
			logger.Error("clock fix-up failed", "err", err)
		}
	})
	if d.trial, err = update.OpenTrial(cfg.DataDir, self(), d.clk, logger.With("part", "update")); err != nil {
		return nil, fmt.Errorf("run: update trial: %w", err)
	}
	d.restart = update.NewRestart(nil, time.Second) // the console that applied it answers first
	crashLater()
	db, rep, err := store.Open(filepath.Join(cfg.DataDir, storeFile), store.Options{Logger: logger.With("part", "store"), Now: d.clk.Now, CheckTimeout: cfg.StoreCheckTimeout})
	if err != nil {
		return nil, fmt.Errorf("run: store: %w", err)
	}
	d.db = db
	d.clk.RaiseFloor(db.NewestTime())
	switch {
	case rep.MovedAside != "":
		// store.Open logged it at ERROR and wrote the audit event.
		logger.Warn("store started from a salvaged or fresh file", "moved_to", rep.MovedAside, "salvaged", rep.Salvage != nil)
	case rep.Created:
		logger.Info("store created", "path", filepath.Join(cfg.DataDir, storeFile), "schema", rep.Schema)
	default:
		logger.Info("store opened", "schema", rep.Schema, "from_schema", rep.FromSchema)
	}
	if d.clk.Unset() {
		logger.Warn("clock unset: times count on from the floor until the wall clock is set", "floor", d.clk.Floor().Unix())
	}
	if n, m, err := syncVehicles(db, cfg); err != nil {
		return nil, fmt.Errorf("run: vehicles: %w", err)
	} else if n+m > 0 {
		logger.Info("vehicle lists synced from the configuration", "put", n, "deleted", m)
	}
	eng, err := tariff.New(cfg.Tariff)
	if err != nil {
		return nil, fmt.Errorf("run: tariff: %w", err)
	}
	bc := cfg.Board
	bc.Clock, bc.Logger = d.clk, logger.With("part", "board")
	bc.OpenCamera = cameraOpener(cfg, d.clk, logger.With("part", "camera"))
	if opt.Board != nil {
		opt.Board(&bc)
	}
	if d.board, err = board.Open(ctx, bc); err != nil {
		return nil, fmt.Errorf("run: board: %w", err)
	}
	cc := cmb.Config{
		BaseURL: platformBase(cfg.Platform), AppID: cfg.Platform.AppID, Secret: string(cfg.Platform.Secret),
		ParkCode: cfg.Park.ParkCode, Timeout: cfg.Platform.SendTimeout.D(), Logger: logger.With("part", "uplink"),
	}
	if opt.Uplink != nil {
		opt.Uplink(&cc)
	}
	client, err := cmb.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("run: uplink client: %w", err)
	}
	lanes := make([]edge.LaneConfig, len(cfg.Lanes))
	for i, l := range cfg.Lanes {
		bl := d.board.Lane(l.Name)
		if bl == nil {
			return nil, fmt.Errorf("run: board has no lane %s", l.Name)
		}
		lanes[i] = edge.LaneConfig{Name: l.Name, Kind: l.EdgeKind(), Code: l.Code, Arming: bl.Arming, Safety: bl.Safety, Barrier: bl.Barrier, Camera: bl.Camera}
		if lanes[i].Display, err = openDisplay(cfg, l, bl, d.clk, logger.With("part", "display")); err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
	}
	if d.cams, err = openNetCameras(cfg, lanes, logger.With("part", "camera")); err != nil {
		return nil, err
	}
	ctl, err := edge.New(edge.Config{
		ParkCode: cfg.Park.ParkCode, Spaces: edge.Spaces{Total: cfg.Park.SpacesTotal, VIP: cfg.Park.SpacesVIP},
		Guaranteed: cfg.Platform.Guaranteed, OfflineRelease: cfg.Platform.OfflineRelease, ReplaceStale: cfg.Park.ReplaceStale, DedupeWindow: cfg.Park.DedupeWindow.D(),
		TollCollector: cfg.Park.TollCollector, SendTimeout: cfg.Platform.SendTimeout.D(), MaxRefusals: cfg.Platform.MaxRefusals,
		Retention: time.Duration(cfg.Park.RetentionDays) * 24 * time.Hour,
		Display:   edgeDisplayConfig(cfg),
	}, lanes, edge.Deps{Store: db, Tariff: eng, Uplink: client, Clock: d.clk, Logger: logger.With("part", "edge"), Pictures: d.cams.pics})
	if err != nil {
		return nil, fmt.Errorf("run: controller: %w", err)
	}
	d.fixMu.Lock()
	d.ctl = ctl
	for _, f := range d.fixes {
		if err := ctl.FixClock(f); err != nil {
			logger.Error("clock fix-up failed", "err", err)
		}
	}
	d.fixes = nil
	d.fixMu.Unlock()
	srv, err := cmb.NewServer(cmb.ServerConfig{
		AppID: cfg.Platform.AppID, Secret: string(cfg.Platform.Secret), ParkCode: cfg.Park.ParkCode,
		Prefix: cfg.Platform.Prefix, Logger: logger.With("part", "callbacks"), OnRefused: d.refused,
	}, d.ctl)
	if err != nil {
		return nil, fmt.Errorf("run: callback server: %w", err)
	}
	if d.ln, err = listen(cfg.Platform); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	d.http = &http.Server{
		Handler:           withHealth(allowList(sourcesOf(cfg.Platform), srv, logger)),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.With("part", "http").Handler(), slog.LevelWarn),
	}
	return d, nil
}

// buildFloor is the build time stamp as a time; zero when unstamped.
func buildFloor(stamp string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(stamp), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// platformBase is the uplink base URL.
func platformBase(p PlatformConfig) string {
	if p.BaseURL != "" {
		return strings.TrimRight(p.BaseURL, "/")
	}
	env, _ := cmb.ParseEnvironment(p.Environment)
	return cmb.APIBase(env)
}

// listen opens the callback listener, with TLS when configured.
func listen(p PlatformConfig) (net.Listener, error) {
	ln, err := net.Listen("tcp", p.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", p.Listen, err)
	}
	if p.TLSCert == "" {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// refused queues a refused callback for the audit log. It never blocks
// the request: under a flood the excess is counted, not written.
func (d *daemon) refused(endpoint, reason string) {
	select {
	case d.audits <- store.AuditEvent{Kind: "callback_refused", Detail: endpoint + ": " + reason}:
	default:
		d.auditDrop.Add(1)
	}
}

// writeAudits writes queued audit events until the channel closes.
func (d *daemon) writeAudits() {
	for ev := range d.audits {
		if err := d.db.Audit(ev); err != nil {
			d.log.Warn("audit write failed", "kind", ev.Kind, "err", err)
		}
		if n := d.auditDrop.Swap(0); n > 0 {
			d.db.Audit(store.AuditEvent{Kind: "callback_refused", Detail: strconv.FormatInt(n, 10) + " more refused callbacks not logged one by one"})
		}
	}
}

// run serves until ctx ends or a part fails, then stops in order:
// callbacks (in-flight ones finish), lanes (relays to a safe state), store.
func (d *daemon) run(ctx context.Context) (err error) {
	ctlCtx, stopLanes := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLanes()
	var bg sync.WaitGroup
	auditsDone := make(chan struct{})
	go func() { defer close(auditsDone); d.writeAudits() }()
	ctlDone := make(chan error, 1)
	d.lanesUp.Store(true)
	go func() { ctlDone <- d.ctl.Run(ctlCtx); d.lanesUp.Store(false) }()
	srvDone := make(chan error, 1)
	d.serving.Store(true)
	go func() { srvDone <- d.http.Serve(d.ln); d.serving.Store(false) }()
	d.cams.serve(d.log)
	if a := d.cams.addr(); a != nil && d.opt.OnCameras != nil {
		d.opt.OnCameras(a)
	}

	if startConsoles != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := startConsoles(ctlCtx, d); err != nil {
				d.log.Error("console not started; the lanes keep running", "err", err)
			}
		}()
	}
	status := fmt.Sprintf("serving %d lanes, callbacks on %s", len(d.cfg.Lanes), d.ln.Addr())
	if d.clk.Unset() {
		status += "; clock unset"
	}
	d.log.Info("laned serving", "addr", d.ln.Addr().String(), "lanes", len(d.cfg.Lanes), "clock_unset", d.clk.Unset())
	if err := d.sd.Ready(status); err != nil {
		d.log.Warn("systemd notify failed", "err", err)
	}
	if d.opt.OnServing != nil {
		d.opt.OnServing(d.ln.Addr())
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		d.sd.Watchdog(ctlCtx, d.real, d.quickHealth, func(err error) { d.log.Warn("watchdog not fed", "err", err) })
	}()
	trialDone := make(chan error, 1)
	if d.trial.Active() {
		d.log.Info("on trial: committing once healthy", "version", d.trial.Version(), "period", d.cfg.Update.TrialPeriod.D().String())
		go func() { trialDone <- d.trial.Hold(ctlCtx, d.health, d.cfg.Update.TrialPeriod.D(), 5*time.Second) }()
	}
	if d.cfg.Update.URL != "" {
		u, err := d.updater()
		if err != nil {
			d.log.Error("update pulls disabled", "err", err)
		} else {
			go func() {
				// An install asks d.restart and ends Run.
				if _, err := u.Run(ctlCtx); err != nil && ctlCtx.Err() == nil {
					d.log.Error("update pulls stopped", "err", err)
				}
			}()
		}
	}

	var cause error
loop:
	for {
		select {
		case <-ctx.Done():
			d.log.Info("stopping", "cause", context.Cause(ctx))
			break loop
		case <-d.opt.Hangup:
			d.reload()
		case err := <-ctlDone:
			ctlDone <- err // for the shutdown below
			cause = fmt.Errorf("run: lanes stopped: %w", err)
			break loop
		case err := <-srvDone:
			cause = fmt.Errorf("run: callback server: %w", err)
			break loop
		case err := <-trialDone:
			if err != nil {
				cause = fmt.Errorf("run: trial: %w", err)
				break loop
			}
			d.log.Info("trial committed", "version", Version())
		case r := <-d.restart.Requested():
			d.log.Info("update installed: restarting into it", "version", r.Version, "from", r.From)
			break loop
		}
	}
	d.sd.Stopping()
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	if err := d.http.Shutdown(shut); err != nil {
		d.log.Warn("callbacks still in flight at shutdown", "err", err)
		d.http.Close()
	}
	d.cams.shutdown(shut)
	cancel()
	stopLanes()
	if err := <-ctlDone; err != nil {
		d.log.Warn("lanes halted with errors", "err", err)
	}
	bg.Wait()
	close(d.audits)
	<-auditsDone
	d.audits = nil
	if err := d.close(); err != nil && cause == nil {
		cause = err
	}
	if cause != nil {
		d.log.Error("laned stopped", "err", cause)
		return cause
	}
	d.log.Info("laned stopped")
	return nil
}

// close halts the board and closes the store; safe on a partly built
// daemon and more than once.
func (d *daemon) close() error {
	if d.simEnd != nil {
		close(d.simEnd)
		d.simEnd = nil
	}
	var errs []error
	if d.ln != nil && d.http == nil {
		d.ln.Close()
	}
	if d.cams != nil && d.cams.done == nil && d.cams.ln != nil {
		d.cams.ln.Close()
	}
	if d.board != nil {
		errs = append(errs, d.board.Halt())
	}
	if d.db != nil {
		if err := d.db.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			errs = append(errs, fmt.Errorf("run: close store: %w", err))
		}
	}
	d.lock.release() // after the board: the pins are released first
	return errors.Join(errs...)
}

// startSimClock makes the base clock a simulated one: a test's fake clock
// as it is, else one that starts at the wall clock's time and follows
// real time (so that retries and timeouts run) until close, with the
// console's `sim advance` moving it on.
func (d *daemon) startSimClock() {
	if f, ok := d.opt.Clock.(*clock.Fake); ok {
		d.simClk = f
		return
	}
	f := clock.NewFake(time.Now())
	d.base, d.simClk, d.simEnd = f, f, make(chan struct{})
	go func(end <-chan struct{}) {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-end:
				return
			case now := <-t.C:
				f.Advance(now.Sub(last))
				last = now
			}
		}
	}(d.simEnd)
	d.log.Info("simulated clock: follows real time; the console's sim advance moves it on", "now", f.Now().Unix())
}

// quickHealth is the watchdog's test: lanes running, server serving.
func (d *daemon) quickHealth() error {
	if !d.lanesUp.Load() {
		return errors.New("lanes stopped")
	}
	if !d.serving.Load() {
		return errors.New("callback server stopped")
	}
	return nil
}

// health is the trial's test: the quick one, the store readable and
// the callback server answering on its own listener.
func (d *daemon) health(ctx context.Context) error {
	if healthBroken != "" {
		return errors.New("built with main.healthBroken")
	}
	if err := d.quickHealth(); err != nil {
		return err
	}
	if _, _, err := d.db.NextDue(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return probe(ctx, d.ln.Addr(), d.cfg.Platform.TLSCert != "")
}

// probe asks the callback listener for healthPath over loopback.
func probe(ctx context.Context, addr net.Addr, useTLS bool) error {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	host := netip.AddrPortFrom(netip.IPv6Loopback(), ap.Port())
	if ap.Addr().Is4() || ap.Addr().Is4In6() || ap.Addr().IsUnspecified() {
		host = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ap.Port())
	}
	if !ap.Addr().IsUnspecified() {
		host = ap
	}
	scheme := "http"
	tr := &http.Transport{DisableKeepAlives: true}
	if useTLS {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // our own listener on loopback
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host.String()+healthPath, nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: callback server answered %s", resp.Status)
	}
	return nil
}

// withHealth answers healthPath for loopback callers and passes every
// other request to next.
func withHealth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == healthPath && r.Method == http.MethodGet {
			if a, ok := remoteAddr(r); ok && a.IsLoopback() {
				io.WriteString(w, "ok\n")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func remoteAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// reload re-reads the configuration on SIGHUP: when it is valid, the
// tariff is swapped and the vehicle lists re-synced; otherwise every
// problem is logged and the running configuration stays.
func (d *daemon) reload() {
	d.sd.Reloading()
	defer d.sd.Ready("reloaded")
	cfg, ps, err := loadConfig(d.cfg.Path)
	if err == nil && len(ps) > 0 {
		err = ProblemsError(ps)
	}
	if err != nil {
		for _, p := range ps {
			d.log.Error("reload: configuration problem", "problem", p.String())
		}
		d.log.Error("reload refused: keeping the running tariff and vehicle lists", "err", err)
		return
	}
	eng, err := tariff.New(cfg.Tariff)
	if err != nil {
		d.log.Error("reload refused: tariff", "err", err)
		return
	}
	d.ctl.SetTariff(eng)
	put, del, err := syncVehicles(d.db, cfg)
	if err != nil {
		d.log.Error("reload: vehicle lists", "err", err)
	}
	d.db.Audit(store.AuditEvent{Kind: "config", Detail: fmt.Sprintf("reloaded: tariff, vehicles %d put %d deleted", put, del)})
	d.log.Info("reloaded tariff and vehicle lists; other changes apply at the next restart", "vehicles_put", put, "vehicles_deleted", del)
}

// updater is the pull updater of [update].
func (d *daemon) updater() (*update.Updater, error) {
	keys, err := update.ParsePublicKeys(d.cfg.Update.TrustedKeys)
	if err != nil {
		return nil, err
	}
	live := d.opt.LivePath
	if live == "" {
		if live, err = livePath(""); err != nil {
			return nil, err
		}
	}
	doer := d.opt.HTTP
	if doer == nil {
		doer = &http.Client{Timeout: 10 * time.Minute}
	}
	return update.New(update.Options{
		DataDir: d.cfg.DataDir, LivePath: live, ConfigPath: d.cfg.Path, Running: Version(),
		BaseURL: d.cfg.Update.URL, Channel: d.cfg.Update.Channel, TrustedKeys: keys,
		Reserved: d.cfg.Update.ReservedBytes, MaxStarts: d.cfg.Update.MaxStarts, Interval: d.cfg.Update.Interval.D(),
		HTTP: doer, Clock: d.real, Logger: d.log.With("part", "update"), Restart: d.restart,
	})
}

// vehicleNote marks the store's list entries that come from the file:
// only those are deleted when the file drops them.
const vehicleNote = "config"

func vehicleNoteOf(note string) string {
	if note == "" {
		return vehicleNote
	}
	return vehicleNote + ": " + note
}

func fromConfig(v store.Vehicle) bool {
	return v.Note == vehicleNote || strings.HasPrefix(v.Note, vehicleNote+": ")
}

// syncVehicles makes the store's file-made list entries those of cfg:
// entries are put (when new or changed) and the file-made entries the
// file no longer has are deleted. Entries made at the console stay.
func syncVehicles(db *store.DB, cfg *Config) (put, deleted int, err error) {
	loc := cfg.Park.Location
	if loc == nil {
		loc = time.UTC
	}
	have, err := db.ListVehicles()
	if err != nil {
		return 0, 0, err
	}
	type key struct {
		plate string
		list  store.List
	}
	old := map[key]store.Vehicle{}
	for _, v := range have {
		old[key{v.Plate, v.List}] = v
	}
	want := map[key]bool{}
	var errs []error
	for _, vc := range cfg.Vehicles {
		v := store.Vehicle{
			Plate: strings.ToUpper(strings.TrimSpace(vc.Plate)), List: store.List(vc.List),
			From: vc.From.In(loc), Until: vc.Until.In(loc), Note: vehicleNoteOf(vc.Note),
		}
		k := key{v.Plate, v.List}
		want[k] = true
		if o, ok := old[k]; ok && o.Note == v.Note && o.From.Equal(v.From) && o.Until.Equal(v.Until) {
			continue
		}
		if err := db.PutVehicle(v); err != nil {
			errs = append(errs, fmt.Errorf("put %s on %s: %w", v.Plate, v.List, err))
			continue
		}
		put++
	}
	for k, v := range old {
		if want[k] || !fromConfig(v) {
			continue
		}
		if err := db.DeleteVehicle(k.plate, k.list); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete %s from %s: %w", k.plate, k.list, err))
			continue
		}
		deleted++
	}
	return put, deleted, errors.Join(errs...)
}

// cameraOpener plugs hal/camera into the board for the real profiles.
// Lanes on one serial bus (same path, different addresses, e.g. both
// cameras of the rpi4 pin map on /dev/serial0 at 1 and 2) share one
// camera.Bus: the first lane on a path opens it, the others attach to it,
// and it closes its port when the last of their cameras halts, which
// board.Halt does for every lane when the daemon stops (or when
// board.Open fails half way). The lanes on a bus must agree on its line
// settings (baud, parity, codec, template, RS-485 mode, DE pin).
//
// RS-485 "auto" with a DE pin drives the pin around each write (gpio
// mode): the pin is what the installer wired to the transceiver, and
// without it the controller could never ACK or TRIGGER. "auto" without a
// pin leaves direction to an auto-direction transceiver.
func cameraOpener(cfg *Config, clk clock.Clock, logger *slog.Logger) board.CameraOpener {
	var mu sync.Mutex
	buses := map[string]*sharedBus{} // serial path → its bus
	return func(ctx context.Context, name string, port board.CameraPort) (hal.Camera, error) {
		laneName := strings.TrimSuffix(name, "/camera")
		var tmplPath string
		for _, l := range cfg.Lanes {
			if l.Name == laneName {
				tmplPath = l.Camera.Template
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if sb := buses[port.Path]; sb != nil {
			if err := sb.agrees(laneName, port, tmplPath); err != nil {
				return nil, err
			}
			cam, err := sb.bus.Camera(name, port.Addr, 0)
			switch {
			case err == nil:
				return cam, nil
			case !errors.Is(err, camera.ErrHalted):
				return nil, err
			}
			delete(buses, port.Path) // its cameras all halted: open it afresh
		}
		bc, err := cameraBusConfig(port, tmplPath)
		if err != nil {
			return nil, err
		}
		bc.Clock, bc.Logger = clk, logger
		bus, err := camera.OpenBus(ctx, bc)
		if err != nil {
			return nil, err
		}
		cam, err := bus.Camera(name, port.Addr, 0)
		if err != nil {
			bus.Close()
			return nil, err
		}
		buses[port.Path] = &sharedBus{bus: bus, lane: laneName, port: port, tmpl: tmplPath}
		return cam, nil
	}
}

// sharedBus is a camera bus and the settings of the lane that opened it.
type sharedBus struct {
	bus  *camera.Bus
	lane string
	port board.CameraPort
	tmpl string
}

// agrees checks that lane's camera port has the bus's line settings.
func (sb *sharedBus) agrees(lane string, port board.CameraPort, tmpl string) error {
	if port.Codec != "template" {
		tmpl = sb.tmpl
	}
	diffs := []struct {
		key       string
		got, want any
	}{
		{"baud", port.Baud, sb.port.Baud}, {"parity", port.Parity, sb.port.Parity},
		{"codec", port.Codec, sb.port.Codec}, {"template", tmpl, sb.tmpl},
		{"rs485", port.RS485, sb.port.RS485}, {"de_pin", port.DEPin, sb.port.DEPin},
	}
	for _, d := range diffs {
		if d.got != d.want {
			return fmt.Errorf("camera.%s %v differs from lane %s's %v on the shared bus %s; cameras on one bus share its settings: %w",
				d.key, d.got, sb.lane, d.want, port.Path, camera.ErrConfig)
		}
	}
	return nil
}

// cameraBusConfig turns a lane's camera port into bus settings.
func cameraBusConfig(port board.CameraPort, tmplPath string) (camera.BusConfig, error) {
	var tmpl *camera.Template
	if port.Codec == "template" {
		t, err := camera.LoadTemplate(tmplPath)
		if err != nil {
			return camera.BusConfig{}, err
		}
		tmpl = t
	}
	codec, err := camera.CodecByName(port.Codec, tmpl)
	if err != nil {
		return camera.BusConfig{}, err
	}
	par, err := camera.ParseParity(port.Parity)
	if err != nil {
		return camera.BusConfig{}, err
	}
	mode, err := camera.ParseRS485Mode(port.RS485)
	if err != nil {
		return camera.BusConfig{}, err
	}
	var de camera.DriverEnable
	if mode != camera.RS485Kernel && port.DEPin != "" && port.DEPin != board.None {
		// The board resolved the pin through its profile's pin source,
		// as it does the relays': line offsets on gpiochip, the RP1 chip
		// on rpi5.
		if port.DE == nil {
			return camera.BusConfig{}, fmt.Errorf("driver-enable pin %s not resolved by the board: %w", port.DEPin, camera.ErrConfig)
		}
		de, mode = dePinOut{port.DE}, camera.RS485GPIO
	}
	return camera.BusConfig{
		Name: port.Path, Path: port.Path, Baud: port.Baud, Parity: par, Codec: codec, RS485: mode, DE: de,
	}, nil
}

// dePinOut drives an RS-485 transceiver's driver-enable input.
type dePinOut struct{ p gpio.PinOut }

var _ camera.DriverEnable = dePinOut{}

func (d dePinOut) Out(high bool) error { return d.p.Out(gpio.Level(high)) }
