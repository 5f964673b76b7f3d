package edge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// Contactless (无感) exits. In both of the platform's modes the lane
// releases a contactless vehicle on the AutoPay answer status 0, never on
// the request (spec §4, guaranteed mode): guaranteed (保付) only answers
// sooner. The CMB charge item exists only once the payment is recorded from
// that answer. A refusal falls back to scan-to-pay; no answer within
// AutoPayWait falls back to scan-to-pay too, or, with OfflineRelease, lets
// the vehicle out with its fee owed (releaseOwed), settled when the
// outcome is known (settleOwed): paid, or an arrears on the plate.

// autoPay queues the AutoPay for the vehicle at the exit and waits for its
// answer.
func (l *lane) autoPay(ctx context.Context, rec store.Record, q tariff.Quote) {
	now := l.clk.Now()
	b, err := l.db.Binding(rec.Plate)
	if err != nil {
		l.fail("binding", err)
		return
	}
	order := l.up.newRequestOrder(rec.ID)
	m, err := l.up.autoPayMsg(rec, q.Due, order, b.PostURL)
	if err != nil {
		l.fail("autopay", err)
		return
	}
	l.pays.awaitAutoPay(order, rec.ID, l)
	if _, err := l.db.MarkLeaving(rec.ID, l.cfg.Code, now, m); err != nil {
		l.pays.forgetAutoPay(order)
		l.fail("queue autopay", err)
		return
	}
	l.waitAutoPay(order, q.Due, b.Limit)
	l.log.Info("exit: contactless payment queued", "lane", l.cfg.Name, "plate", rec.Plate, "due_fen", q.Due, "request_order", order, "post_url", m.URL)
}

// waitAutoPay puts the vehicle in wait for the AutoPay order of amount:
// its outcome, or the AutoPay wait running out.
func (l *lane) waitAutoPay(order string, amount, limit int64) {
	v := l.veh
	v.state, v.reason, v.order, v.limit = vAutoPay, "contactless payment "+yuan(amount), order, limit
	l.autoPayTimer = l.clk.NewTimer(l.rules.autoPayWait)
	l.autoPayC = l.autoPayTimer.C()
	l.hub.kick()
}

// awaitQueuedAutoPay waits for an AutoPay of the stay that is still
// queued — sent before a restart, or for the vehicle before it backed off
// and came back — instead of queuing a second one: two request_orders for
// one stay would be charged twice. It reports whether the lane now waits
// (or has settled the stay: the outcome came while it looked).
func (l *lane) awaitQueuedAutoPay(ctx context.Context, rec store.Record) bool {
	if rec.State != store.StateLeaving {
		return false // an AutoPay is queued with the mark of leaving (autoPay)
	}
	queued, err := l.db.QueuedAutoPays(rec.ID)
	if err != nil {
		l.fail("queued autopays", err)
		return true
	}
	if len(queued) == 0 {
		return false
	}
	m := queued[0]
	l.pays.awaitAutoPay(m.RequestOrder, rec.ID, l)
	// An outcome handled before the lane waited is recorded already and
	// the AutoPay gone: price the stay again with it.
	still, err := l.db.QueuedAutoPays(rec.ID)
	if err != nil || !slices.ContainsFunc(still, func(x store.Message) bool { return x.RequestOrder == m.RequestOrder }) {
		l.pays.forgetAutoPay(m.RequestOrder)
		if err != nil {
			l.fail("queued autopays", err)
			return true
		}
		l.resettle(ctx, rec.ID)
		return true
	}
	amount := autoPayOf(m).Amount
	var limit int64
	if b, err := l.db.Binding(rec.Plate); err == nil {
		limit = b.Limit
	}
	l.waitAutoPay(m.RequestOrder, amount, limit)
	l.log.Info("exit: waiting for the contactless payment queued before", "lane", l.cfg.Name, "plate", rec.Plate, "amount_fen", amount, "request_order", m.RequestOrder)
	return true
}

// autoPayDone is called on the lane's goroutine with an AutoPay's outcome.
func (l *lane) autoPayDone(ctx context.Context, order string, ok bool, channelOrder string, detail string) {
	v := l.veh
	if v == nil || v.state != vAutoPay || v.order != order {
		// The vehicle is gone (a guard let it out, it backed off, it
		// left owing): the dispatcher recorded what came of it.
		return
	}
	l.stopAutoPayTimer()
	rec, err := l.db.RecordByID(v.recordID)
	if err != nil {
		l.fail("record", err)
		return
	}
	if ok {
		// The payment was recorded by the dispatcher: settle again, it
		// is now paid.
		l.settleAfterPayment(ctx, rec, "contactless paid")
		return
	}
	v.order = ""
	v.state, v.reason = vWaitPay, "contactless payment failed ("+detail+"): scan the exit QR code"
	l.log.Info("exit: contactless failed, scan to pay", "lane", l.cfg.Name, "plate", rec.Plate, "detail", detail)
}

func (l *lane) stopAutoPayTimer() {
	if l.autoPayTimer != nil {
		l.autoPayTimer.Stop()
		l.autoPayTimer, l.autoPayC = nil, nil
	}
}

// onAutoPayTimeout: an AutoPay has not been answered within AutoPayWait.
// With OfflineRelease the vehicle leaves owing. Otherwise, on the wire
// this instant: ask again shortly; an AutoPay that never reached the
// platform is withdrawn and the driver pays by scan; one whose outcome is
// unknown keeps the lane waiting (charging twice is worse than waiting; a
// guard can open by hand).
func (l *lane) onAutoPayTimeout(ctx context.Context) {
	v := l.veh
	if v == nil || v.state != vAutoPay {
		return
	}
	if l.rules.offlineRelease && v.quote.Due <= v.limit {
		// Even while on the wire: an answer that comes after the close
		// settles the record (settleOwed), one that came before keeps it
		// here (releaseOwed sees it).
		l.releaseOwed(ctx)
		return
	}
	cancelled, busy := false, l.pays.autoPayOnWire(v.order)
	if !busy {
		cancelled, busy = l.pays.cancelAutoPay(ctx, v.order)
	}
	if cancelled {
		l.pays.forgetAutoPay(v.order)
		v.state, v.reason, v.order = vWaitPay, "contactless payment unavailable: scan the exit QR code", ""
		l.aud.audit("autopay", l.cfg.Code, "%s: AutoPay for record %s withdrawn undelivered after %s; scan to pay", l.cfg.Name, v.recordID, l.rules.autoPayWait)
		return
	}
	v.reason = "contactless payment being confirmed"
	wait := l.rules.autoPayWait
	if busy { // on the wire this instant: ask again shortly
		wait = min(wait, 2*time.Second)
	}
	l.autoPayTimer = l.clk.NewTimer(wait)
	l.autoPayC = l.autoPayTimer.C()
}

// releaseOwed lets the vehicle out with its fee owed: the record is closed
// outstanding (Fees.Due) and waiting for the AutoPay, which stays queued;
// no Outdata yet (settleOwed queues it with the outcome).
func (l *lane) releaseOwed(ctx context.Context) {
	v := l.veh
	now := l.clk.Now()
	defer l.pays.lockOutcomes()()
	// The outcome may have come in the meantime: then it is on its way
	// to this lane (autoPayDone, and the AutoPay is off the outbox, or
	// autoPaid, handed to the lane).
	queued, err := l.db.QueuedAutoPays(v.recordID)
	if err != nil {
		l.fail("queued autopays", err)
		return
	}
	if !slices.ContainsFunc(queued, func(m store.Message) bool { return m.RequestOrder == v.order }) || l.pays.autoPayHanded(v.order) {
		return
	}
	rec, err := l.db.RecordByID(v.recordID)
	if err != nil {
		l.fail("record", err)
		return
	}
	q := v.quote
	pays, err := l.db.Payments(rec.ID)
	if err != nil {
		l.fail("payments", err)
		return
	}
	items, audits := l.price.chargeItems(rec, q, pays, now)
	why := fmt.Sprintf("platform unreachable: released owing %s, contactless outcome pending", yuan(q.Due))
	exit := store.Exit{
		OutCode: l.cfg.Code, OutTime: now, Items: items,
		Fees:       store.Fees{Total: q.Total, Paid: q.Paid, Due: q.Due},
		AwaitOrder: v.order, Collected: arrearsOf(rec, q), Note: why,
	}
	if _, err := l.db.CloseRecord(rec.ID, exit, append(audits, l.aud.auditMsg("offline_release", l.cfg.Code, "%s: %s (record %s) %s; request_order %s", l.cfg.Name, rec.Plate, rec.ID, why, v.order))...); err != nil {
		l.fail("close record owing", err)
		return
	}
	l.log.Warn("exit: released owing", "lane", l.cfg.Name, "plate", rec.Plate, "owed_fen", q.Due, "request_order", v.order)
	v.state, v.reason = vReleased, why
	l.raise(ctx, "exit "+rec.Plate+": "+why)
	l.hub.markSpaces()
}

// settleOwed acts on the outcome of an AutoPay a closed record released
// owing waits for. It reports false when the record does not wait for it
// (the normal path applies).
func (c *Controller) settleOwed(m store.Message, paid bool, p store.Payment, detail string) bool {
	rec, err := c.db.RecordByID(m.RecordID)
	if err != nil || rec.State != store.StateClosed || rec.AwaitOrder != m.RequestOrder {
		return false
	}
	now := c.now()
	o := store.Owed{Paid: paid, At: now, Reason: detail}
	items := rec.Items
	if paid {
		o.Payment = p
		o.Item = store.ChargeItem{PayType: int(cmb.PayCMB), TollCollector: c.cfg.TollCollector, ShouldPay: p.Amount, ActualPay: p.Amount, Time: p.PayTime, SeqNum: p.Order}
		items = append(append([]store.ChargeItem(nil), items...), o.Item)
	}
	closed := rec
	closed.Items = items
	out, err := c.outdata(closed, items)
	if err != nil {
		c.log.Error("owed: outdata", "record", rec.ID, "err", err)
		return true
	}
	msgs := []store.Message{out}
	if paid {
		msgs = append(msgs, c.auditMsg("owed_paid", rec.OutCode, "record %s (%s): contactless charge of %d fen confirmed after an offline release", rec.ID, rec.Plate, p.Amount))
	} else {
		msgs = append(msgs, c.auditMsg("arrears", rec.OutCode, "record %s (%s): contactless charge of %d fen refused after an offline release (%s): arrears on the plate", rec.ID, rec.Plate, rec.Fees.Due, detail))
	}
	switch _, err := c.db.SettleOwed(rec.ID, o, msgs...); {
	case errors.Is(err, store.ErrNotAwaiting):
	case err != nil:
		c.log.Error("owed: settle", "record", rec.ID, "err", err)
	case paid:
		c.log.Info("owed fee paid", "record", rec.ID, "plate", rec.Plate, "amount_fen", p.Amount)
	default:
		c.log.Warn("arrears", "record", rec.ID, "plate", rec.Plate, "amount_fen", rec.Fees.Due, "detail", detail)
	}
	c.kick()
	return true
}
