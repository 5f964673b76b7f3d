package edge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// The exit as one decision: the record, its payments and the price are
// read, and the record closed with its Outdata, in one store transaction
// (store.Settle). A pay notice that commits meanwhile is either in the fee
// and the Outdata, or recorded as a payment after the exit.

// errRepriced: in the closing transaction the stay no longer cost what
// the decision was made for (a payment arrived meanwhile): nothing was
// closed; decide again.
var errRepriced = errors.New("the fee changed while the exit was decided")

// release closes the record, with its Outdata, extra charge items (a
// contactless charge, a manual opening) and msgs, in one transaction, then
// raises the barrier. q is the quote the decision was made on: the stay is
// priced again in the transaction, and if its due changed meanwhile
// nothing is closed and errRepriced is returned (the caller decides
// again). Any other failure is noted on the lane and returned.
func (l *lane) release(ctx context.Context, rec store.Record, q tariff.Quote, extra []store.ChargeItem, why string, msgs ...store.Message) error {
	return l.releasePaid(ctx, rec, q, extra, nil, why, msgs...)
}

// releasePaid is release; paid, if set, is an AutoPay's outcome the
// closing transaction records (store.SettleAutoPaid).
func (l *lane) releasePaid(ctx context.Context, rec store.Record, q tariff.Quote, extra []store.ChargeItem, paid *store.AutoPaid, why string, msgs ...store.Message) error {
	v := l.veh
	now := l.clk.Now()
	at := l.priceAt()
	vip := l.price.vipAt(rec, at)
	arrears, err := l.price.arrearsFor(rec)
	if err != nil {
		l.fail("arrears", err)
		return err
	}
	var used tariff.Quote
	var pics []store.Message
	if v != nil && v.read.Pictures != nil && v.plate == rec.Plate {
		pics = l.up.pictureMsgs(l.cfg.Name, rec.ID, cmb.FlagOut, now, v.read.Pictures) // behind the Outdata
	}
	fn := l.settleExit(q, extra, msgs, now, at, vip, arrears, pics, true, &used)
	if paid != nil {
		_, err = l.db.SettleAutoPaid(rec.ID, *paid, fn)
	} else {
		_, err = l.db.Settle(rec.ID, fn)
	}
	if errors.Is(err, errRepriced) {
		l.log.Info("exit: repriced in the closing transaction", "lane", l.cfg.Name, "record", rec.ID, "err", err)
		return err
	}
	if err != nil {
		l.fail("close record", err)
		return err
	}
	if v != nil {
		v.quote = used
		v.state, v.reason, v.recordID = vReleased, why, rec.ID
	}
	l.raise(ctx, "exit "+rec.Plate+": "+why)
	l.hub.kick()
	l.hub.markSpaces()
	return nil
}

// settleExit prices and builds an exit inside the closing transaction,
// collecting the plate's arrears with it.
// strict: a due other than q's is errRepriced (a lane's decision); else
// the exit is closed as decided whatever the due now (a manual opening
// held while the store refused it). used, if set, receives the quote.
// pics are the exit's PicUploads, queued behind its Outdata.
func (l *lane) settleExit(q tariff.Quote, extra []store.ChargeItem, msgs []store.Message, now, at time.Time, vip bool, arrears []store.Arrear, pics []store.Message, strict bool, used *tariff.Quote) store.SettleFunc {
	return func(r store.Record, pays []store.Payment) (store.Exit, []store.Message, error) {
		fq, err := l.price.quoteFrom(r, pays, at, vip)
		if err != nil {
			// The tariff cannot price the stay (a reload broke a class):
			// the decision's own quote stands, e.g. a guard's opening.
			fq = q
		} else {
			fq = addArrears(fq, arrears)
		}
		if strict && fq.Due != q.Due {
			return store.Exit{}, nil, fmt.Errorf("%w: %d fen due, decided on %d", errRepriced, fq.Due, q.Due)
		}
		if used != nil {
			*used = fq
		}
		items, audits := l.price.chargeItems(r, fq, pays, now)
		items = append(items, extra...)
		items, collected := l.price.arrearsItems(r, fq, items, now)
		fees := store.Fees{Total: fq.Total, Paid: fq.Paid}
		for _, it := range extra {
			fees.Paid += it.ActualPay
		}
		if waived := fq.Total - fees.Paid; waived > 0 {
			fees.Discount = waived
		}
		r.OutCode, r.OutTime = l.cfg.Code, now
		all := append(append([]store.Message(nil), msgs...), audits...)
		if r.NoEntry != nil {
			// Nothing of a no-entry record is sent while it waits for its
			// entry (noentry.go).
			return store.Exit{OutCode: l.cfg.Code, OutTime: now, Fees: fees, Items: items, Collected: collected}, all, nil
		}
		out, err := l.up.outdata(r, items)
		if err != nil {
			return store.Exit{}, nil, err
		}
		// No routine "barrier" audit event: the closed record is the
		// durable account of the exit and raise logs why; an event would
		// cost the commit the barrier waits on its own pages (the ring's
		// leaf and branches). Exceptions (manual openings, corrections)
		// come with msgs and audits and are kept.
		all = append(all, out)
		all = append(all, pics...)
		return store.Exit{OutCode: l.cfg.Code, OutTime: now, Fees: fees, Items: items, Collected: collected}, all, nil
	}
}

// resettle decides again for the vehicle at the exit after a repricing,
// at most a few times in a row (each one means a payment committed just
// then; more is a bug, and the vehicle waits for a guard).
func (l *lane) resettle(ctx context.Context, id string) {
	if l.resettles >= 3 {
		l.fail("settle", fmt.Errorf("record %s: repriced %d times in a row", id, l.resettles))
		return
	}
	rec, ok := l.openRecord(id)
	if !ok {
		return
	}
	l.resettles++
	defer func() { l.resettles-- }()
	l.settle(ctx, rec)
}

func (l *lane) decideExit(ctx context.Context) {
	v := l.veh
	found, err := l.price.findRecord(v.plate, v.conf, l.cfg.MinConfidence)
	if err != nil {
		l.fail("find record", err)
		return
	}
	if len(found.ambiguous) > 0 {
		// Never a guess: a wrong match would charge another driver.
		v.state, v.recordID = vUnknown, ""
		v.reason = fmt.Sprintf("plate %s may be any of %s inside: scan the exit QR code or call a guard", v.plate, strings.Join(found.ambiguous, ", "))
		l.log.Warn("exit: ambiguous look-alike plate", "lane", l.cfg.Name, "read", v.plate, "conf", v.conf, "candidates", found.ambiguous)
		return
	}
	if !found.found && l.justStarted() {
		// One scan of the records, once after a start: was this vehicle
		// let out just before it?
		if recs, err := l.db.Records(v.plate, 1); err == nil && len(recs) == 1 {
			r := recs[0]
			if r.State == store.StateClosed && r.OutCode == l.cfg.Code && l.clk.Now().Sub(r.OutTime) < l.rules.passTimeout {
				l.reRaise(ctx, r.ID, "released")
				return
			}
		}
	}
	if !found.found && l.rules.site.Enabled {
		l.noEntryExit(ctx) // a site's lane decides alone
		return
	}
	if !found.found {
		v.state, v.reason, v.recordID = vUnknown, "no open record for this plate", ""
		l.log.Info("exit: no record", "lane", l.cfg.Name, "plate", v.plate)
		return
	}
	rec := found.rec
	if rec.Plate != v.plate {
		l.log.Info("exit: look-alike plate matched", "lane", l.cfg.Name, "read", v.plate, "conf", v.conf, "record", rec.Plate)
		v.plate = rec.Plate
	}
	v.recordID = rec.ID
	l.settle(ctx, rec)
}

// settle decides an exit whose record is known: free, paid, contactless or
// scan-to-pay.
func (l *lane) settle(ctx context.Context, rec store.Record) {
	v := l.veh
	now := l.clk.Now()
	q, err := l.price.quote(rec, l.priceAt())
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
	if l.awaitQueuedAutoPay(ctx, rec) {
		return
	}
	if b, err := l.db.Binding(rec.Plate); err == nil && !rec.Unlicensed && q.Due <= b.Limit {
		l.autoPay(ctx, rec, q)
		return
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.log.Warn("binding lookup", "plate", rec.Plate, "err", err)
	}
	if rec.State != store.StateLeaving || rec.OutCode != l.cfg.Code {
		if _, err := l.db.MarkLeaving(rec.ID, l.cfg.Code, now); err != nil {
			l.fail("mark leaving", err)
			return
		}
	}
	v.state, v.reason = vWaitPay, fmt.Sprintf("%s due: scan the exit QR code", yuan(q.Due))
	l.log.Info("exit: waiting for payment", "lane", l.cfg.Name, "plate", rec.Plate, "due_fen", q.Due)
}

// priceAt is the time an exit is priced at: when the vehicle arrived at
// the exit. Waiting at the barrier (for a contactless answer, for the
// driver to find the phone) is not parking.
func (l *lane) priceAt() time.Time {
	now := l.clk.Now()
	if v := l.veh; v != nil && !v.at.IsZero() && v.at.Before(now) {
		return v.at
	}
	return now
}

func yuan(fen int64) string { return fenText(fen) + " yuan" }

// settleAfterPayment re-quotes a waiting vehicle after money arrived.
func (l *lane) settleAfterPayment(ctx context.Context, rec store.Record, why string) {
	v := l.veh
	q, err := l.price.quote(rec, l.priceAt())
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

// paid is called on the lane's goroutine after a pay notice for recordID.
func (l *lane) paid(ctx context.Context, recordID string) {
	v := l.veh
	if v == nil || v.recordID != recordID || (v.state != vWaitPay && v.state != vUnknown) {
		return
	}
	rec, ok := l.openRecord(recordID)
	if !ok {
		return
	}
	l.settleAfterPayment(ctx, rec, "paid by scan")
}

// openRecord reads a record the lane decides on; false when it is closed
// (nothing to decide) or cannot be read (the lane failed).
func (l *lane) openRecord(id string) (store.Record, bool) {
	rec, err := l.db.RecordByID(id)
	if err != nil {
		l.fail("record", err)
		return rec, false
	}
	return rec, rec.State.Open()
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
	if _, err := l.db.MarkLeaving(rec.ID, l.cfg.Code, l.clk.Now()); err != nil {
		l.log.Warn("mark leaving", "record", rec.ID, "err", err)
	}
	if q.Due == 0 {
		if err := l.release(ctx, rec, q, nil, "unlicensed, nothing due"); errors.Is(err, errRepriced) {
			l.resettle(ctx, rec.ID)
		}
		return
	}
	v.state, v.reason = vWaitPay, fmt.Sprintf("%s due: pay on the phone", yuan(q.Due))
}
