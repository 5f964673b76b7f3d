package edge

import (
	"context"
	"errors"
	"fmt"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// A person's decisions at a lane (a guard, a technician at the console):
// open and close the barrier, audited. An opening moves the barrier even
// when the store refuses the commit (held.go).

// manualOpen raises the barrier by a guard's or technician's decision. At
// an exit, a vehicle that still owes is let out as pay_type 8 (manual
// free opening); at an entry, a read vehicle gets its record.
func (l *lane) manualOpen(ctx context.Context, who, reason string) error {
	v := l.veh
	now := l.clk.Now()
	if l.cfg.Kind == Exit && v != nil && v.recordID != "" && v.state != vReleased {
		rec, err := l.db.RecordByID(v.recordID)
		if err == nil && rec.State.Open() {
			if v.order != "" {
				l.pays.forgetAutoPay(v.order)
			}
			why := "manual open by " + who + ": " + reason
			audit := l.aud.auditMsg("manual_open", l.cfg.Code, "%s: %s opened for %s: %s", l.cfg.Name, who, rec.Plate, reason)
			// A payment arriving while this is decided reprices the stay:
			// decide again with it (a bounded number of times).
			var q tariff.Quote
			var extra []store.ChargeItem
			for range 3 {
				var qerr error
				q, qerr = l.price.quote(rec, l.priceAt())
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
			l.aud.holdCommit(l.cfg.Name, "close of record "+rec.ID+" ("+rec.Plate+")", err, l.closeHeld(rec, q, extra, why, audit))
			v.state, v.reason, v.recordID = vReleased, why+" (record close pending: the store refused it)", rec.ID
			l.raise(ctx, "exit "+rec.Plate+": "+why)
			l.hub.kick()
			l.hub.markSpaces()
			return nil
		}
	}
	if l.cfg.Kind == Entry && v != nil && v.plate != "" && v.state == vRefused {
		stale, err := l.db.OpenByPlate(v.plate)
		l.aud.auditOrHold(l.cfg.Name, "manual_open", l.cfg.Code, "%s: %s admitted %s: %s", l.cfg.Name, who, v.plate, reason)
		l.admit(ctx, store.AuthTemporary, err == nil, stale)
		if v.state == vReleased {
			return nil
		}
	}
	l.aud.auditOrHold(l.cfg.Name, "manual_open", l.cfg.Code, "%s: %s opened the barrier: %s", l.cfg.Name, who, reason)
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
	l.aud.audit("manual_close", l.cfg.Code, "%s: %s closed the barrier: %s", l.cfg.Name, who, reason)
	if l.veh != nil && l.veh.state == vReleased {
		l.veh = nil
	}
	l.wantUp = true // so that lower acts
	l.lower(ctx, "manual: "+reason)
	return nil
}

// ErrNoLane: no lane of that name.
var ErrNoLane = errors.New("no such lane")

// ManualOpen raises a lane's barrier by a person's decision (who, with a
// reason), audited; a vehicle that owes at an exit leaves as pay_type 8.
func (c *Controller) ManualOpen(ctx context.Context, laneName, who, reason string) error {
	return c.manual(ctx, "open", laneName, reason, func(lctx context.Context, l *lane) error { return l.manualOpen(lctx, who, reason) })
}

// ManualClose lowers a lane's barrier by a person's decision, unless a
// vehicle stands under it.
func (c *Controller) ManualClose(ctx context.Context, laneName, who, reason string) error {
	return c.manual(ctx, "close", laneName, reason, func(lctx context.Context, l *lane) error { return l.manualClose(lctx, who, reason) })
}

// manual runs a person's decision (op) on the named lane's goroutine.
func (c *Controller) manual(ctx context.Context, op, laneName, reason string, decide func(lctx context.Context, l *lane) error) error {
	if reason == "" {
		return fmt.Errorf("edge: manual %s: a reason is required", op)
	}
	l, ok := c.byName[laneName]
	if !ok {
		return fmt.Errorf("edge: manual %s: %q: %w", op, laneName, ErrNoLane)
	}
	var err error
	// ctx bounds the caller's wait only: the barrier moves under the
	// lane's own context even if the console session ends meanwhile.
	if derr := l.act(ctx, func(lctx context.Context) { err = decide(lctx, l) }); derr != nil {
		return derr
	}
	return err
}

// closeHeld is the commit of a record's close held by a manual open (on
// the lane's goroutine: the exit's times are the decision's): done when it
// commits, or when the record was closed meanwhile.
func (l *lane) closeHeld(rec store.Record, q tariff.Quote, extra []store.ChargeItem, why string, audit store.Message) func() error {
	now, at := l.clk.Now(), l.priceAt()
	return func() error {
		vip := l.price.vipAt(rec, at)
		arrears, err := l.price.arrearsFor(rec)
		if err != nil {
			return err
		}
		_, err = l.db.Settle(rec.ID, l.settleExit(q, extra, []store.Message{audit}, now, at, vip, arrears, nil, false, nil))
		if errors.Is(err, store.ErrRecordClosed) {
			l.log.Warn("held close: the record was closed meanwhile; its Outdata is not sent again", "record", rec.ID)
			return nil
		}
		return err
	}
}
