package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
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
	StartSite StartSite           // starts the site's node ([site]); nil: the real one
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
	// restart is the one way into an installed update, pulled or
	// applied at the console (update.Restart): Run stops on its request
	// and systemd starts the new binary.
	restart *update.Restart
	sd      *notifier
	cams    *netCameras  // network cameras: their listener and pictures
	site    SiteNode     // the site's node; nil: this box is alone
	lock    *DataDirLock // data_dir's lock: the field tools see laned running

	fixMu sync.Mutex   // guards ctl's assignment against the clock's fix-up
	fixes []edge.Fixup // fix-ups that came before the controller

	lanesUp   atomic.Bool
	serving   atomic.Bool
	auditDrop atomic.Int64
}

// Build is the composition root: it opens, in order, the clock, the
// update trial, the store, the vehicle lists, the tariff, the board, the
// uplink client, the controller and the callback listener. Each failure is a clear error
// and closes what was opened.
func Build(ctx context.Context, cfg *config.Config, logger *slog.Logger, opt Options) (_ *Daemon, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{cfg: cfg, opt: opt, log: logger, base: clock.Or(opt.Clock), audits: make(chan store.AuditEvent, 64), restart: update.NewRestart(nil, time.Second)}
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
	db, rep, err := store.Open(cfg.StorePath(), store.Options{Logger: logger.With("part", "store"), Now: d.clk.Now, CheckTimeout: cfg.StoreCheckTimeout, Box: cfg.Site.Box})
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
		logger.Info("store created", "path", cfg.StorePath(), "schema", rep.Schema)
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
	ctl, err := edge.New(cfg.Edge(), lanes, edge.Deps{Store: db, Tariff: eng, Uplink: client, Clock: d.clk, Rand: opt.Rand, Logger: logger.With("part", "edge"), Pictures: d.cams.pics})
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
	handler, err := d.joinSite(ctx)
	if err != nil {
		return nil, err
	}
	srv, err := cmb.NewServer(cmb.ServerConfig{
		AppID: cfg.Platform.AppID, Secret: string(cfg.Platform.Secret), ParkCode: cfg.Park.ParkCode,
		Prefix: cfg.Platform.Prefix, Logger: logger.With("part", "callbacks"), OnRefused: d.refused,
	}, handler)
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
