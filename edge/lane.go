package edge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/clock"
	"laned/store"
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
	c   *Controller
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

func newLane(c *Controller, cfg LaneConfig) *lane {
	l := &lane{c: c, cfg: cfg, reqs: make(chan func(context.Context)), quit: make(chan struct{})}
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
	l.c.log.Error("lane panicked: barrier halted", "lane", l.cfg.Name, "panic", fmt.Sprint(r), "halt_err", err)
	panic(r)
}

// post runs fn on the lane's goroutine, under the lane's own context,
// without waiting.
func (l *lane) post(fn func(lctx context.Context)) {
	l.posts.Add(1)
	go func() {
		select {
		case l.reqs <- func(lctx context.Context) { fn(lctx); l.posts.Add(-1) }:
		case <-l.quit:
			l.posts.Add(-1)
		}
	}()
}

func (l *lane) run(ctx context.Context) {
	defer close(l.quit)
	defer l.startDisplay(ctx)()
	defer l.haltOnPanic()
	l.armed, l.safety = l.cfg.Arming.Occupied(), l.cfg.Safety.Occupied()
	l.startedAt = l.c.now()
	if l.armed && l.veh == nil {
		// A vehicle stood here when the controller (re)started: identify
		// it, its earlier read is lost with the old process.
		l.veh = &vehicle{at: l.startedAt, state: vIdentifying}
		if err := l.cfg.Camera.Trigger(ctx); err != nil {
			l.c.log.Warn("camera trigger", "lane", l.cfg.Name, "err", err)
		}
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

// ---- loops and barrier ----

func (l *lane) onArming(ctx context.Context, ev hal.LoopEvent) {
	if ev.Stuck {
		l.c.audit("fault", l.cfg.Code, "%s: arming loop occupied for too long", l.cfg.Name)
		return
	}
	l.armed = ev.Occupied
	l.note(func(*laneStatus) { l.since[0] = ev.At })
	if ev.Occupied {
		if l.veh == nil {
			l.veh = &vehicle{at: l.c.now(), state: vIdentifying}
			if err := l.cfg.Camera.Trigger(ctx); err != nil {
				l.c.log.Warn("camera trigger", "lane", l.cfg.Name, "err", err)
			}
		}
		return
	}
	// The vehicle left the arming loop. One that was let through is now
	// on the safety loop; any other drove away (or backed off).
	if l.veh != nil && l.veh.state != vReleased && !l.safety {
		l.c.log.Info("vehicle left the lane", "lane", l.cfg.Name, "plate", l.veh.plate, "state", l.veh.state.String())
		l.veh = nil
	}
	l.maybeClose(ctx)
}

func (l *lane) onSafety(ctx context.Context, ev hal.LoopEvent) {
	if ev.Stuck {
		l.c.audit("fault", l.cfg.Code, "%s: safety loop occupied for too long", l.cfg.Name)
		return
	}
	l.safety = ev.Occupied
	l.note(func(*laneStatus) { l.since[1] = ev.At })
	if ev.Occupied {
		if l.veh != nil && l.veh.state == vReleased {
			l.veh.passing = true
		}
		// A vehicle under a closing (or closed while commanded up)
		// barrier: raise it again.
		if st := l.cfg.Barrier.State(); st == hal.BarrierClosing || (st == hal.BarrierStopped && !l.wantUp) {
			l.c.audit("barrier", l.cfg.Code, "%s: re-open: vehicle on the safety loop while %s", l.cfg.Name, st)
			l.raise(ctx, "vehicle under closing barrier")
		}
		return
	}
	if l.veh != nil && l.veh.state == vReleased && l.veh.passing {
		l.c.log.Info("vehicle passed", "lane", l.cfg.Name, "plate", l.veh.plate)
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
			l.veh = &vehicle{at: l.c.now(), state: vIdentifying}
			if err := l.cfg.Camera.Trigger(ctx); err != nil {
				l.c.log.Warn("camera trigger", "lane", l.cfg.Name, "err", err)
			}
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
		l.c.log.Error("barrier open", "lane", l.cfg.Name, "why", why, "err", err)
		l.c.audit("fault", l.cfg.Code, "%s: barrier open failed: %v", l.cfg.Name, err)
		return
	}
	l.c.log.Info("barrier up", "lane", l.cfg.Name, "why", why)
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
		l.c.log.Error("barrier close", "lane", l.cfg.Name, "err", err)
		l.c.audit("fault", l.cfg.Code, "%s: barrier close failed: %v", l.cfg.Name, err)
		return
	}
	l.c.log.Info("barrier down", "lane", l.cfg.Name, "why", why)
}

func (l *lane) armPassTimer() {
	if l.passTimer != nil {
		l.passTimer.Stop()
	}
	l.passTimer = l.c.clk.NewTimer(l.c.cfg.PassTimeout)
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
		l.c.audit("barrier", l.cfg.Code, "%s: released vehicle %s did not pass within %s", l.cfg.Name, l.veh.plate, l.c.cfg.PassTimeout)
		l.veh = nil
	}
	l.lower(ctx, "pass timeout")
}

func (l *lane) onBarrier(ev hal.BarrierEvent) {
	if ev.Fault != "" {
		l.note(func(s *laneStatus) { s.LastFault = ev.At.Format(time.RFC3339) + " " + ev.Fault })
		l.c.log.Warn("barrier fault", "lane", l.cfg.Name, "fault", ev.Fault)
		l.c.audit("fault", l.cfg.Code, "%s: barrier: %s", l.cfg.Name, ev.Fault)
	}
}

// ---- camera ----

func (l *lane) onCamera(ctx context.Context, ev hal.PlateEvent) {
	l.note(func(s *laneStatus) {
		if len(l.frames) == keepFrames {
			l.frames = append(l.frames[:0], l.frames[1:]...)
		}
		l.frames = append(l.frames, ev)
		s.LastEvent = ev.At
		s.CameraFrame = fmt.Sprintf("%s %s %s conf %d", ev.At.Format(time.RFC3339), ev.Kind, ev.Plate, ev.Conf)
	})
	switch ev.Kind {
	case hal.KindOffline:
		l.c.log.Warn("camera offline", "lane", l.cfg.Name, "detail", ev.Detail)
		l.c.audit("fault", l.cfg.Code, "%s: camera offline: %s", l.cfg.Name, ev.Detail)
		return
	case hal.KindOnline:
		l.c.log.Info("camera online", "lane", l.cfg.Name)
		return
	case hal.KindHeartbeat:
		if ev.Status != 0 {
			l.c.audit("fault", l.cfg.Code, "%s: camera reports fault %d", l.cfg.Name, ev.Status)
		}
		return
	case hal.KindPlate, hal.KindNoPlate:
	default:
		return
	}
	if ev.Decision != nil {
		l.decision = ev.Decision
		defer l.tellCamera()
	}
	now := l.c.now()
	if ev.Kind == hal.KindPlate {
		if v := l.veh; v != nil && v.plate == ev.Plate && v.state != vIdentifying && v.state != vNoPlate {
			return // the same car read again: decided already
		}
		if (l.veh == nil || l.veh.state == vIdentifying) && ev.Plate == l.lastPlate && now.Sub(l.lastPlateAt) < l.c.cfg.DedupeWindow {
			// The car that was just decided, seen once more (a late
			// frame): it must not become the next car's plate.
			return
		}
	}
	if l.veh != nil {
		switch l.veh.state {
		case vReleased:
			if l.safety || l.armed {
				// Released and not yet past: this is the next car in
				// the queue. Keep its read for when the lane is free.
				l.queued = &ev
				return
			}
			l.veh = nil
		case vAutoPay:
			return // a decision is under way; a re-read changes nothing
		}
	}
	if l.veh == nil {
		l.veh = &vehicle{at: now}
	}
	v := l.veh
	if ev.Kind == hal.KindNoPlate {
		if !l.cfg.Arming.Occupied() && !l.cfg.Safety.Occupied() && v.state == vIdentifying && v.plate == "" {
			l.veh = nil // nothing stands there: a capture of the empty lane
			return
		}
		if v.plate != "" && v.state != vIdentifying {
			return // a plate was read already; keep it
		}
		v.unlicensed, v.state, v.reason, v.read = true, vNoPlate, "no plate: scan the QR code", ev
		l.c.log.Info("vehicle without plate", "lane", l.cfg.Name)
		return
	}
	v.plate, v.colour, v.conf, v.unlicensed, v.read = ev.Plate, ev.Colour, ev.Conf, false, ev
	l.lastPlate, l.lastPlateAt = ev.Plate, now
	l.c.log.Info("plate", "lane", l.cfg.Name, "plate", ev.Plate, "colour", ev.Colour, "conf", ev.Conf)
	if l.cfg.Kind == Entry {
		l.decideEntry(ctx)
	} else {
		l.decideExit(ctx)
	}
	l.decided = true
}

// justStarted: no plate decided since the lane started, a pass timeout
// ago at most. A vehicle read now may be one whose decision was committed
// by the previous process, which stopped before the barrier moved.
func (l *lane) justStarted() bool {
	return !l.decided && l.c.now().Sub(l.startedAt) < l.c.cfg.PassTimeout
}

// reRaise lets out a vehicle whose decision committed before a restart
// (record recID) but whose barrier never moved.
func (l *lane) reRaise(ctx context.Context, recID, what string) {
	v := l.veh
	v.recordID, v.state, v.reason = recID, vReleased, what+" before a restart"
	l.c.log.Warn("decision committed before a restart: barrier raised again", "lane", l.cfg.Name, "plate", v.plate, "record", recID)
	l.c.audit("barrier", l.cfg.Code, "%s: re-open for %s (record %s): %s before a restart", l.cfg.Name, v.plate, recID, what)
	l.raise(ctx, v.reason)
}

// ---- entry ----

func (l *lane) refuse(why string) {
	l.veh.state, l.veh.reason = vRefused, why
	l.c.log.Info("entry refused", "lane", l.cfg.Name, "plate", l.veh.plate, "why", why)
	l.c.audit("refused", l.cfg.Code, "%s: %s refused: %s", l.cfg.Name, l.veh.plate, why)
}

func (l *lane) decideEntry(ctx context.Context) {
	v := l.veh
	now := l.c.now()
	db := l.c.db
	auth := store.AuthTemporary
	if lv, err := db.LookupVehicle(v.plate, now); err == nil {
		switch lv.List {
		case store.ListBlack:
			l.refuse("blacklisted")
			return
		case store.ListVIP, store.ListMonthly:
			auth = store.AuthVIP
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		l.fail("vehicle lists", err)
		return
	}
	stale, err := db.OpenByPlate(v.plate)
	hasStale := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.fail("open record by plate", err)
		return
	}
	if hasStale && l.justStarted() && stale.InCode == l.cfg.Code && stale.State == store.StateInside && now.Sub(stale.InTime) < l.c.cfg.PassTimeout {
		l.reRaise(ctx, stale.ID, "admitted")
		return
	}
	if hasStale && !l.c.cfg.ReplaceStale {
		l.refuse("already inside (record " + stale.ID + ")")
		return
	}
	if auth == store.AuthTemporary && !hasStale {
		sc, err := l.c.spaces()
		if err != nil {
			l.fail("spaces", err)
			return
		}
		if sc.TmpEmpty <= 0 {
			l.refuse("car park full")
			return
		}
	}
	l.admit(ctx, auth, hasStale, stale)
}

// admit opens the record and its Indata in one transaction, then raises
// the barrier.
func (l *lane) admit(ctx context.Context, auth int, hasStale bool, stale store.Record) {
	v := l.veh
	now := l.c.now()
	db := l.c.db
	class := tariff.Classify(v.plate, v.colour)
	rec := store.Record{
		ID: db.NewRecordID(now, l.cfg.Code), Plate: v.plate, PlateColor: v.colour, // unknown stays unknown: never sent as blue
		CarType: readCarType(class, l.c.tariff.Load().IsMilitaryPolice(v.plate), v.read), PowerType: powerType(class),
		Unlicensed: v.unlicensed, AuthType: auth, InCode: l.cfg.Code, InTime: now, State: store.StateInside,
	}
	msgs, err := l.c.indata(rec)
	if err != nil {
		l.fail("indata", err)
		return
	}
	msgs = append(msgs, l.c.pictureMsgs(l.cfg.Name, rec.ID, cmb.FlagIn, now, v.read.Pictures)...) // behind the Indata
	// No routine "barrier" audit event here (see release): the open
	// record is the account of the entry.
	if hasStale {
		// The stale stay ends now, at no exit we saw: its Outdata carries
		// what it paid, so that the platform closes it too.
		exit := store.Exit{OutCode: stale.OutCode, OutTime: now, Fees: stale.Fees, Note: "closed as stale: the plate entered again at " + l.cfg.Name}
		if exit.OutCode == 0 {
			exit.OutCode = stale.InCode
		}
		pays, perr := db.Payments(stale.ID) // not err: the commit's error below must reach the check after the if
		if perr != nil {
			l.fail("stale payments", perr)
			return
		}
		var audits []store.Message
		exit.Items, audits = l.c.chargeItems(stale, tariff.Quote{}, pays, now)
		msgs = append(msgs, audits...)
		closed := stale
		closed.OutCode, closed.OutTime = exit.OutCode, now
		var out store.Message
		if out, err = l.c.outdata(closed, exit.Items); err != nil {
			l.fail("stale outdata", err)
			return
		}
		// The stale record's Outdata before the new Indata: they are
		// different records, but the platform sees the old stay end
		// before the new one begins.
		msgs = append([]store.Message{out}, msgs...)
		_, err = db.ReplaceStale(stale.ID, exit, rec, msgs...)
	} else {
		_, err = db.OpenRecord(rec, msgs...)
	}
	if err != nil {
		l.fail("open record", err)
		return
	}
	v.recordID, v.state, v.reason = rec.ID, vReleased, "admitted"
	l.raise(ctx, "entry "+rec.Plate)
	l.c.afterPictures()
	l.c.kick()
	l.c.markSpaces()
}

func carType(c tariff.Class, military bool) int {
	switch {
	case military:
		return int(cmb.CarMilitary)
	case c == tariff.Large:
		return int(cmb.CarLarge)
	}
	return int(cmb.CarSmall)
}

func powerType(c tariff.Class) int {
	if c == tariff.NewEnergy {
		return int(cmb.PowerElectric)
	}
	return int(cmb.PowerNormal)
}

// fail notes an internal failure (the store refused, a bug): the vehicle
// waits for a guard, and the fault is logged and audited.
func (l *lane) fail(op string, err error) {
	if l.veh != nil {
		l.veh.state, l.veh.reason = vRefused, "internal error: "+op+": "+err.Error()
	}
	l.c.log.Error("lane decision failed", "lane", l.cfg.Name, "op", op, "err", err)
	l.c.audit("fault", l.cfg.Code, "%s: %s: %v", l.cfg.Name, op, err)
}

// noVpln handles the platform's NoVpln for this entry (on the lane's
// goroutine).
func (l *lane) noVpln(ctx context.Context, virtual string) (int, string) {
	v := l.veh
	if v != nil && v.state == vReleased && v.unlicensed && v.plate == virtual {
		return 0, "" // the platform asked again: same answer, the barrier is up
	}
	if v == nil || v.state == vReleased {
		// Asked again after the vehicle went in: still admitted.
		if rec, err := l.c.db.OpenByPlate(virtual); err == nil && rec.Unlicensed && rec.InCode == l.cfg.Code && l.c.now().Sub(rec.InTime) < 10*time.Minute {
			return 0, ""
		}
	}
	switch {
	case v == nil && !l.armed:
		return 2, "no vehicle at the entry"
	case v == nil:
		l.veh = &vehicle{at: l.c.now()}
		v = l.veh
	case v.state == vReleased:
		return 2, "no vehicle waiting at the entry"
	case v.plate != "" && !v.unlicensed:
		return 1, "the entry sees a licensed vehicle: " + v.plate
	}
	v.plate, v.unlicensed, v.colour = virtual, true, hal.ColourUnknown
	stale, err := l.c.db.OpenByPlate(virtual)
	hasStale := err == nil
	if !hasStale {
		if sc, err := l.c.spaces(); err == nil && sc.TmpEmpty <= 0 {
			l.refuse("car park full")
			return cmb.NoVplnCannotAdmit, "cannot admit: car park full"
		}
	}
	l.admit(ctx, store.AuthTemporary, hasStale, stale)
	if v.state != vReleased {
		return cmb.NoVplnCannotAdmit, "cannot admit: " + v.reason
	}
	return 0, ""
}

// ---- exit ----

// lookup is what findRecord found for a read plate.
type lookup struct {
	rec       store.Record
	found     bool
	ambiguous []string // the look-alike plates inside when more than one may be the read
}

// findRecord finds the open record of a plate read with confidence conf
// (0: unknown): exact, else the one look-alike (see matchPlate), through
// the store's look-alike index; it never decodes every open record.
//
// minConf is the lane's min_confidence (0: none): a read below it is a
// misread candidate, weighed with its look-alikes even when exact.
func (c *Controller) findRecord(plate string, conf, minConf int) (lookup, error) {
	if !misread(conf, minConf) {
		rec, err := c.db.OpenByPlate(plate)
		if err == nil {
			return lookup{rec: rec, found: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return lookup{}, err
		}
	}
	near, err := c.db.OpenLookalikes(plate)
	if err != nil {
		return lookup{}, err
	}
	plates := make([]string, len(near))
	for i, r := range near {
		plates[i] = r.Plate
	}
	m, amb := matchPlate(plate, conf, minConf, plates)
	if m == "" {
		return lookup{ambiguous: amb}, nil
	}
	return lookup{rec: near[slices.Index(plates, m)], found: true}, nil
}

func (l *lane) decideExit(ctx context.Context) {
	v := l.veh
	found, err := l.c.findRecord(v.plate, v.conf, l.cfg.MinConfidence)
	if err != nil {
		l.fail("find record", err)
		return
	}
	if len(found.ambiguous) > 0 {
		// Never a guess: a wrong match would charge another driver.
		v.state, v.recordID = vUnknown, ""
		v.reason = fmt.Sprintf("plate %s may be any of %s inside: scan the exit QR code or call a guard", v.plate, strings.Join(found.ambiguous, ", "))
		l.c.log.Warn("exit: ambiguous look-alike plate", "lane", l.cfg.Name, "read", v.plate, "conf", v.conf, "candidates", found.ambiguous)
		return
	}
	if !found.found && l.justStarted() {
		// One scan of the records, once after a start: was this vehicle
		// let out just before it?
		if recs, err := l.c.db.Records(v.plate, 1); err == nil && len(recs) == 1 {
			r := recs[0]
			if r.State == store.StateClosed && r.OutCode == l.cfg.Code && l.c.now().Sub(r.OutTime) < l.c.cfg.PassTimeout {
				l.reRaise(ctx, r.ID, "released")
				return
			}
		}
	}
	if !found.found {
		v.state, v.reason, v.recordID = vUnknown, "no open record for this plate", ""
		l.c.log.Info("exit: no record", "lane", l.cfg.Name, "plate", v.plate)
		return
	}
	rec := found.rec
	if rec.Plate != v.plate {
		l.c.log.Info("exit: look-alike plate matched", "lane", l.cfg.Name, "read", v.plate, "conf", v.conf, "record", rec.Plate)
		v.plate = rec.Plate
	}
	v.recordID = rec.ID
	l.settle(ctx, rec)
}

// settle decides an exit whose record is known: free, paid, contactless or
// scan-to-pay.
func (l *lane) settle(ctx context.Context, rec store.Record) {
	v := l.veh
	now := l.c.now()
	q, err := l.c.quote(rec, l.priceAt())
	if err != nil {
		v.state, v.reason = vWaitPay, "tariff cannot price this stay"
		l.fail("quote", err)
		return
	}
	v.quote = q
	if q.Due == 0 {
		if err := l.release(ctx, rec, q, nil, "free: "+string(q.Reason)); errors.Is(err, errRepriced) {
			l.resettle(ctx, rec.ID)
		}
		return
	}
	if b, err := l.c.db.Binding(rec.Plate); err == nil && !rec.Unlicensed && q.Due <= b.Limit {
		l.autoPay(ctx, rec, q)
		return
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.c.log.Warn("binding lookup", "plate", rec.Plate, "err", err)
	}
	if rec.State != store.StateLeaving || rec.OutCode != l.cfg.Code {
		if _, err := l.c.db.MarkLeaving(rec.ID, l.cfg.Code, now); err != nil {
			l.fail("mark leaving", err)
			return
		}
	}
	v.state, v.reason = vWaitPay, fmt.Sprintf("%s due: scan the exit QR code", yuan(q.Due))
	l.c.log.Info("exit: waiting for payment", "lane", l.cfg.Name, "plate", rec.Plate, "due_fen", q.Due)
}

// priceAt is the time an exit is priced at: when the vehicle arrived at
// the exit. Waiting at the barrier (for a contactless answer, for the
// driver to find the phone) is not parking.
func (l *lane) priceAt() time.Time {
	now := l.c.now()
	if v := l.veh; v != nil && !v.at.IsZero() && v.at.Before(now) {
		return v.at
	}
	return now
}

func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d yuan", sign, fen/100, fen%100)
}

// settleAfterPayment re-quotes a waiting vehicle after money arrived.
func (l *lane) settleAfterPayment(ctx context.Context, rec store.Record, why string) {
	v := l.veh
	q, err := l.c.quote(rec, l.priceAt())
	if err != nil {
		l.fail("quote", err)
		return
	}
	v.quote = q
	if q.Due == 0 {
		if err := l.release(ctx, rec, q, nil, why); errors.Is(err, errRepriced) {
			l.resettle(ctx, rec.ID)
		}
		return
	}
	v.state, v.reason = vWaitPay, fmt.Sprintf("%s still due: scan the exit QR code", yuan(q.Due))
}

// ---- payments and manual control ----

// paid is called on the lane's goroutine after a pay notice for recordID.
func (l *lane) paid(ctx context.Context, recordID string) {
	v := l.veh
	if v == nil || v.recordID != recordID || (v.state != vWaitPay && v.state != vUnknown) {
		return
	}
	rec, err := l.c.db.RecordByID(recordID)
	if err != nil {
		l.fail("record", err)
		return
	}
	if !rec.State.Open() {
		return
	}
	l.settleAfterPayment(ctx, rec, "paid by scan")
}

// manualOpen raises the barrier by a guard's or technician's decision. At
// an exit, a vehicle that still owes is let out as pay_type 8 (manual
// free opening); at an entry, a read vehicle gets its record.
func (l *lane) manualOpen(ctx context.Context, who, reason string) error {
	v := l.veh
	now := l.c.now()
	if l.cfg.Kind == Exit && v != nil && v.recordID != "" && v.state != vReleased {
		rec, err := l.c.db.RecordByID(v.recordID)
		if err == nil && rec.State.Open() {
			if v.order != "" {
				l.c.forgetAutoPay(v.order)
			}
			why := "manual open by " + who + ": " + reason
			audit := l.c.auditMsg("manual_open", l.cfg.Code, "%s: %s opened for %s: %s", l.cfg.Name, who, rec.Plate, reason)
			// A payment arriving while this is decided reprices the stay:
			// decide again with it (a bounded number of times).
			var q tariff.Quote
			var extra []store.ChargeItem
			for range 3 {
				var qerr error
				q, qerr = l.c.quote(rec, l.priceAt())
				if qerr != nil {
					q = tariff.Quote{Total: rec.Fees.Total, Paid: rec.Fees.Paid, Due: rec.Fees.Due}
				}
				extra = nil
				if q.Due > 0 {
					extra = append(extra, store.ChargeItem{PayType: int(cmb.PayManualFree), TollCollector: who, ShouldPay: q.Due, Time: now, SeqNum: rec.ID + "M"})
				}
				if err = l.release(ctx, rec, q, extra, why, audit); !errors.Is(err, errRepriced) {
					break
				}
			}
			if err == nil {
				return nil
			}
			// The store refused the close (or the fee kept changing): the
			// barrier rises all the same; the close and its audit wait in
			// memory until the store takes them.
			l.c.holdCommit(l.cfg.Name, "close of record "+rec.ID+" ("+rec.Plate+")", err, l.closeHeld(rec, q, extra, why, audit))
			v.state, v.reason, v.recordID = vReleased, why+" (record close pending: the store refused it)", rec.ID
			l.raise(ctx, "exit "+rec.Plate+": "+why)
			l.c.kick()
			l.c.markSpaces()
			return nil
		}
	}
	if l.cfg.Kind == Entry && v != nil && v.plate != "" && v.state == vRefused {
		stale, err := l.c.db.OpenByPlate(v.plate)
		l.c.auditOrHold(l.cfg.Name, "manual_open", l.cfg.Code, "%s: %s admitted %s: %s", l.cfg.Name, who, v.plate, reason)
		l.admit(ctx, store.AuthTemporary, err == nil, stale)
		if v.state == vReleased {
			return nil
		}
	}
	l.c.auditOrHold(l.cfg.Name, "manual_open", l.cfg.Code, "%s: %s opened the barrier: %s", l.cfg.Name, who, reason)
	if v != nil {
		v.state, v.reason = vReleased, "manual open"
	} else if l.armed || l.safety {
		l.veh = &vehicle{at: now, state: vReleased, reason: "manual open"}
	}
	l.raise(ctx, "manual: "+reason)
	return nil
}

func (l *lane) manualClose(ctx context.Context, who, reason string) error {
	if l.safety || l.cfg.Safety.Occupied() {
		return errors.New("the safety loop is occupied: a vehicle is under the barrier")
	}
	l.c.audit("manual_close", l.cfg.Code, "%s: %s closed the barrier: %s", l.cfg.Name, who, reason)
	if l.veh != nil && l.veh.state == vReleased {
		l.veh = nil
	}
	l.wantUp = true // so that lower acts
	l.lower(ctx, "manual: "+reason)
	return nil
}

// shiftTimes applies a clock fix-up to what the lane remembers (on the
// lane's goroutine).
func (l *lane) shiftTimes(moved func(time.Time) time.Time) {
	if v := l.veh; v != nil {
		v.at = moved(v.at)
	}
	l.lastPlateAt = moved(l.lastPlateAt)
}

// exitState tells calc what stands at this exit (on the lane's goroutine).
type exitState struct {
	present    bool
	unlicensed bool
	plate      string
	recordID   string
	since      time.Time // when it arrived at the exit: the time it is priced at
}

func (l *lane) exitSnapshot() exitState {
	v := l.veh
	if v == nil || v.state == vReleased || v.state == vIdentifying {
		return exitState{}
	}
	return exitState{present: true, unlicensed: v.unlicensed, plate: v.plate, recordID: v.recordID, since: l.priceAt()}
}

// bindUnlicensed attaches an unlicensed vehicle waiting at the exit to the
// record of its virtual plate, so that the pay notice opens the barrier.
func (l *lane) bindUnlicensed(ctx context.Context, rec store.Record, q tariff.Quote) {
	v := l.veh
	if v == nil || !v.unlicensed || v.state == vReleased {
		return
	}
	v.plate, v.recordID, v.quote = rec.Plate, rec.ID, q
	if _, err := l.c.db.MarkLeaving(rec.ID, l.cfg.Code, l.c.now()); err != nil {
		l.c.log.Warn("mark leaving", "record", rec.ID, "err", err)
	}
	if q.Due == 0 {
		if err := l.release(ctx, rec, q, nil, "unlicensed, nothing due"); errors.Is(err, errRepriced) {
			l.resettle(ctx, rec.ID)
		}
		return
	}
	v.state, v.reason = vWaitPay, fmt.Sprintf("%s due: pay on the phone", yuan(q.Due))
}
