package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"laned/cmb"
	"laned/hal/clock"
	"laned/store"
)

// The outbox dispatcher: one goroutine sends due uplinks in order (per
// record, by the store's Due), with exponential backoff and full jitter,
// and hands the answers to its outcomes (the Controller). It is the only
// sender, so "is this AutoPay on the wire right now?" has one answer, kept
// with the AutoPay orders under its mutex (orders.go). It owns its hold
// (the platform was unreachable: wait till then) and what it last learnt
// of the network.

// outcomes is what the dispatcher hands a queued uplink and its answer to:
// the Controller, which knows what they mean for records, bindings and
// lanes.
type outcomes interface {
	// statusAnswered reports a status query answered meanwhile: it
	// need not be sent any more.
	statusAnswered(m store.Message) bool
	// uplinkForm is the uplink as sent; ok false: it must be dropped.
	uplinkForm(m store.Message) (v url.Values, ok bool)
	// picResult notes what became of a PicUpload.
	picResult(m store.Message, result string)
	// delivered acts on an answer with status 0; handed: an AutoPay's
	// outcome went to the lane waiting for it, which acks it.
	delivered(m store.Message, env cmb.Envelope, now time.Time) (handed bool)
	// autoPayFailed acts on an AutoPay the platform refused (and acks it).
	autoPayFailed(m store.Message, detail string)
	// autoPayResolved acts on the charge PayOrderStatus found for an
	// AutoPay whose answer was lost.
	autoPayResolved(m store.Message, a cmb.PayOrderStatusAnswer, now time.Time)
	// holdElsewhere bounds how long an uplink waits for an earlier one of
	// its record queued at another box (Config.HoldElsewhere).
	holdElsewhere() time.Duration
	audit(kind string, laneCode int, format string, args ...any)
}

// dispatchRules are the parts of Config the dispatcher reads.
type dispatchRules struct {
	parkCode            int64
	retryBase, retryCap time.Duration
	sendTimeout         time.Duration
	maxRefusals         int
}

type dispatcher struct {
	db     *store.DB
	up     Sender
	clk    clock.Clock
	log    *slog.Logger
	rules  dispatchRules
	jitter func(n time.Duration) time.Duration // uniform in [0, n]
	out    outcomes
	wake   chan struct{} // there is work
	site   *siteHold     // holds across boxes (dispatch_site.go); nil without a box

	// outcomeMu orders an AutoPay's outcome (recorded, then acked) and a
	// lane's release owing of the same record: one sees the other whole.
	outcomeMu sync.Mutex

	mu        sync.Mutex
	holdUntil time.Time // the platform was unreachable: wait till then
	netLast   netState
	lastSent  time.Time
	orders    map[string]*autoPayOrder // request_order → its state (orders.go)
	pass      uint64                   // outbox reads so far (orders.go prunes by it)
}

type netState struct {
	At     time.Time
	OK     bool
	Detail string
}

func newDispatcher(db *store.DB, up Sender, clk clock.Clock, log *slog.Logger, rules dispatchRules, jitter func(time.Duration) time.Duration, out outcomes) *dispatcher {
	d := &dispatcher{
		db: db, up: up, clk: clk, log: log, rules: rules, jitter: jitter, out: out,
		wake: make(chan struct{}, 1), orders: make(map[string]*autoPayOrder),
	}
	if db.Box() != "" {
		d.site = newSiteHold(out.holdElsewhere())
	}
	return d
}

// kick wakes the dispatcher.
func (d *dispatcher) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run(ctx context.Context) {
	for {
		if ctx.Err() != nil {
			return
		}
		now := d.clk.Now()
		d.mu.Lock()
		hold := d.holdUntil
		d.mu.Unlock()
		if now.Before(hold) {
			d.sleep(ctx, hold.Sub(now))
			continue
		}
		d.nextPass()
		msgs, err := d.due(now, 64)
		if err != nil {
			d.log.Error("outbox: due", "err", err)
			d.sleep(ctx, d.rules.retryBase)
			continue
		}
		if len(msgs) == 0 {
			next, ok, err := d.nextDue(now)
			switch {
			case err != nil:
				d.log.Error("outbox: next due", "err", err)
				d.sleep(ctx, d.rules.retryBase)
			case !ok:
				d.sleep(ctx, forever) // empty: an enqueue kicks
			default:
				// Never negative: a time already past means "look again
				// now", not "sleep until kicked".
				d.sleep(ctx, max(next.Sub(now), 0))
			}
			continue
		}
		handed := 0
		for _, m := range msgs {
			if ctx.Err() != nil {
				return
			}
			if d.isHanded(m) {
				handed++ // answered: its lane commits the outcome
				continue
			}
			if !d.deliver(ctx, m) {
				break // the platform is unreachable: hold everything
			}
		}
		if handed == len(msgs) {
			// Nothing due but outcomes lanes are committing: each lane
			// kicks when it is done (handedBack).
			d.sleep(ctx, forever)
		}
	}
}

// forever is sleep's "until kicked".
const forever = time.Duration(-1)

// sleep waits for dur (forever: until a wake-up), a wake-up or the end.
func (d *dispatcher) sleep(ctx context.Context, dur time.Duration) {
	var tc <-chan time.Time
	if dur != forever {
		t := d.clk.NewTimer(dur)
		defer t.Stop()
		tc = t.C()
	}
	select {
	case <-ctx.Done():
	case <-d.wake:
	case <-tc:
	}
}

func (d *dispatcher) backoff(attempts int) time.Duration {
	b := d.rules.retryBase
	for i := 0; i < attempts && b < d.rules.retryCap; i++ {
		b *= 2
	}
	return d.jitter(min(b, d.rules.retryCap))
}

// deliver sends one message and records what came of it. It returns
// false when the platform could not be reached.
func (d *dispatcher) deliver(ctx context.Context, m store.Message) bool {
	if d.out.statusAnswered(m) {
		_ = d.db.Ack(m.Seq) // answered meanwhile
		return true
	}
	var unknown bool // an AutoPay sent now whose outcome is unknown
	if m.Kind == store.KindAutoPay {
		switch d.onWire(m) {
		case orderCancelled:
			_ = d.db.Ack(m.Seq)
			return true
		case orderUnresolved:
			return d.resolveAutoPay(ctx, m)
		case orderHanded:
			return true // answered: the lane commits its outcome
		}
		defer func() { d.offWire(m.RequestOrder, unknown) }()
	}
	// Retries are scheduled from when the attempt started: the answer can
	// take real time, and a backoff measured from its end would drift.
	started := d.clk.Now()
	form, ok := d.out.uplinkForm(m)
	if !ok {
		d.out.picResult(m, "dropped: picture gone")
		d.ack(m)
		return true
	}
	sctx, cancel := context.WithTimeout(ctx, d.rules.sendTimeout)
	env, err := d.send(sctx, m, form)
	cancel()
	now := d.clk.Now()
	d.noteNet(now, err)
	switch {
	case err == nil:
		unlock := d.lockOutcome(m)
		d.out.picResult(m, "delivered")
		if !d.out.delivered(m, env, now) {
			d.ack(m)
		}
		unlock()
		d.log.Info("uplink delivered", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq)
		return true
	case errors.Is(err, cmb.ErrRejected):
		d.log.Warn("uplink rejected", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "err", err)
		if m.Kind == store.KindAutoPay {
			unlock := d.lockOutcome(m)
			d.out.autoPayFailed(m, err.Error())
			unlock()
			return true
		}
		d.out.picResult(m, "rejected: "+err.Error())
		if m.Attempts == 0 {
			d.out.audit("uplink_rejected", 0, "%s for record %s: %v", m.Kind, m.RecordID, err)
		}
		d.refused(m, started, err)
		return true
	case errors.Is(err, cmb.ErrOutcomeUnknown):
		// A dropped connection, a timeout, a garbled answer: the platform
		// (or the way to it) is unwell. The queue pauses as for a refused
		// connection, instead of trying each message on its own delay.
		d.log.Warn("uplink outcome unknown", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "err", err)
		wait := d.backoff(m.Attempts)
		if m.Kind == store.KindAutoPay {
			unknown = true
			if err := d.db.MarkUnresolved(m.Seq, started.Add(wait), err.Error()); err != nil {
				d.log.Error("outbox: mark unresolved", "seq", m.Seq, "err", err)
			}
		} else {
			d.retryAt(m, started.Add(wait), err)
		}
		d.hold(started.Add(wait))
		return false
	default:
		d.log.Warn("uplink not delivered", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "err", err)
		wait := d.backoff(m.Attempts)
		d.retryAt(m, started.Add(wait), err)
		d.hold(started.Add(wait))
		return false
	}
}

func (d *dispatcher) ack(m store.Message) {
	if err := d.db.Ack(m.Seq); err != nil {
		d.log.Error("outbox: ack", "seq", m.Seq, "err", err)
	}
}

// urlSender is a Sender that can send to an address of its own (a
// binding's post_url); *cmb.Client is one.
type urlSender interface {
	SendTo(ctx context.Context, rawURL, name string, params url.Values) (cmb.Envelope, error)
}

// send sends a queued message as form, to its own URL when it has one.
func (d *dispatcher) send(ctx context.Context, m store.Message, form url.Values) (cmb.Envelope, error) {
	if m.URL != "" {
		if us, ok := d.up.(urlSender); ok {
			return us.SendTo(ctx, m.URL, m.Kind, form)
		}
		d.log.Warn("uplink: the sender cannot use a post_url; sent to the platform", "kind", m.Kind, "url", m.URL)
	}
	return d.up.Send(ctx, m.Kind, form)
}

// hold pauses the dispatcher until t: the platform was unreachable.
func (d *dispatcher) hold(t time.Time) {
	d.mu.Lock()
	d.holdUntil = t
	d.mu.Unlock()
}

func (d *dispatcher) retryAt(m store.Message, at time.Time, cause error) {
	dead, err := d.db.Retry(m.Seq, at, cause.Error())
	if err != nil {
		d.log.Error("outbox: retry", "seq", m.Seq, "err", err)
	}
	if dead {
		d.log.Warn("uplink dead-lettered", "kind", m.Kind, "seq", m.Seq)
	}
}

// refused records a refusal by the platform (an answer with status ≠ 0).
// The same refusal MaxRefusals times in a row dead-letters the message
// (the store audits it in the same transaction): a message the platform
// will never take must not hold back its record's later uplinks forever.
func (d *dispatcher) refused(m store.Message, started time.Time, cause error) {
	text := cause.Error()
	var re *cmb.RejectedError
	if errors.As(cause, &re) {
		text = fmt.Sprintf("status %d: %s", re.Status, re.Message)
	}
	dead, err := d.db.Refused(m.Seq, started.Add(d.backoff(m.Attempts)), text, d.rules.maxRefusals, d.clk.Now())
	if err != nil {
		d.log.Error("outbox: refused", "seq", m.Seq, "err", err)
		return
	}
	if dead {
		d.log.Warn("uplink dead-lettered after repeated refusals", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "refusal", text)
		d.kick() // the record's next uplink may go now
	}
}

func (d *dispatcher) noteNet(now time.Time, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.netLast = netState{At: now, OK: err == nil || errors.Is(err, cmb.ErrRejected)}
	if err == nil {
		d.lastSent = now
	}
	if err != nil {
		d.netLast.Detail = err.Error()
	}
}

// net reports the last exchange's outcome and when an uplink was last
// delivered.
func (d *dispatcher) net() (last netState, lastSent time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.netLast, d.lastSent
}

// resolveAutoPay asks the platform what became of an AutoPay whose answer
// was lost, before anything is sent again.
func (d *dispatcher) resolveAutoPay(ctx context.Context, m store.Message) bool {
	r := cmb.PayOrderStatus{ParkCode: d.rules.parkCode, RequestOrder: m.RequestOrder}
	v, err := r.Values()
	if err != nil {
		d.log.Error("pay order status", "err", err)
		return true
	}
	started := d.clk.Now()
	sctx, cancel := context.WithTimeout(ctx, d.rules.sendTimeout)
	env, err := d.up.Send(sctx, cmb.EpPayOrderStatus, v)
	cancel()
	now := d.clk.Now()
	d.noteNet(now, err)
	switch {
	case err == nil:
		a, derr := cmb.DecodePayOrderStatusAnswer(env.Data)
		if derr != nil {
			d.log.Warn("pay order status answer", "err", derr)
		}
		unlock := d.lockOutcome(m)
		d.out.autoPayResolved(m, a, now)
		d.ack(m)
		unlock()
		return true
	case errors.Is(err, cmb.ErrRejected):
		// The platform has no such order: the AutoPay never happened; send
		// it again, same request_order. It stays unresolved until its
		// outcome: a lane must not withdraw a payment that once left with
		// an unknown outcome (charging twice is worse than waiting).
		if err := d.db.Resolve(m.Seq, now); err != nil {
			d.log.Error("outbox: resolve", "seq", m.Seq, "err", err)
		}
		return true
	default:
		wait := d.backoff(m.Attempts)
		if err := d.db.MarkUnresolved(m.Seq, started.Add(wait), err.Error()); err != nil {
			d.log.Error("outbox: mark unresolved", "seq", m.Seq, "err", err)
		}
		d.hold(started.Add(wait)) // unreachable or outcome unknown: pause the queue
		return false
	}
}

// retryNow makes every queued uplink due now (the console's queue retry).
func (d *dispatcher) retryNow() (int, error) {
	n, err := d.db.RetryAll(d.clk.Now())
	if err != nil {
		return n, err
	}
	d.hold(time.Time{})
	d.kick()
	return n, nil
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
