// Package demo is `laned demo`: the daemon as appliance.Build makes it,
// on the sim board with a simulated clock, against the CMB platform
// simulator in process, with scripted traffic narrated as it happens and
// a summary that checks every fen. It is the README's first command and
// the tree's end-to-end smoke test; with Forever it keeps running with
// the console on a socket so that a newcomer can drive the lanes.
package demo

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"laned/appliance"
	"laned/appliance/config"
	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/hal/camera"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"
)

const (
	demoAppID  = "demoappid"
	demoSecret = "demo-secret-not-for-production"
	demoPark   = int64(5201020001)
)

// demoConfig is the demo's configuration file, with data_dir, the park
// code, the platform's base URL and the appid to fill in.
//
//go:embed demo.toml
var demoConfig string

// Options are the demo's flags.
type Options struct {
	DataDir string // a fresh data directory
	Forever bool   // after the script, keep running with the console on Socket
	Socket  string
	Verbose bool   // log every uplink and decision in detail
	Version string // shown by the console's version command
}

// demo is one run of the embedded default.
type demo struct {
	out     io.Writer
	version string
	clk     *clock.Fake
	db      *store.DB
	sim     *cmbsim.Sim
	app     *appliance.Daemon
	ctl     *edge.Controller
	entry   *sim.Lane
	exit    *sim.Lane
	lanes   []*sim.Lane
	zone    *time.Location
	net     *demoNetLane // entry2: a network camera with pictures

	mu sync.Mutex // serialises the narration

	// ended mutes the log view once the summary begins: what the daemon
	// logs while it stops (an uplink cut short by the stop) is not the
	// story.
	ended atomic.Bool
}

// Run runs the demo, narrating on out, until the script and its summary
// are done (or, with Forever, until ctx ends). It fails when the summary
// is not clean.
func Run(ctx context.Context, out io.Writer, opt Options) error {
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return fmt.Errorf("demo: zone: %w", err)
	}
	// The narration, the log view (from any goroutine) and the summary
	// all write to out: one write at a time.
	d := &demo{out: &lockedWriter{w: out}, zone: zone, version: opt.Version}
	d.clk = clock.NewFake(time.Date(2026, 3, 2, 7, 55, 0, 0, zone))
	return d.run(ctx, opt)
}

// lockedWriter lets one Write through at a time (fmt's Fprint family
// writes each call's text in one Write).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, "%s  %s\n", d.clk.Now().In(d.zone).Format("15:04:05"), fmt.Sprintf(format, args...))
}

// config is the demo's configuration, parsed and checked as the daemon's
// file is, with the platform simulator at platform.
func (d *demo) config(dataDir string, platform net.Addr) (*config.Config, error) {
	text := fmt.Sprintf(demoConfig, dataDir, demoPark, "http://"+platform.String(), demoAppID)
	cfg, ps := config.Parse(filepath.Join(dataDir, "demo.toml"), []byte(text), false)
	if len(ps) > 0 {
		return nil, fmt.Errorf("demo: %w", config.ProblemsError(ps))
	}
	cfg.Platform.Secret = demoSecret
	return cfg, nil
}

func (d *demo) run(ctx context.Context, opt Options) error {
	logger := slog.New(&demoHandler{d: d, verbose: opt.Verbose})
	if _, err := os.Stat(filepath.Join(opt.DataDir, config.StoreFile)); err == nil {
		return fmt.Errorf("demo: %s already holds a store: the demo wants a fresh data directory", opt.DataDir)
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
	platHTTP := &http.Server{Handler: d.sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go platHTTP.Serve(platLn)
	defer platHTTP.Close()
	cfg, err := d.config(opt.DataDir, platLn.Addr())
	if err != nil {
		laneLn.Close()
		return err
	}
	d.net = &demoNetLane{frames: map[string][]byte{}}
	serving := make(chan struct{}) // closed by Run, after OnCameras
	d.app, err = appliance.Build(ctx, cfg, logger, appliance.Options{
		Version: opt.Version, Clock: d.clk, Rand: rand.New(rand.NewPCG(7, 7)),
		Callbacks: laneLn, Sim: localPlatform{d.sim},
		NetCamera: func(c *camera.NetConfig) {
			c.Clock, c.Silence = d.clk, 24*time.Hour // the demo camera sends no heartbeats
		},
		OnCameras: func(a net.Addr) { d.net.url = "http://" + a.String() + "/camera/push/entry2?token=demo" },
		OnServing: func(net.Addr) { close(serving) },
	})
	if err != nil {
		return err
	}
	d.ctl, d.db, d.lanes = d.app.Controller(), d.app.Store(), d.app.SimLanes()
	d.entry, d.exit, d.net.lane = d.lanes[0], d.lanes[1], d.lanes[2]

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- d.app.Run(runCtx) }()
	select {
	case <-serving:
	case err := <-done:
		return err
	}

	fmt.Fprintf(d.out, "laned demo — two entry lanes (entry2 with a network camera) and one exit lane on the simulated board, the CMB platform simulated at %s.\n", platLn.Addr())
	fmt.Fprintf(d.out, "Tariff: 15 min free, first hour 5.00, every further 30 min 2.00, 40.00 a day. Time runs simulated.\n\n")
	scriptErr := d.script(runCtx)
	if scriptErr == nil && opt.Forever {
		scriptErr = d.forever(runCtx, opt.Socket)
	}
	var sumErr error
	if scriptErr == nil {
		d.ended.Store(true)
		sumErr = d.summary() // before the daemon stops and closes the store
	}
	stop()
	runErr := <-done
	if scriptErr != nil {
		return scriptErr
	}
	if runErr != nil {
		return runErr
	}
	return sumErr
}
