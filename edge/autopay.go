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
	v := l.veh
	now := l.c.now()
	b, err := l.c.db.Binding(rec.Plate)
	if err != nil {
		l.fail("binding", err)
		return
	}
	order := l.c.newRequestOrder(rec.ID)
	ap := cmb.AutoPay{ParkCode: l.c.cfg.ParkCode, VplNumber: rec.Plate, RecordID: rec.ID, Amount: q.Due, RequestOrder: order}
	vals, err := ap.Values()
	if err != nil {
		l.fail("autopay", err)
		return
	}
	m := l.c.msg(store.KindAutoPay, rec.ID, vals)
	m.RequestOrder = order
	if cmb.CheckPostURL(b.PostURL) == nil {
		m.URL = b.PostURL // checked at bind time; an older binding's bad one is not used
	}
	l.c.awaitAutoPay(order, rec.ID, l)
	if _, err := l.c.db.MarkLeaving(rec.ID, l.cfg.Code, now, m); err != nil {
		l.c.forgetAutoPay(order)
		l.fail("queue autopay", err)
		return
	}
	v.state, v.reason, v.order, v.limit = vAutoPay, "contactless payment "+yuan(q.Due), order, b.Limit
	l.autoPayTimer = l.c.clk.NewTimer(l.c.cfg.AutoPayWait)
	l.autoPayC = l.autoPayTimer.C()
	l.c.kick()
	l.c.log.Info("exit: contactless payment queued", "lane", l.cfg.Name, "plate", rec.Plate, "due_fen", q.Due, "request_order", order, "post_url", m.URL)
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
	rec, err := l.c.db.RecordByID(v.recordID)
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
	l.c.log.Info("exit: contactless failed, scan to pay", "lane", l.cfg.Name, "plate", rec.Plate, "detail", detail)
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
	if l.c.cfg.OfflineRelease && v.quote.Due <= v.limit {
		// Even while on the wire: an answer that comes after the close
		// settles the record (settleOwed), one that came before keeps it
		// here (releaseOwed sees it).
		l.releaseOwed(ctx)
		return
	}
	cancelled, busy := false, l.c.autoPayOnWire(v.order)
	if !busy {
		cancelled, busy = l.c.cancelAutoPay(ctx, v.order)
	}
	if cancelled {
		l.c.forgetAutoPay(v.order)
		v.state, v.reason, v.order = vWaitPay, "contactless payment unavailable: scan the exit QR code", ""
		l.c.audit("autopay", l.cfg.Code, "%s: AutoPay for record %s withdrawn undelivered after %s; scan to pay", l.cfg.Name, v.recordID, l.c.cfg.AutoPayWait)
		return
	}
	v.reason = "contactless payment being confirmed"
	wait := l.c.cfg.AutoPayWait
	if busy { // on the wire this instant: ask again shortly
		wait = min(wait, 2*time.Second)
	}
	l.autoPayTimer = l.c.clk.NewTimer(wait)
	l.autoPayC = l.autoPayTimer.C()
}

// autoPayOnWire reports whether the AutoPay is being sent right now.
func (c *Controller) autoPayOnWire(order string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight[order]
}

// releaseOwed lets the vehicle out with its fee owed: the record is closed
// outstanding (Fees.Due) and waiting for the AutoPay, which stays queued;
// no Outdata yet (settleOwed queues it with the outcome).
func (l *lane) releaseOwed(ctx context.Context) {
	v := l.veh
	now := l.c.now()
	l.c.outcomeMu.Lock()
	defer l.c.outcomeMu.Unlock()
	// The outcome may have come in the meantime: then it is on its way
	// to this lane (autoPayDone), and the AutoPay is off the outbox.
	queued, err := l.c.db.QueuedAutoPays(v.recordID)
	if err != nil {
		l.fail("queued autopays", err)
		return
	}
	if !slices.ContainsFunc(queued, func(m store.Message) bool { return m.RequestOrder == v.order }) {
		return
	}
	rec, err := l.c.db.RecordByID(v.recordID)
	if err != nil {
		l.fail("record", err)
		return
	}
	q := v.quote
	pays, err := l.c.db.Payments(rec.ID)
	if err != nil {
		l.fail("payments", err)
		return
	}
	items, audits := l.c.chargeItems(rec, q, pays, now)
	why := fmt.Sprintf("platform unreachable: released owing %s, contactless outcome pending", yuan(q.Due))
	exit := store.Exit{
		OutCode: l.cfg.Code, OutTime: now, Items: items,
		Fees:       store.Fees{Total: q.Total, Paid: q.Paid, Due: q.Due},
		AwaitOrder: v.order, Collected: arrearsOf(rec, q), Note: why,
	}
	if _, err := l.c.db.CloseRecord(rec.ID, exit, append(audits, l.c.auditMsg("offline_release", l.cfg.Code, "%s: %s (record %s) %s; request_order %s", l.cfg.Name, rec.Plate, rec.ID, why, v.order))...); err != nil {
		l.fail("close record owing", err)
		return
	}
	l.c.log.Warn("exit: released owing", "lane", l.cfg.Name, "plate", rec.Plate, "owed_fen", q.Due, "request_order", v.order)
	v.state, v.reason = vReleased, why
	l.raise(ctx, "exit "+rec.Plate+": "+why)
	l.c.markSpaces()
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

// ---- arrears ----

// lineArrears is the Kind of a quote line that carries an arrears of the
// plate: Segment is the record that left it, Fen the amount.
const lineArrears = "arrears"

// arrearsFor lists the arrears of rec's plate other than rec's own (none
// for an unlicensed vehicle).
func (c *Controller) arrearsFor(rec store.Record) ([]store.Arrear, error) {
	if rec.Unlicensed {
		return nil, nil
	}
	as, err := c.db.Arrears(rec.Plate)
	if err != nil {
		return nil, err
	}
	out := as[:0]
	for _, a := range as {
		if a.RecordID != rec.ID && a.Amount > 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// withArrears adds the plate's arrears to a quote of rec (see addArrears).
func (c *Controller) withArrears(rec store.Record, q tariff.Quote) (tariff.Quote, error) {
	as, err := c.arrearsFor(rec)
	if err != nil {
		return q, err
	}
	return addArrears(q, as), nil
}

// addArrears adds arrears to a quote: to its total and, beyond what was
// paid over the stay's own fee, to what is due; a line per arrears says
// which (pure: it runs inside the closing transaction).
func addArrears(q tariff.Quote, as []store.Arrear) tariff.Quote {
	var sum int64
	for _, a := range as {
		sum += a.Amount
		q.Breakdown = append(q.Breakdown, tariff.Line{From: a.Since, To: a.Since, Kind: lineArrears, Segment: a.RecordID, Fen: a.Amount, Price: a.Amount, Periods: 1})
	}
	if sum == 0 {
		return q
	}
	over := max(0, q.Paid-q.Total) // paid beyond the stay's own fee
	q.Total += sum
	q.Due += max(0, sum-over)
	return q
}

// arrearsOf lists the arrears a quote of rec includes.
func arrearsOf(rec store.Record, q tariff.Quote) []store.Arrear {
	var out []store.Arrear
	for _, ln := range q.Breakdown {
		if ln.Kind == lineArrears {
			out = append(out, store.Arrear{Plate: rec.Plate, RecordID: ln.Segment, Amount: ln.Fen, Since: ln.From})
		}
	}
	return out
}

// arrearsItems gives each arrears the quote collected a charge item of its
// own, taking its amount out of the payments' items (newest first), and
// lists the arrears collected.
func (c *Controller) arrearsItems(rec store.Record, q tariff.Quote, items []store.ChargeItem, now time.Time) ([]store.ChargeItem, []store.Arrear) {
	collected := arrearsOf(rec, q)
	for _, a := range collected {
		left, pt, at := a.Amount, int(cmb.PayCMB), now
		for i := len(items) - 1; i >= 0 && left > 0; i-- {
			it := &items[i]
			if it.ActualPay <= 0 {
				continue
			}
			take := min(left, it.ActualPay)
			it.ActualPay -= take
			it.ShouldPay = max(0, it.ShouldPay-take)
			left -= take
			pt, at = it.PayType, it.Time
		}
		items = append(items, store.ChargeItem{PayType: pt, TollCollector: c.cfg.TollCollector, ShouldPay: a.Amount, ActualPay: a.Amount - left, Time: at, SeqNum: a.RecordID + "A"})
	}
	if len(collected) > 0 {
		kept := items[:0]
		for _, it := range items {
			if it.ShouldPay != 0 || it.ActualPay != 0 {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	return items, collected
}

// lockOutcome takes outcomeMu for an AutoPay's outcome; the returned
// function releases it (a no-op for other kinds).
func (c *Controller) lockOutcome(m store.Message) func() {
	if m.Kind != store.KindAutoPay {
		return func() {}
	}
	c.outcomeMu.Lock()
	return c.outcomeMu.Unlock
}
