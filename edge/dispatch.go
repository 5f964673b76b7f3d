package edge

import (
	"context"
	"errors"
	"net/url"
	"time"

	"laned/cmb"
	"laned/store"
)

// The outbox dispatcher: one goroutine sends due uplinks in order (per
// record, by the store's Due), with exponential backoff and full jitter,
// and acts on the answers. It is the only sender, so "is this AutoPay on
// the wire right now?" has one answer, kept under c.mu.

type autoPayWaiter struct {
	lane     *lane
	recordID string
}

// awaitAutoPay registers the lane waiting for a non-guaranteed AutoPay.
func (c *Controller) awaitAutoPay(order, recordID string, l *lane) {
	c.mu.Lock()
	c.pending[order] = &autoPayWaiter{lane: l, recordID: recordID}
	c.mu.Unlock()
}

// autoPaying reports whether a contactless payment for the record is under
// way: calc must not invite the driver to pay the same stay by scan.
func (c *Controller) autoPaying(recordID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.pending {
		if w.recordID == recordID {
			return true
		}
	}
	return false
}

func (c *Controller) forgetAutoPay(order string) {
	c.mu.Lock()
	delete(c.pending, order)
	c.mu.Unlock()
}

// cancelAutoPay withdraws an AutoPay that has certainly never reached the
// platform: not on the wire now, never sent with an unknown outcome. It
// reports whether it did, and else whether it is on the wire right now
// (worth asking again soon). A withdrawn AutoPay is deleted from the
// outbox, durably, so that a restart cannot send it either.
func (c *Controller) cancelAutoPay(ctx context.Context, order string) (cancelled, busy bool) {
	c.mu.Lock()
	if c.inflight[order] {
		c.mu.Unlock()
		return false, true
	}
	if c.unresolved[order] {
		c.mu.Unlock()
		return false, false
	}
	c.cancelled[order] = true
	c.mu.Unlock()
	var after uint64
	for {
		msgs, err := c.db.Messages(after, 256)
		if err != nil || len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			after = m.Seq
			if m.Kind == store.KindAutoPay && m.RequestOrder == order {
				if m.Unresolved {
					c.mu.Lock()
					delete(c.cancelled, order)
					c.mu.Unlock()
					return false, false
				}
				if err := c.db.Ack(m.Seq); err != nil && !errors.Is(err, store.ErrNotFound) {
					c.log.Error("autopay: withdraw", "request_order", order, "err", err)
				}
				return true, false
			}
		}
	}
	return true, false // not in the outbox (already gone): nothing will send it
}

func (c *Controller) dispatch(ctx context.Context) {
	for {
		if ctx.Err() != nil {
			return
		}
		now := c.now()
		c.mu.Lock()
		hold := c.holdUntil
		c.mu.Unlock()
		if now.Before(hold) {
			c.sleep(ctx, hold.Sub(now))
			continue
		}
		msgs, err := c.db.Due(now, 64)
		if err != nil {
			c.log.Error("outbox: due", "err", err)
			c.sleep(ctx, c.cfg.RetryBase)
			continue
		}
		if len(msgs) == 0 {
			next, ok, err := c.db.NextDue()
			switch {
			case err != nil:
				c.log.Error("outbox: next due", "err", err)
				c.sleep(ctx, c.cfg.RetryBase)
			case !ok:
				c.sleep(ctx, forever) // empty: an enqueue kicks
			default:
				// Never negative: a time already past means "look again
				// now", not "sleep until kicked".
				c.sleep(ctx, max(next.Sub(now), 0))
			}
			continue
		}
		for _, m := range msgs {
			if ctx.Err() != nil {
				return
			}
			if !c.deliver(ctx, m) {
				break // the platform is unreachable: hold everything
			}
		}
	}
}

// forever is sleep's "until kicked".
const forever = time.Duration(-1)

// sleep waits for d (forever: until a wake-up), a wake-up or the end.
func (c *Controller) sleep(ctx context.Context, d time.Duration) {
	var tc <-chan time.Time
	if d != forever {
		t := c.clk.NewTimer(d)
		defer t.Stop()
		tc = t.C()
	}
	select {
	case <-ctx.Done():
	case <-c.wake:
	case <-tc:
	}
}

func (c *Controller) backoff(attempts int) time.Duration {
	d := c.cfg.RetryBase
	for i := 0; i < attempts && d < c.cfg.RetryCap; i++ {
		d *= 2
	}
	return c.randDuration(min(d, c.cfg.RetryCap))
}

// params and flat convert between a queued message's fields and a form.
func params(p map[string]string) url.Values {
	v := make(url.Values, len(p))
	for k, s := range p {
		v.Set(k, s)
	}
	return v
}

func flat(v url.Values) map[string]string {
	p := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	return p
}

// deliver sends one message and records what came of it. It returns
// false when the platform could not be reached.
func (c *Controller) deliver(ctx context.Context, m store.Message) bool {
	if c.statusAnswered(m) {
		_ = c.db.Ack(m.Seq) // its Indata answered the question meanwhile
		return true
	}
	if m.Kind == store.KindAutoPay {
		c.mu.Lock()
		if c.cancelled[m.RequestOrder] {
			c.mu.Unlock()
			_ = c.db.Ack(m.Seq)
			return true
		}
		if m.Unresolved {
			c.unresolved[m.RequestOrder] = true
			c.mu.Unlock()
			return c.resolveAutoPay(ctx, m)
		}
		c.inflight[m.RequestOrder] = true
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.inflight, m.RequestOrder)
			c.mu.Unlock()
		}()
	}
	// Retries are scheduled from when the attempt started: the answer can
	// take real time, and a backoff measured from its end would drift.
	started := c.now()
	form, ok := c.uplinkForm(m)
	if !ok {
		c.picResult(m, "dropped: picture gone")
		if err := c.db.Ack(m.Seq); err != nil {
			c.log.Error("outbox: ack", "seq", m.Seq, "err", err)
		}
		return true
	}
	sctx, cancel := context.WithTimeout(ctx, c.cfg.SendTimeout)
	env, err := c.send(sctx, m, form)
	cancel()
	now := c.now()
	c.noteNet(now, err)
	switch {
	case err == nil:
		unlock := c.lockOutcome(m)
		c.picResult(m, "delivered")
		c.delivered(m, env, now)
		if err := c.db.Ack(m.Seq); err != nil {
			c.log.Error("outbox: ack", "seq", m.Seq, "err", err)
		}
		unlock()
		c.log.Info("uplink delivered", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq)
		return true
	case errors.Is(err, cmb.ErrRejected):
		c.log.Warn("uplink rejected", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "err", err)
		if m.Kind == store.KindAutoPay {
			unlock := c.lockOutcome(m)
			c.autoPayFailed(m, err.Error())
			unlock()
			return true
		}
		c.picResult(m, "rejected: "+err.Error())
		if m.Attempts == 0 {
			c.audit("uplink_rejected", 0, "%s for record %s: %v", m.Kind, m.RecordID, err)
		}
		c.refused(m, started, err)
		return true
	case errors.Is(err, cmb.ErrOutcomeUnknown):
		// A dropped connection, a timeout, a garbled answer: the platform
		// (or the way to it) is unwell. The queue pauses as for a refused
		// connection, instead of trying each message on its own delay.
		c.log.Warn("uplink outcome unknown", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "err", err)
		wait := c.backoff(m.Attempts)
		if m.Kind == store.KindAutoPay {
			c.mu.Lock()
			c.unresolved[m.RequestOrder] = true
			c.mu.Unlock()
			if err := c.db.MarkUnresolved(m.Seq, started.Add(wait), err.Error()); err != nil {
				c.log.Error("outbox: mark unresolved", "seq", m.Seq, "err", err)
			}
		} else {
			c.retryAt(m, started.Add(wait), err)
		}
		c.hold(started.Add(wait))
		return false
	default:
		c.log.Warn("uplink not delivered", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "err", err)
		wait := c.backoff(m.Attempts)
		c.retryAt(m, started.Add(wait), err)
		c.hold(started.Add(wait))
		return false
	}
}

// hold pauses the dispatcher until t: the platform was unreachable.
func (c *Controller) hold(t time.Time) {
	c.mu.Lock()
	c.holdUntil = t
	c.mu.Unlock()
}

func (c *Controller) retryAt(m store.Message, at time.Time, cause error) {
	dead, err := c.db.Retry(m.Seq, at, cause.Error())
	if err != nil {
		c.log.Error("outbox: retry", "seq", m.Seq, "err", err)
	}
	if dead {
		c.log.Warn("uplink dead-lettered", "kind", m.Kind, "seq", m.Seq)
	}
}

func (c *Controller) noteNet(now time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.netLast = netState{At: now, OK: err == nil || errors.Is(err, cmb.ErrRejected)}
	if err == nil {
		c.lastSent = now
	}
	if err != nil {
		c.netLast.Detail = err.Error()
	}
}

// delivered acts on a successful answer.
func (c *Controller) delivered(m store.Message, env cmb.Envelope, now time.Time) {
	switch m.Kind {
	case store.KindIndata, store.KindAutoPayStatus:
		c.learnContactless(m, env, now)
	case store.KindAutoPay:
		a, err := cmb.DecodeAutoPayAnswer(env.Data)
		if err != nil {
			c.log.Warn("autopay answer", "record", m.RecordID, "err", err)
		}
		ap := autoPayOf(m)
		c.autoPaySucceeded(m, ap.VplNumber, ap.Amount, a.ChannelOrder, a.PayTime, now)
	}
}

// plateOf reads the plate of a queued Indata or AutoPayStatus.
func plateOf(m store.Message) (string, error) {
	if m.Kind == store.KindAutoPayStatus {
		r, err := cmb.DecodeAutoPayStatus(params(m.Params))
		return r.VplNumber, err
	}
	r, err := cmb.DecodeIndata(params(m.Params))
	return r.VplNumber, err
}

// autoPayOf reads a queued AutoPay (which this controller built, so it
// decodes; a zero value if the file was tampered with).
func autoPayOf(m store.Message) cmb.AutoPay {
	r, _ := cmb.DecodeAutoPay(params(m.Params))
	return r
}

func (c *Controller) autoPaySucceeded(m store.Message, plate string, amount int64, channelOrder string, payTime int64, now time.Time) {
	at := now
	if payTime > 0 {
		at = time.Unix(payTime, 0)
	}
	// The payment is keyed by the platform's channel_order (what its pay
	// notice for the same payment carries), else by our request_order; a
	// notice that came first has recorded it already.
	order := channelOrder
	if order == "" {
		order = m.RequestOrder
	}
	p := store.Payment{Order: order, RecordID: m.RecordID, Plate: plate, BillID: m.RequestOrder, PayType: int(cmb.PayCMB), Amount: amount, PayTime: at, RequestOrder: m.RequestOrder}
	if c.settleOwed(m, true, p, "") {
		c.finishAutoPay(m.RequestOrder, true, channelOrder, "")
		return
	}
	if !c.knownPayment(m.RecordID, m.RequestOrder, channelOrder) {
		if err := c.db.AddAutoPayment(p); err != nil && !errors.Is(err, store.ErrAlreadyRecorded) {
			c.log.Error("autopay: record payment", "record", m.RecordID, "err", err)
		}
	}
	c.log.Info("contactless payment succeeded", "record", m.RecordID, "amount_fen", amount, "request_order", m.RequestOrder)
	c.finishAutoPay(m.RequestOrder, true, channelOrder, "")
}

// knownPayment reports whether a payment of the record was recorded under
// any of the orders (a platform order, our request_order, the channel
// order), as the order itself or as the AutoPay's request_order.
func (c *Controller) knownPayment(recordID string, orders ...string) bool {
	pays, err := c.db.Payments(recordID)
	if err != nil {
		return false
	}
	for _, p := range pays {
		for _, o := range orders {
			if o != "" && (p.Order == o || p.BillID == o || p.RequestOrder == o || p.BankNotice == o) {
				return true
			}
		}
	}
	return false
}

func (c *Controller) autoPayFailed(m store.Message, detail string) {
	c.settleOwed(m, false, store.Payment{}, detail)
	// Off the outbox before the lane hears of it: a scan payment that
	// follows must not pass for this AutoPay's money.
	if err := c.db.Ack(m.Seq); err != nil {
		c.log.Error("outbox: ack", "seq", m.Seq, "err", err)
	}
	c.finishAutoPay(m.RequestOrder, false, "", detail)
}

func (c *Controller) finishAutoPay(order string, ok bool, channelOrder, detail string) {
	c.mu.Lock()
	w := c.pending[order]
	delete(c.pending, order)
	delete(c.unresolved, order)
	c.mu.Unlock()
	if w != nil {
		l := w.lane
		l.post(func(lctx context.Context) { l.autoPayDone(lctx, order, ok, channelOrder, detail) })
	}
}

// resolveAutoPay asks the platform what became of an AutoPay whose answer
// was lost, before anything is sent again.
func (c *Controller) resolveAutoPay(ctx context.Context, m store.Message) bool {
	r := cmb.PayOrderStatus{ParkCode: c.cfg.ParkCode, RequestOrder: m.RequestOrder}
	v, err := r.Values()
	if err != nil {
		c.log.Error("pay order status", "err", err)
		return true
	}
	started := c.now()
	sctx, cancel := context.WithTimeout(ctx, c.cfg.SendTimeout)
	env, err := c.up.Send(sctx, cmb.EpPayOrderStatus, v)
	cancel()
	now := c.now()
	c.noteNet(now, err)
	switch {
	case err == nil:
		a, derr := cmb.DecodePayOrderStatusAnswer(env.Data)
		if derr != nil {
			c.log.Warn("pay order status answer", "err", derr)
		}
		ap := autoPayOf(m)
		if a.Amount > 0 {
			ap.Amount = a.Amount // what the platform charged
		}
		unlock := c.lockOutcome(m)
		c.autoPaySucceeded(m, ap.VplNumber, ap.Amount, a.ChannelOrder, 0, now)
		if err := c.db.Ack(m.Seq); err != nil {
			c.log.Error("outbox: ack", "seq", m.Seq, "err", err)
		}
		unlock()
		return true
	case errors.Is(err, cmb.ErrRejected):
		// The platform has no such order: the AutoPay never happened; send
		// it again, same request_order. It stays in c.unresolved until
		// its outcome: a lane must not withdraw a payment that once
		// left with an unknown outcome (charging twice is worse than
		// waiting).
		if err := c.db.Resolve(m.Seq, now); err != nil {
			c.log.Error("outbox: resolve", "seq", m.Seq, "err", err)
		}
		return true
	default:
		wait := c.backoff(m.Attempts)
		if err := c.db.MarkUnresolved(m.Seq, started.Add(wait), err.Error()); err != nil {
			c.log.Error("outbox: mark unresolved", "seq", m.Seq, "err", err)
		}
		c.hold(started.Add(wait)) // unreachable or outcome unknown: pause the queue
		return false
	}
}

// RetryNow makes every queued uplink due now (the console's queue retry).
func (c *Controller) RetryNow() (int, error) {
	n := 0
	now := c.now()
	var after uint64
	for {
		msgs, err := c.db.Messages(after, 256)
		if err != nil {
			return n, err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			after = m.Seq
			_, err := c.db.UpdateMessage(m.Seq, func(x *store.Message) error { x.Due = now; return nil })
			if errors.Is(err, store.ErrNotFound) {
				continue // delivered meanwhile
			}
			if err != nil {
				return n, err
			}
			n++
		}
	}
	c.hold(time.Time{})
	c.kick()
	return n, nil
}
