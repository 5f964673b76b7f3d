package appliance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"laned/appliance/config"
	"laned/edge"
	"laned/edge/console"
	"laned/edge/update"
	"laned/hal"
	"laned/hal/sim"
	"laned/store"
)

// consoleBackend is the daemon as the console sees it.
func (d *Daemon) consoleBackend(who string) *edge.Console {
	base := platformBase(d.cfg.Platform)
	b := &edge.Console{
		Ctl: d.ctl, Clock: d.clk, Zone: d.cfg.Park.Location, Who: who, VersionText: d.opt.Version,
		ConfigText: func() string {
			var sb strings.Builder
			config.WriteSummary(&sb, d.cfg)
			return sb.String()
		},
		NetEndpoint: base,
		NetProbe:    func(ctx context.Context) error { return probePlatform(ctx, base) },
		UpdateStat: func() (string, error) {
			r, err := update.Status(d.cfg.DataDir)
			if err != nil {
				return "", err
			}
			var sb strings.Builder
			_, err = r.WriteTo(&sb)
			return sb.String(), err
		},
		UpdateApplyF: d.consoleUpdate,
		Ports:        map[string]string{},
	}
	if d.board != nil {
		var sims []*sim.Lane
		for _, l := range d.board.Lanes {
			if l.Sim != nil {
				sims = append(sims, l.Sim)
			}
			if l.Port.Path != "" && (l.Sim == nil || l.Camera != hal.Camera(l.Sim.Camera)) {
				b.Ports[l.Name] = fmt.Sprintf("%s @ %d (%s, address %d)", l.Port.Path, l.Port.Baud, l.Port.Codec, l.Port.Addr)
			}
		}
		if len(sims) > 0 {
			b.SimF = d.simCommands(sims).run
		}
	}
	for i, l := range d.cfg.Lanes {
		if s, ok := config.NetCameraSummary(d.cfg, i); ok {
			b.Ports[l.Name] = s
		}
	}
	return b
}

// simCommands drives the sim board's lanes, the simulated clock when
// [board] clock = "sim", and the platform simulator (Options.Sim, else
// the one at the base URL).
func (d *Daemon) simCommands(lanes []*sim.Lane) *simCommands {
	var platform SimPlatform = newAdminPlatform(platformBase(d.cfg.Platform))
	if d.opt.Sim != nil {
		platform = d.opt.Sim
	}
	return &simCommands{
		lanes: lanes, clk: d.simClk, zone: d.cfg.Park.Location,
		platform: platform,
		kick:     d.ctl.Kick,
		settle: func(ctx context.Context) error {
			// Until the lanes have taken every event: a bounded wait on
			// progress, so that the answer follows what the command did.
			deadline := time.Now().Add(5 * time.Second)
			for _, l := range lanes {
				for !l.Idle() && time.Now().Before(deadline) {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(time.Millisecond):
					}
				}
			}
			return d.ctl.Sync(ctx)
		},
	}
}

// probePlatform tells whether the platform's host answers a TCP connection.
func probePlatform(ctx context.Context, base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	return c.Close()
}

// pinStore keeps the serial console's PIN lock-out in the store, so that
// a restart neither resets the count nor lifts a lock.
type pinStore struct{ db *store.DB }

func (p pinStore) LoadPIN() (console.PINState, error) {
	c, err := p.db.ConsoleLockout()
	return console.PINState(c), err
}

func (p pinStore) SavePIN(st console.PINState) error {
	return p.db.PutConsoleLockout(store.ConsoleLockout(st))
}

// serveConsoles runs the root-only socket console and, when configured,
// the serial console with its PIN, until ctx ends (then nil).
func (d *Daemon) serveConsoles(ctx context.Context) error {
	loc := d.cfg.Park.Location
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	keep := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	if sock := d.cfg.Console.Socket; sock != "" {
		c := console.New(console.Options{Backend: d.consoleRoles("console socket"), Logger: d.log.With("part", "console"), Clock: d.real, Location: loc, Name: "laned"})
		wg.Add(1)
		go func() { defer wg.Done(); keep(ServeConsoleSocket(ctx, sock, c)) }()
	}
	if port := d.cfg.Console.SerialPort; port != "" && port != "none" {
		pin, err := console.NewPINCheck(d.cfg.Console.PINHash, console.PINOptions{
			Store: pinStore{d.db}, Now: d.real.Now, Logger: d.log.With("part", "console")})
		if err != nil {
			keep(fmt.Errorf("serial console: %w", err))
		} else {
			c := console.New(console.Options{
				Backend: d.consoleRoles("console serial"), Logger: d.log.With("part", "console"), PIN: pin,
				Clock: d.real, Location: loc, Name: "laned", Echo: true, IdleTimeout: 10 * time.Minute,
			})
			baud := d.cfg.Console.SerialBaud // config's default when the file has none
			wg.Add(1)
			go func() { defer wg.Done(); keep(serveConsoleSerial(ctx, port, baud, c, d.log.With("part", "console"))) }()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}
