package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/clock"
)

// vState is where the vehicle at a lane is in its passage.
type vState int

const (
	vIdentifying vState = iota + 1 // on the arming loop, no plate yet
	vNoPlate                       // the camera saw no plate: waiting for NoVpln (entry) or an unlicensed scan (exit)
	vRefused                       // entry refused (blacklist, lot full, already inside): a guard decides
	vUnknown                       // exit: no open record matches the plate
	vWaitPay                       // exit: fee due, waiting for scan-to-pay
	vAutoPay                       // exit: contactless payment under way: released on its answer
	vReleased                      // the barrier was raised for it
)

func (s vState) String() string {
	return [...]string{"", "identifying", "no plate", "refused", "unknown", "waiting to pay", "contactless paying", "released"}[s]
}

// vehicle is what stands at a lane.
type vehicle struct {
	plate      string // as read (or the virtual plate of an unlicensed vehicle)
	colour     int
	conf       int
	unlicensed bool
	at         time.Time
	state      vState
	reason     string // why it is in its state, for the console and display
	recordID   string
	quote      tariff.Quote
	order      string         // request_order of a pending AutoPay
	limit      int64          // the binding's limit, for a pending AutoPay
	passing    bool           // seen on the safety loop since the barrier rose
	read       hal.PlateEvent // the read that identified it (a network camera's plate type and pictures)
}

// laneStatus is a copy of a lane's state for the console.
type laneStatus struct {
	Name        string
	Kind        LaneKind
	Code        int
	Barrier     hal.BarrierState
	Arming      bool
	Safety      bool
	CameraOn    bool
	Vehicle     string // plate or "" ; "(no plate)" for unlicensed
	State       string
	Reason      string
	RecordID    string
	Due         int64
	LastEvent   time.Time
	LastPlate   string
	LastFault   string
	CameraFrame string
}

// lane is one lane's state machine. Everything but the snapshot is touched
// only by its own goroutine (run): events are handled in order and the
// logic needs no locks.
type lane struct {
	laneEnv
	cfg LaneConfig

	reqs  chan func(context.Context) // run with the lane's own context
	quit  chan struct{}              // closed when run returns
	posts atomic.Int64               // posted functions not yet run

	armed, safety bool
	veh           *vehicle
	lastPlate     string
	lastPlateAt   time.Time
	queued        *hal.PlateEvent // the next car's read, taken while the lane was busy
	wantUp        bool            // the lane wants the barrier up
	passTimer     clock.Timer
	passC         <-chan time.Time
	autoPayTimer  clock.Timer
	autoPayC      <-chan time.Time
	resettles     int                       // nested re-decisions after a repricing (see resettle)
	disp          atomic.Pointer[announcer] // the lane's board; nil without one (display.go)
	dispKey       string                    // the scene last posted to it
	startedAt     time.Time                 // when run began: a restart may have cut a decision short
	decided       bool                      // a plate has been decided since
	decision      hal.Decision              // a network camera waiting to know whether its relay opens

	snapMu sync.Mutex
	snap   laneStatus
	frames []hal.PlateEvent // the camera's last reports, newest last
	since  [2]time.Time     // last change of the arming and safety loops
}

const keepFrames = 10

func newLane(env laneEnv, cfg LaneConfig) *lane {
	l := &lane{laneEnv: env, cfg: cfg, reqs: make(chan func(context.Context)), quit: make(chan struct{})}
	l.snap = laneStatus{Name: cfg.Name, Kind: cfg.Kind, Code: cfg.Code}
	return l
}

var errLaneStopped = errors.New("lane stopped")

// do runs fn on the lane's goroutine and waits for it.
func (l *lane) do(ctx context.Context, fn func()) error {
	return l.act(ctx, func(context.Context) { fn() })
}

// act runs fn on the lane's goroutine, under the lane's own context, and
// waits for it. ctx bounds only the caller's wait: once fn has been taken
// it runs to its end even if ctx ends, so that a decision that committed
// always moves the barrier (a console that closes, a platform request that
// times out must not leave a closed record behind a lowered arm).
func (l *lane) act(ctx context.Context, fn func(lctx context.Context)) error {
	done := make(chan struct{})
	select {
	case l.reqs <- func(lctx context.Context) { fn(lctx); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.quit:
		return errLaneStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// haltOnPanic, deferred by run, halts the lane's barrier (its relays to
// their safe state) when the lane's goroutine panics, then lets the panic
// go on: the process dies as it would have, but not with a relay held.
func (l *lane) haltOnPanic() {
	r := recover()
	if r == nil {
		return
	}
	err := l.cfg.Barrier.Halt()
	l.log.Error("lane panicked: barrier halted", "lane", l.cfg.Name, "panic", fmt.Sprint(r), "halt_err", err)
	panic(r)
}

// post runs fn on the lane's goroutine, under the lane's own context,
// without waiting.
func (l *lane) post(fn func(lctx context.Context)) { l.postOr(fn, nil) }

// postOr is post; dropped, if set, is called when the lane has stopped
// and fn will never run.
func (l *lane) postOr(fn func(lctx context.Context), dropped func()) {
	l.posts.Add(1)
	go func() {
		select {
		case l.reqs <- func(lctx context.Context) { fn(lctx); l.posts.Add(-1) }:
		case <-l.quit:
			l.posts.Add(-1)
			if dropped != nil {
				dropped()
			}
		}
	}()
}

func (l *lane) run(ctx context.Context) {
	defer close(l.quit)
	defer l.startDisplay(ctx)()
	defer l.haltOnPanic()
	l.armed, l.safety = l.cfg.Arming.Occupied(), l.cfg.Safety.Occupied()
	l.startedAt = l.clk.Now()
	if l.armed && l.veh == nil {
		// A vehicle stood here when the controller (re)started: identify
		// it, its earlier read is lost with the old process.
		l.identify(ctx, l.startedAt)
	}
	l.snapshot()
	arming, safety := l.cfg.Arming.Events(), l.cfg.Safety.Events()
	barrier, camera := l.cfg.Barrier.Events(), l.cfg.Camera.Events()
	for {
		select {
		case <-ctx.Done():
			l.stopTimers()
			return
		case ev, ok := <-arming:
			if !ok {
				arming = nil
				continue
			}
			l.onArming(ctx, ev)
		case ev, ok := <-safety:
			if !ok {
				safety = nil
				continue
			}
			l.onSafety(ctx, ev)
		case ev, ok := <-barrier:
			if !ok {
				barrier = nil
				continue
			}
			l.onBarrier(ev)
		case ev, ok := <-camera:
			if !ok {
				camera = nil
				continue
			}
			l.onCamera(ctx, ev)
		case fn := <-l.reqs:
			fn(ctx)
		case <-l.passC:
			l.passC, l.passTimer = nil, nil
			l.onPassTimeout(ctx)
		case <-l.autoPayC:
			l.autoPayC, l.autoPayTimer = nil, nil
			l.onAutoPayTimeout(ctx)
		}
		l.snapshot()
		l.noteDisplay()
	}
}

func (l *lane) halt() error {
	var errs []error
	for _, d := range []hal.Device{l.cfg.Camera, l.cfg.Arming, l.cfg.Safety, l.cfg.Barrier} {
		if err := d.Halt(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

func (l *lane) stopTimers() {
	if l.passTimer != nil {
		l.passTimer.Stop()
	}
	if l.autoPayTimer != nil {
		l.autoPayTimer.Stop()
	}
}

func (l *lane) snapshot() {
	s := laneStatus{
		Name: l.cfg.Name, Kind: l.cfg.Kind, Code: l.cfg.Code,
		Barrier: l.cfg.Barrier.State(), Arming: l.armed, Safety: l.safety,
		CameraOn: l.cfg.Camera.Online(), LastPlate: l.lastPlate,
	}
	if v := l.veh; v != nil {
		s.Vehicle = v.plate
		if v.unlicensed && v.plate == "" {
			s.Vehicle = "(no plate)"
		}
		s.State, s.Reason, s.RecordID, s.Due = v.state.String(), v.reason, v.recordID, v.quote.Due
	}
	l.snapMu.Lock()
	s.LastEvent, s.LastFault, s.CameraFrame = l.snap.LastEvent, l.snap.LastFault, l.snap.CameraFrame
	l.snap = s
	l.snapMu.Unlock()
}

func (l *lane) status() laneStatus {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	return l.snap
}

func (l *lane) note(f func(s *laneStatus)) {
	l.snapMu.Lock()
	f(&l.snap)
	l.snapMu.Unlock()
}

// ---- loops, barrier and safety ----

// identify starts on a vehicle that arrived at the lane: the camera is
// asked for a read.
func (l *lane) identify(ctx context.Context, at time.Time) {
	l.veh = &vehicle{at: at, state: vIdentifying}
	if err := l.cfg.Camera.Trigger(ctx); err != nil {
		l.log.Warn("camera trigger", "lane", l.cfg.Name, "err", err)
	}
}

// takeLoop notes a loop's event (which: 0 arming, 1 safety) in state and
// in the snapshot; false: the loop is stuck (audited), nothing changed.
func (l *lane) takeLoop(ev hal.LoopEvent, which int, state *bool) bool {
	if ev.Stuck {
		l.aud.audit("fault", l.cfg.Code, "%s: %s loop occupied for too long", l.cfg.Name, [2]string{"arming", "safety"}[which])
		return false
	}
	*state = ev.Occupied
	l.note(func(*laneStatus) { l.since[which] = ev.At })
	return true
}

func (l *lane) onArming(ctx context.Context, ev hal.LoopEvent) {
	if !l.takeLoop(ev, 0, &l.armed) {
		return
	}
	if ev.Occupied {
		if l.veh == nil {
			l.identify(ctx, l.clk.Now())
		}
		return
	}
	// The vehicle left the arming loop. One that was let through is now
	// on the safety loop; any other drove away (or backed off) — unless
	// the loop is occupied again (the device's word) and the vehicle was
	// read after the release's edge (its At is up to a debounce after
	// it): then the release is the car before's, handled after the next
	// car's arrival and read (loops and camera come on separate
	// channels), and the vehicle is that next car.
	if v := l.veh; v != nil && v.state != vReleased && !l.safety &&
		(!l.cfg.Arming.Occupied() || v.read.At.IsZero() || v.read.At.Before(ev.At.Add(-hal.MaxDebounce))) {
		l.log.Info("vehicle left the lane", "lane", l.cfg.Name, "plate", l.veh.plate, "state", l.veh.state.String())
		l.veh = nil
	}
	l.maybeClose(ctx)
}

func (l *lane) onSafety(ctx context.Context, ev hal.LoopEvent) {
	if !l.takeLoop(ev, 1, &l.safety) {
		return
	}
	if ev.Occupied {
		if l.veh != nil && l.veh.state == vReleased {
			l.veh.passing = true
		}
		// A vehicle under a closing (or closed while commanded up)
		// barrier: raise it again.
		if st := l.cfg.Barrier.State(); st == hal.BarrierClosing || (st == hal.BarrierStopped && !l.wantUp) {
			l.aud.audit("barrier", l.cfg.Code, "%s: re-open: vehicle on the safety loop while %s", l.cfg.Name, st)
			l.raise(ctx, "vehicle under closing barrier")
		}
		return
	}
	if l.veh != nil && l.veh.state == vReleased && l.veh.passing {
		l.log.Info("vehicle passed", "lane", l.cfg.Name, "plate", l.veh.plate)
		l.veh = nil
		// The device's own state, not l.armed: a loop's release may still
		// be on its way in another channel.
		if l.cfg.Arming.Occupied() {
			// The next vehicle is already waiting: identify it, from
			// the read taken meanwhile or by a new capture.
			if q := l.queued; q != nil {
				l.queued = nil
				l.maybeClose(ctx)
				l.onCamera(ctx, *q)
				return
			}
			l.identify(ctx, l.clk.Now())
		}
		l.queued = nil
	}
	l.maybeClose(ctx)
}

// maybeClose lowers the barrier when nobody is released and the safety
// loop is clear. It is the only place that commands a barrier down.
func (l *lane) maybeClose(ctx context.Context) {
	if l.safety || l.cfg.Safety.Occupied() || !l.wantUp {
		return
	}
	if l.veh != nil && l.veh.state == vReleased {
		return // still to pass
	}
	l.lower(ctx, "vehicle passed")
}

func (l *lane) raise(ctx context.Context, why string) {
	l.wantUp = true
	if err := l.cfg.Barrier.Open(ctx); err != nil {
		l.log.Error("barrier open", "lane", l.cfg.Name, "why", why, "err", err)
		l.aud.audit("fault", l.cfg.Code, "%s: barrier open failed: %v", l.cfg.Name, err)
		return
	}
	l.log.Info("barrier up", "lane", l.cfg.Name, "why", why)
	l.openCamera()
	l.armPassTimer()
}

func (l *lane) lower(ctx context.Context, why string) {
	if l.safety || l.cfg.Safety.Occupied() {
		return // never on a vehicle (the device's word: its event may still be on the way)
	}
	l.wantUp = false
	if l.passTimer != nil {
		l.passTimer.Stop()
		l.passTimer, l.passC = nil, nil
	}
	if err := l.cfg.Barrier.Close(ctx); err != nil {
		l.log.Error("barrier close", "lane", l.cfg.Name, "err", err)
		l.aud.audit("fault", l.cfg.Code, "%s: barrier close failed: %v", l.cfg.Name, err)
		return
	}
	l.log.Info("barrier down", "lane", l.cfg.Name, "why", why)
}

func (l *lane) armPassTimer() {
	if l.passTimer != nil {
		l.passTimer.Stop()
	}
	l.passTimer = l.clk.NewTimer(l.rules.passTimeout)
	l.passC = l.passTimer.C()
}

// onPassTimeout: the barrier has been up for PassTimeout. A released
// vehicle that never reached the safety loop is given up on once both
// loops are clear (its record stays as decided).
func (l *lane) onPassTimeout(ctx context.Context) {
	if !l.wantUp {
		return
	}
	if l.safety || l.armed {
		l.armPassTimer()
		return
	}
	if l.veh != nil && l.veh.state == vReleased {
		l.aud.audit("barrier", l.cfg.Code, "%s: released vehicle %s did not pass within %s", l.cfg.Name, l.veh.plate, l.rules.passTimeout)
		l.veh = nil
	}
	l.lower(ctx, "pass timeout")
}

func (l *lane) onBarrier(ev hal.BarrierEvent) {
	if ev.Fault != "" {
		l.note(func(s *laneStatus) { s.LastFault = ev.At.Format(time.RFC3339) + " " + ev.Fault })
		l.log.Warn("barrier fault", "lane", l.cfg.Name, "fault", ev.Fault)
		l.aud.audit("fault", l.cfg.Code, "%s: barrier: %s", l.cfg.Name, ev.Fault)
	}
}

// fail notes an internal failure (the store refused, a bug): the vehicle
// waits for a guard, and the fault is logged and audited.
func (l *lane) fail(op string, err error) {
	if l.veh != nil {
		l.veh.state, l.veh.reason = vRefused, "internal error: "+op+": "+err.Error()
	}
	l.log.Error("lane decision failed", "lane", l.cfg.Name, "op", op, "err", err)
	l.aud.audit("fault", l.cfg.Code, "%s: %s: %v", l.cfg.Name, op, err)
}

// shiftTimes applies a clock fix-up to what the lane remembers (on the
// lane's goroutine).
func (l *lane) shiftTimes(moved func(time.Time) time.Time) {
	if v := l.veh; v != nil {
		v.at = moved(v.at)
	}
	l.lastPlateAt = moved(l.lastPlateAt)
}
