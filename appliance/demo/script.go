package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/edge/console"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"
)

// settle waits until the lanes have handled every event and result.
func (d *demo) settle(ctx context.Context) error {
	for range 3 {
		if err := settleOnce(ctx, d.ctl, d.lanes...); err != nil {
			return err
		}
	}
	return nil
}

// settleOnce waits until lanes are idle, ctl has synced and its displays
// have settled: once (a result may start more work: callers repeat it).
func settleOnce(ctx context.Context, ctl *edge.Controller, lanes ...*sim.Lane) error {
	for _, l := range lanes {
		if err := waitUntil(ctx, l.Idle); err != nil {
			return err
		}
	}
	if err := ctl.Sync(ctx); err != nil {
		return err
	}
	return waitUntil(ctx, ctl.DisplaysSettled)
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
	if err := advanceTo(d.clk, d.zone, hhmm); err != nil {
		return err
	}
	d.ctl.Kick()
	return d.settle(ctx)
}

// advanceTo moves clk on to hh:mm of its day in zone, a minute at a time,
// so that timers fire in order.
func advanceTo(clk *clock.Fake, zone *time.Location, hhmm string) error {
	t, err := time.ParseInLocation("15:04", hhmm, zone)
	if err != nil {
		return err
	}
	now := clk.Now().In(zone)
	target := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, zone)
	for now.Before(target) {
		clk.Advance(min(target.Sub(now), time.Minute))
		now = clk.Now().In(zone)
	}
	return nil
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
	return d.mustPass(ctx, d.entry, "entry1", plate, "in")
}

func (d *demo) mustLeave(ctx context.Context, plate string) error {
	return d.mustPass(ctx, d.exit, "exit1", plate, "out")
}

// mustPass drives plate through lane l (named name) and fails unless it
// was let through (let "in" or "out").
func (d *demo) mustPass(ctx context.Context, l *sim.Lane, name, plate, way string) error {
	ok, err := d.drive(ctx, l, plate)
	if err == nil && !ok {
		_, state, _ := d.ctl.LaneState(name)
		err = fmt.Errorf("demo: %s was not let %s (%s)", plate, way, state)
	}
	return err
}
