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
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"
)

// siteConfig is one box's configuration in the site demo: data_dir, park
// code, base URL, appid, lane code, box, gateway and its link line.
//
//go:embed site.toml
var siteConfig string

// siteBoxes are the site demo's boxes: a is the gateway (the bank calls
// it), each owns entry N and exit N.
var siteBoxes = []string{"a", "b", "c"}

const demoSitePassword = "demo-site-password"

// box is one box of the site demo.
type box struct {
	name  string
	code  int // its lanes' in_code and out_code
	app   *appliance.Daemon
	ctl   *edge.Controller
	db    *store.DB
	entry *sim.Lane
	exit  *sim.Lane
	done  chan error
}

// siteDemo is `laned demo -site 3`: three boxes in one process, each
// the daemon as appliance.Build makes it with its own store and site
// node, sharing the simulated clock and the platform simulator; only the
// gateway is called back by the platform, every box sends its own
// uplinks. Box c reaches the gateway through a link that the script cuts
// and restores.
type siteDemo struct {
	out   io.Writer
	clk   *clock.Fake
	zone  *time.Location
	sim   *cmbsim.Sim
	boxes []*box
	link  *linkProxy // c's link to the gateway
	plat  string     // the platform simulator's base URL
	mu    sync.Mutex
	ended atomic.Bool // the summary began: the narration of the stop is not the story
}

// RunSite runs the site demo with n boxes (3), narrating on out. It
// fails when the summary is not clean.
func RunSite(ctx context.Context, out io.Writer, opt Options, n int) error {
	if n != len(siteBoxes) {
		return fmt.Errorf("demo: -site %d: the site demo has %d boxes", n, len(siteBoxes))
	}
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return fmt.Errorf("demo: zone: %w", err)
	}
	s := &siteDemo{out: &lockedWriter{w: out}, zone: zone, clk: clock.NewFake(time.Date(2026, 3, 2, 7, 55, 0, 0, zone))}
	return s.run(ctx, opt)
}

func (s *siteDemo) say(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, "%s  %s\n", s.clk.Now().In(s.zone).Format("15:04:05"), fmt.Sprintf(format, args...))
}

// freePort is a loopback address nobody listens on now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	a := l.Addr().String()
	return a, l.Close()
}

func (s *siteDemo) run(ctx context.Context, opt Options) error {
	if _, err := os.Stat(filepath.Join(opt.DataDir, "a", config.StoreFile)); err == nil {
		return fmt.Errorf("demo: %s already holds a site demo: the demo wants a fresh data directory", opt.DataDir)
	}
	laneLn, err := net.Listen("tcp", "127.0.0.1:0") // the gateway's callbacks
	if err != nil {
		return fmt.Errorf("demo: listen: %w", err)
	}
	platLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		laneLn.Close()
		return fmt.Errorf("demo: listen: %w", err)
	}
	s.sim = cmbsim.New(cmbsim.Config{
		AppID: demoAppID, Secret: demoSecret, ParkCode: demoPark, LaneURL: "http://" + laneLn.Addr().String() + "/",
		Now: s.clk.Now, Rand: rand.NewChaCha8([32]byte{9}), Logger: slog.New(&siteHandler{s: s, verbose: opt.Verbose}).With("who", "platform"),
	})
	s.plat = "http://" + platLn.Addr().String()
	platHTTP := &http.Server{Handler: s.sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go platHTTP.Serve(platLn)
	defer platHTTP.Close()

	hub, err := freePort()
	if err != nil {
		laneLn.Close()
		return fmt.Errorf("demo: %w", err)
	}
	if s.link, err = newLinkProxy(hub); err != nil {
		laneLn.Close()
		return fmt.Errorf("demo: %w", err)
	}
	defer s.link.Close()

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	defer s.stopAll(stop) // on an early return; a no-op after the one below
	for i, name := range siteBoxes {
		var callbacks net.Listener
		if i == 0 {
			callbacks = laneLn
		}
		link := fmt.Sprintf("hub = [\"nats-leaf://%s\"]", hub)
		switch name {
		case "a":
			link = fmt.Sprintf("listen = %q", hub)
		case "c":
			link = fmt.Sprintf("hub = [\"nats-leaf://%s\"]", s.link.Addr())
		}
		b, err := s.start(runCtx, opt, name, i+1, link, callbacks)
		if err != nil {
			if callbacks != nil && b == nil {
				callbacks.Close()
			}
			return err
		}
		s.boxes = append(s.boxes, b)
	}
	fmt.Fprintf(s.out, "laned demo -site 3 — one car park, three boxes in this process: a (the gateway the bank calls; entry1, exit1), b (entry2, exit2), c (entry3, exit3).\n")
	fmt.Fprintf(s.out, "Each box has its own store and embedded NATS; b dials a, c dials a through a link the demo cuts. The CMB platform is simulated at %s. Time runs simulated.\n\n", platLn.Addr())
	err = s.script(runCtx)
	if err == nil {
		s.ended.Store(true)
		err = s.summary() // before the boxes stop and close their stores
	}
	if e := s.stopAll(stop); err == nil {
		err = e
	}
	return err
}

// start builds and runs one box.
func (s *siteDemo) start(ctx context.Context, opt Options, name string, code int, link string, callbacks net.Listener) (*box, error) {
	dir := filepath.Join(opt.DataDir, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	text := fmt.Sprintf(siteConfig, dir, demoPark, s.plat, demoAppID, code, name, name == "a", link)
	cfg, ps := config.Parse(filepath.Join(dir, "site.toml"), []byte(text), false)
	if len(ps) > 0 {
		return nil, fmt.Errorf("demo: box %s: %w", name, config.ProblemsError(ps))
	}
	cfg.Platform.Secret = demoSecret
	cfg.Site.Auth = config.SiteAuth{User: "laned", Password: demoSitePassword}
	logger := slog.New(&siteHandler{s: s, verbose: opt.Verbose}).With("box", name)
	serving := make(chan struct{})
	app, err := appliance.Build(ctx, cfg, logger, appliance.Options{
		Version: opt.Version, Clock: s.clk, Rand: rand.New(rand.NewPCG(uint64(code), 7)), Callbacks: callbacks,
		OnServing: func(net.Addr) { close(serving) },
	})
	if err != nil {
		return nil, fmt.Errorf("demo: box %s: %w", name, err)
	}
	b := &box{name: name, code: code, app: app, ctl: app.Controller(), db: app.Store(), done: make(chan error, 1)}
	lanes := app.SimLanes()
	b.entry, b.exit = lanes[0], lanes[1]
	go func() { b.done <- app.Run(ctx) }()
	select {
	case <-serving:
	case err := <-b.done:
		return nil, fmt.Errorf("demo: box %s: %w", name, err)
	}
	return b, nil
}

// stopAll stops the boxes and waits for them; the first failure.
func (s *siteDemo) stopAll(stop context.CancelFunc) error {
	stop()
	var first error
	for _, b := range s.boxes {
		if err := <-b.done; err != nil && first == nil {
			first = fmt.Errorf("demo: box %s: %w", b.name, err)
		}
	}
	s.boxes = nil
	return first
}

func (s *siteDemo) box(name string) *box {
	for _, b := range s.boxes {
		if b.name == name {
			return b
		}
	}
	panic("demo: no box " + name)
}

// linkProxy is a TCP link that the demo can cut (closing what goes
// through it and refusing new connections) and restore: a box's network
// cable.
type linkProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func newLinkProxy(target string) (*linkProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &linkProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *linkProxy) Addr() string { return p.ln.Addr().String() }

func (p *linkProxy) Close() error {
	p.setCut(true)
	return p.ln.Close()
}

func (p *linkProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

func (p *linkProxy) pipe(dst, src net.Conn) {
	io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// setCut cuts (closing every connection) or restores the link.
func (p *linkProxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		for c := range p.conns {
			c.Close()
		}
	}
}

// siteHandler is demoHandler's narration for the site demo: each line
// names its box; the site's own chatter shows with -v only.
type siteHandler struct {
	s       *siteDemo
	verbose bool
	attrs   []slog.Attr
}

func (h *siteHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *siteHandler) Handle(_ context.Context, r slog.Record) error {
	if h.s.ended.Load() {
		return nil
	}
	ev := newEvent(h.attrs, r)
	get := ev.get
	quiet := !h.verbose && r.Level < slog.LevelWarn
	switch {
	case quiet && (get("who") == "platform" || get("part") == "" || get("part") == "display" || get("part") == "site"):
		return nil
	case quiet && r.Message == "uplink delivered" && (get("kind") == "SpaceInfo" || get("kind") == "ConfigUpload"):
		return nil
	case quiet && r.Message == "display":
		return nil
	}
	prefix := "    "
	if bx := get("box"); bx != "" {
		prefix = "    [" + bx + "] "
	}
	h.s.say("%s", ev.line(prefix, "box", "lane", "who", "part", "colour", "conf", "seq", "moment", "shown"))
	return nil
}

func (h *siteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &siteHandler{s: h.s, verbose: h.verbose, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *siteHandler) WithGroup(string) slog.Handler { return h }
