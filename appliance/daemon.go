package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"laned/appliance/config"
	"laned/board"
	"laned/cmb"
	"laned/edge"
	"laned/edge/tariff"
	"laned/edge/update"
	"laned/hal/camera"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"

	_ "time/tzdata" // the binary carries the zone database: a Pi may have none
)

// HealthPath answers the daemon's own health probe (loopback only).
const HealthPath = "/.laned/health"

// Shutdown bounds: in-flight callbacks get shutdownGrace to finish.
const shutdownGrace = 8 * time.Second

// NewLogger is the daemon's structured logger on w.
func NewLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	o := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// Options are what the caller tells the appliance about the binary it
// runs in, and the seams of tests and of the demo; zero values are the
// real thing.
type Options struct {
	Version      string                  // this build's version (logs, console, trial)
	Floor        time.Time               // the clock guard's floor: the build time; zero: none
	Self         update.Self             // this build as the update trial knows it
	HealthBroken bool                    // the trial's health check fails (test builds)
	AfterTrial   func()                  // called once the update trial is open (test builds: crash later)
	Callbacks    net.Listener            // the callback listener, opened by the caller; nil: [platform] listen
	Rand         *rand.Rand              // the controller's randomness; nil: seeded from the wall clock
	Sim          SimPlatform             // the sim commands' platform; nil: the simulator's admin API at the base URL
	NetCamera    func(*camera.NetConfig) // adjusts a network camera's settings (the demo's sends no heartbeats)

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

// Serve builds the daemon from a valid configuration and runs it
// until ctx ends (SIGTERM, SIGINT), an installed update asks for a
// restart, or a part of it fails.
func Serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, opt Options) error {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	sd, err := newNotifier(getenv, os.Getpid())
	if err != nil {
		logger.Warn("systemd notify disabled", "err", err)
	}
	d, err := Build(ctx, cfg, logger, opt)
	if err != nil {
		sd.Status("start failed: " + err.Error())
		return err
	}
	d.sd = sd
	return d.Run(ctx)
}

// Daemon is the appliance: everything Build opened, run by Run.
type Daemon struct {
	cfg    *config.Config
	opt    Options
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
	// updates has the update installed (pulled or applied at the
	// console): Run stops and systemd starts the new binary.
	updates chan update.Result
	sd      *notifier
	cams    *netCameras  // network cameras: their listener and pictures
	lock    *DataDirLock // data_dir's lock: the field tools see laned running

	fixMu sync.Mutex   // guards ctl's assignment against the clock's fix-up
	fixes []edge.Fixup // fix-ups that came before the controller

	lanesUp   atomic.Bool
	serving   atomic.Bool
	auditDrop atomic.Int64
}

// Build is the composition root: it opens, in order, the clock, the update trial, the store,
// the vehicle lists, the tariff, the board, the uplink client, the
// controller and the callback listener. Each failure is a clear error
// and closes what was opened.
func Build(ctx context.Context, cfg *config.Config, logger *slog.Logger, opt Options) (_ *Daemon, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, opt: opt, log: logger, base: clock.Or(opt.Clock), audits: make(chan store.AuditEvent, 64), updates: make(chan update.Result, 1)}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	logger.Info("laned starting", "version", opt.Version, "config", cfg.Path, "park_code", cfg.Park.ParkCode, "board", cfg.Board.Profile, "lanes", len(cfg.Lanes))
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("run: data dir: %w", err)
	}
	if d.lock, err = LockDataDir(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	d.real = d.base
	if cfg.SimClock {
		d.startSimClock()
	}
	d.clk = edge.NewSaneClock(d.base, opt.Floor, func(f edge.Fixup) {
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
	if d.trial, err = update.OpenTrial(cfg.DataDir, opt.Self, d.clk, logger.With("part", "update")); err != nil {
		return nil, fmt.Errorf("run: update trial: %w", err)
	}
	if opt.AfterTrial != nil {
		opt.AfterTrial()
	}
	db, rep, err := store.Open(filepath.Join(cfg.DataDir, config.StoreFile), store.Options{Logger: logger.With("part", "store"), Now: d.clk.Now, CheckTimeout: cfg.StoreCheckTimeout})
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
		logger.Info("store created", "path", filepath.Join(cfg.DataDir, config.StoreFile), "schema", rep.Schema)
	default:
		logger.Info("store opened", "schema", rep.Schema, "from_schema", rep.FromSchema)
	}
	if d.clk.Unset() {
		logger.Warn("clock unset: times count on from the floor until the wall clock is set", "floor", d.clk.Floor().Unix())
	}
	if n, m, err := SyncVehicles(db, cfg); err != nil {
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
	bc.OpenCamera = board.OpenCameras(cameraTemplates(cfg), d.clk, logger.With("part", "camera"))
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
	if d.cams, err = openNetCameras(cfg, lanes, opt.NetCamera, logger.With("part", "camera")); err != nil {
		return nil, err
	}
	ctl, err := edge.New(edge.Config{
		ParkCode: cfg.Park.ParkCode, Spaces: edge.Spaces{Total: cfg.Park.SpacesTotal, VIP: cfg.Park.SpacesVIP},
		Guaranteed: cfg.Platform.Guaranteed, OfflineRelease: cfg.Platform.OfflineRelease, ReplaceStale: cfg.Park.ReplaceStale, DedupeWindow: cfg.Park.DedupeWindow.D(),
		TollCollector: cfg.Park.TollCollector, SendTimeout: cfg.Platform.SendTimeout.D(), MaxRefusals: cfg.Platform.MaxRefusals,
		Retention: time.Duration(cfg.Park.RetentionDays) * 24 * time.Hour,
		Display:   edgeDisplayConfig(cfg),
	}, lanes, edge.Deps{Store: db, Tariff: eng, Uplink: client, Clock: d.clk, Rand: opt.Rand, Logger: logger.With("part", "edge"), Pictures: d.cams.pics})
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
	if d.ln, err = listen(cfg.Platform, opt.Callbacks); err != nil {
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

// platformBase is the uplink base URL.
func platformBase(p config.PlatformConfig) string {
	if p.BaseURL != "" {
		return strings.TrimRight(p.BaseURL, "/")
	}
	env, _ := cmb.ParseEnvironment(p.Environment)
	return cmb.APIBase(env)
}

// listen opens the callback listener (or takes ln, opened by the
// caller), with TLS when configured.
func listen(p config.PlatformConfig, ln net.Listener) (net.Listener, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", p.Listen); err != nil {
			return nil, fmt.Errorf("listen %s: %w", p.Listen, err)
		}
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
func (d *Daemon) refused(endpoint, reason string) {
	select {
	case d.audits <- store.AuditEvent{Kind: "callback_refused", Detail: endpoint + ": " + reason}:
	default:
		d.auditDrop.Add(1)
	}
}

// writeAudits writes queued audit events until the channel closes.
func (d *Daemon) writeAudits() {
	for ev := range d.audits {
		if err := d.db.Audit(ev); err != nil {
			d.log.Warn("audit write failed", "kind", ev.Kind, "err", err)
		}
		if n := d.auditDrop.Swap(0); n > 0 {
			d.db.Audit(store.AuditEvent{Kind: "callback_refused", Detail: strconv.FormatInt(n, 10) + " more refused callbacks not logged one by one"})
		}
	}
}

// Run serves until ctx ends or a part fails, then stops in order:
// callbacks (in-flight ones finish), lanes (relays to a safe state), store.
func (d *Daemon) Run(ctx context.Context) (err error) {
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

	bg.Add(1)
	go func() {
		defer bg.Done()
		if err := d.serveConsoles(ctlCtx); err != nil {
			d.log.Error("console not started; the lanes keep running", "err", err)
		}
	}()
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
				r, err := u.Run(ctlCtx)
				if err != nil && ctlCtx.Err() == nil {
					d.log.Error("update pulls stopped", "err", err)
				}
				if r.Installed {
					d.installed(r)
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
			d.log.Info("trial committed", "version", d.opt.Version)
		case r := <-d.updates:
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
func (d *Daemon) close() error {
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
	d.lock.Release() // after the board: the pins are released first
	return errors.Join(errs...)
}

// startSimClock makes the base clock a simulated one: a test's fake clock
// as it is, else one that starts at the wall clock's time and follows
// real time (so that retries and timeouts run) until close, with the
// console's `sim advance` moving it on.
func (d *Daemon) startSimClock() {
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
func (d *Daemon) quickHealth() error {
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
func (d *Daemon) health(ctx context.Context) error {
	if d.opt.HealthBroken {
		return errors.New("built with main.healthBroken")
	}
	if err := d.quickHealth(); err != nil {
		return err
	}
	if _, _, err := d.db.NextDue(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return Probe(ctx, d.ln.Addr(), d.cfg.Platform.TLSCert != "")
}

// Probe asks the callback listener for HealthPath over loopback.
func Probe(ctx context.Context, addr net.Addr, useTLS bool) error {
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+host.String()+HealthPath, nil)
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

// withHealth answers HealthPath for loopback callers and passes every
// other request to next.
func withHealth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath && r.Method == http.MethodGet {
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
func (d *Daemon) reload() {
	d.sd.Reloading()
	defer d.sd.Ready("reloaded")
	cfg, ps, err := config.Load(d.cfg.Path)
	if err == nil && len(ps) > 0 {
		err = config.ProblemsError(ps)
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
	put, del, err := SyncVehicles(d.db, cfg)
	if err != nil {
		d.log.Error("reload: vehicle lists", "err", err)
	}
	d.db.Audit(store.AuditEvent{Kind: "config", Detail: fmt.Sprintf("reloaded: tariff, vehicles %d put %d deleted", put, del)})
	d.log.Info("reloaded tariff and vehicle lists; other changes apply at the next restart", "vehicles_put", put, "vehicles_deleted", del)
}

// VehicleNote marks the store's list entries that come from the file:
// only those are deleted when the file drops them.
const VehicleNote = "config"

func vehicleNoteOf(note string) string {
	if note == "" {
		return VehicleNote
	}
	return VehicleNote + ": " + note
}

func fromConfig(v store.Vehicle) bool {
	return v.Note == VehicleNote || strings.HasPrefix(v.Note, VehicleNote+": ")
}

// SyncVehicles makes the store's file-made list entries those of cfg, in
// one store transaction: entries are put (when new or changed) and the
// file-made entries the file no longer has are deleted. Entries made at
// the console stay.
func SyncVehicles(db *store.DB, cfg *config.Config) (put, deleted int, err error) {
	loc := cfg.Park.Location
	if loc == nil {
		loc = time.UTC
	}
	want := make([]store.Vehicle, 0, len(cfg.Vehicles))
	for _, vc := range cfg.Vehicles {
		want = append(want, store.Vehicle{
			Plate: strings.ToUpper(strings.TrimSpace(vc.Plate)), List: store.List(vc.List),
			From: vc.From.In(loc), Until: vc.Until.In(loc), Note: vehicleNoteOf(vc.Note),
		})
	}
	return db.SyncVehicles(want, fromConfig)
}

// cameraTemplates is each lane's template codec file, for board.OpenCameras.
func cameraTemplates(cfg *config.Config) func(lane string) string {
	return func(lane string) string {
		for _, l := range cfg.Lanes {
			if l.Name == lane {
				return l.Camera.Template
			}
		}
		return ""
	}
}

// Controller is the appliance's controller (the demo's script drives it).
func (d *Daemon) Controller() *edge.Controller { return d.ctl }

// Store is the appliance's store; Run closes it when it returns.
func (d *Daemon) Store() *store.DB { return d.db }

// SimLanes are the sim board's lanes, in the configuration's order; none
// on real hardware.
func (d *Daemon) SimLanes() []*sim.Lane {
	var out []*sim.Lane
	for _, l := range d.board.Lanes {
		if l.Sim != nil {
			out = append(out, l.Sim)
		}
	}
	return out
}

// SimCommand runs one console `sim …` command (args: the words after
// "sim") on the sim board; the demo's console offers it.
func (d *Daemon) SimCommand(ctx context.Context, args []string) (string, error) {
	return d.simCommands(d.SimLanes()).run(ctx, args)
}
