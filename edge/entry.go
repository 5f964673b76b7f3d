package edge

import (
	"context"
	"errors"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/hal"
	"laned/store"
)

// Entries: a read plate is admitted (its record opened with its Indata in
// one transaction, then the barrier raised) or refused for a guard to
// decide; the platform's NoVpln admits an unlicensed vehicle.

func (l *lane) refuse(why string) {
	l.veh.state, l.veh.reason = vRefused, why
	l.log.Info("entry refused", "lane", l.cfg.Name, "plate", l.veh.plate, "why", why)
	l.aud.audit("refused", l.cfg.Code, "%s: %s refused: %s", l.cfg.Name, l.veh.plate, why)
}

func (l *lane) decideEntry(ctx context.Context) {
	v := l.veh
	now := l.clk.Now()
	db := l.db
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
	if hasStale && l.justStarted() && stale.InCode == l.cfg.Code && stale.State == store.StateInside && now.Sub(stale.InTime) < l.rules.passTimeout {
		l.reRaise(ctx, stale.ID, "admitted")
		return
	}
	// Anti-passback, on this box's own records only: another box's open
	// record may have left by an exit this box has not heard of (a site's
	// partition); it is closed as stale, as with replace_stale (admit).
	if hasStale && !l.rules.replaceStale && !l.rules.site.otherBox(stale.ID) {
		l.refuse("already inside (record " + stale.ID + ")")
		return
	}
	if auth == store.AuthTemporary && !hasStale {
		sc, err := l.hub.spaces()
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
	now := l.clk.Now()
	db := l.db
	class := tariff.Classify(v.plate, v.colour)
	rec := store.Record{
		ID: db.NewRecordID(now, l.cfg.Code), Plate: v.plate, PlateColor: v.colour, // unknown stays unknown: never sent as blue
		CarType: readCarType(class, l.price.military(v.plate), v.read), PowerType: powerType(class),
		Unlicensed: v.unlicensed, AuthType: auth, InCode: l.cfg.Code, InTime: now, State: store.StateInside,
	}
	msgs, err := l.up.indata(rec)
	if err != nil {
		l.fail("indata", err)
		return
	}
	msgs = append(msgs, l.up.pictureMsgs(l.cfg.Name, rec.ID, cmb.FlagIn, now, v.read.Pictures)...) // behind the Indata
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
		exit.Items, audits = l.price.chargeItems(stale, tariff.Quote{}, pays, now)
		msgs = append(msgs, audits...)
		closed := stale
		closed.OutCode, closed.OutTime = exit.OutCode, now
		var out store.Message
		if out, err = l.up.outdata(closed, exit.Items); err != nil {
			l.fail("stale outdata", err)
			return
		}
		// The stale record's Outdata before the new Indata: they are
		// different records, but the platform sees the old stay end
		// before the new one begins. A no-entry record (a site's exit
		// whose driver drove off unpaid) sends nothing: it waits for its
		// entry or its hold limit (noentry.go).
		if stale.NoEntry == nil {
			msgs = append([]store.Message{out}, msgs...)
		}
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
	l.up.afterPictures()
	l.hub.kick()
	l.hub.markSpaces()
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

// noVpln handles the platform's NoVpln for this entry (on the lane's
// goroutine).
func (l *lane) noVpln(ctx context.Context, virtual string) (int, string) {
	v := l.veh
	if v != nil && v.state == vReleased && v.unlicensed && v.plate == virtual {
		return cmb.StatusOK, "" // the platform asked again: same answer, the barrier is up
	}
	if v == nil || v.state == vReleased {
		// Asked again after the vehicle went in: still admitted.
		if rec, err := l.db.OpenByPlate(virtual); err == nil && rec.Unlicensed && rec.InCode == l.cfg.Code && l.clk.Now().Sub(rec.InTime) < 10*time.Minute {
			return cmb.StatusOK, ""
		}
	}
	switch {
	case v == nil && !l.armed:
		return cmb.NoVplnNoVehicle, "no vehicle at the entry"
	case v == nil:
		l.veh = &vehicle{at: l.clk.Now()}
		v = l.veh
	case v.state == vReleased:
		return cmb.NoVplnNoVehicle, "no vehicle waiting at the entry"
	case v.plate != "" && !v.unlicensed:
		return cmb.NoVplnLicensed, "the entry sees a licensed vehicle: " + v.plate
	}
	v.plate, v.unlicensed, v.colour = virtual, true, hal.ColourUnknown
	stale, err := l.db.OpenByPlate(virtual)
	hasStale := err == nil
	if !hasStale {
		if sc, err := l.hub.spaces(); err == nil && sc.TmpEmpty <= 0 {
			l.refuse("car park full")
			return cmb.NoVplnCannotAdmit, "cannot admit: car park full"
		}
	}
	l.admit(ctx, store.AuthTemporary, hasStale, stale)
	if v.state != vReleased {
		return cmb.NoVplnCannotAdmit, "cannot admit: " + v.reason
	}
	return cmb.StatusOK, ""
}
