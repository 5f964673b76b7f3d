package appliance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"laned/hal/clock"
	"laned/store"

	_ "time/tzdata" // the binary carries the zone database: a Pi may have none
)

// Shutdown bounds: in-flight callbacks get shutdownGrace to finish.
const shutdownGrace = 8 * time.Second

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
	bg.Add(1)
	go func() { defer bg.Done(); d.clk.Run(ctlCtx) }() // the clock's fix-ups, stopped before the store closes
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
			d.log.Info("trial committed", "version", d.opt.Version)
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
	if d.site != nil { // before the store it applies to
		if err := d.site.Close(); err != nil {
			errs = append(errs, fmt.Errorf("run: close site: %w", err))
		}
		d.site = nil
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
