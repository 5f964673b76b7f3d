package edge

import (
	"sync"
	"time"

	"laned/store"
)

// A record's uplinks across the boxes of a site. A car that entered at
// box A and leaves at box C has its Indata queued at A and its Outdata
// (pictures, …) at C: the bank must see the Indata first, and within a
// box the outbox keeps that order, across boxes nothing does. So the
// dispatcher of a box of a site keeps a record's uplink back while an
// uplink of the same record created before it is still queued at another
// box (that box's shadow queue here, store.DueInSite), and looks again
// when that box reports it delivered (replication applies its
// ReplUplinkDone and the site calls Controller.SiteApplied, which kicks
// the dispatcher when it holds something). Bounded: a box that
// never reports (cut off, dead) must not keep this box's Outdata for
// ever, so after Config.HoldElsewhere from the message's creation it is
// sent anyway, logged and audited once ("uplink_hold_expired"). The bank
// then sees that one record out of order, as it would have without the
// hold.
//
// AutoPay (decision): not held while a lane waits for its answer, nor
// once sent with an unknown outcome (Unresolved: its PayOrderStatus and
// any resend must go on); held like the Outdata otherwise (an owed fee of
// a car released offline, whose lane no longer waits). The lane releases
// a contactless car on the AutoPay's answer (cmb-parking-api.md §4: "the
// lane releases on the answer status 0"), so holding a waited AutoPay
// would keep a car at the barrier for up to HoldElsewhere and then send it
// anyway. And the bank can take it: the original document (§5.1) makes
// the charge a request after the exit ("车辆出场后") naming park_code,
// vpl_number, record_id, amount and request_order against the plate's
// contactless agreement; nothing there refuses an AutoPay whose record's
// Indata has not arrived (only our simulator, stricter than the document,
// lists it as an order violation). So a car waiting at the barrier wins
// over the order; where no car waits, the order is kept. A lane that
// starts waiting for a held AutoPay (awaitQueuedAutoPay) kicks the
// dispatcher, and the next pass sends it.
//
// Without a box (no site) nothing of this runs: the dispatcher reads
// store.Due as before.

// siteHold is the dispatcher's memory of what it held, so that each hold
// and each expiry is logged (and audited) once per run.
type siteHold struct {
	max time.Duration // Config.HoldElsewhere

	mu      sync.Mutex
	holding int             // messages the last pass held
	held    map[uint64]bool // seqs logged as held
	freed   map[uint64]bool // seqs whose hold expired (logged and audited)
}

// maxHoldMemory bounds the sets above: past it they start again (a seq
// gone meanwhile is never seen again; one still queued is at worst logged
// a second time).
const maxHoldMemory = 4096

func newSiteHold(max time.Duration) *siteHold {
	return &siteHold{max: max, held: map[uint64]bool{}, freed: map[uint64]bool{}}
}

// heldMsg is a message the last pass kept back (or would have, had its
// hold not expired) and the earlier uplink at another box it waits for.
type heldMsg struct {
	m     store.Message
	first store.ShadowedUplink
	until time.Time
}

// fn is the store's HoldFunc for a pass at now; it notes in held and
// freed (when not nil) what it decided.
// waited holds the request_orders lanes wait for.
func (s *siteHold) fn(now time.Time, waited map[string]bool, held, freed *[]heldMsg) store.HoldFunc {
	return func(m *store.Message, first store.ShadowedUplink) time.Time {
		if m.Kind == store.KindAutoPay && (m.Unresolved || waited[m.RequestOrder]) {
			return time.Time{} // a car waits, or its outcome is asked: see above
		}
		until := m.Created.Add(s.max)
		if held != nil {
			h := heldMsg{m: *m, first: first, until: until}
			if until.After(now) {
				*held = append(*held, h)
			} else {
				*freed = append(*freed, h)
			}
		}
		return until
	}
}

// due is store.Due, with the site's holds when this box is in one.
func (d *dispatcher) due(now time.Time, limit int) ([]store.Message, error) {
	if d.site == nil {
		return d.db.Due(now, limit)
	}
	var held, freed []heldMsg
	msgs, err := d.db.DueInSite(now, limit, d.site.fn(now, d.waitedOrders(), &held, &freed))
	if err == nil {
		d.noteHolds(held, freed)
	}
	return msgs, err
}

// nextDue is store.NextDue, a held message counting as due when its hold
// expires.
func (d *dispatcher) nextDue(now time.Time) (time.Time, bool, error) {
	if d.site == nil {
		return d.db.NextDue()
	}
	return d.db.NextDueInSite(d.site.fn(now, d.waitedOrders(), nil, nil))
}

// replApplied wakes the dispatcher after another box's log entries were
// applied here, when its last pass held something: they may include the
// uplink_done it waits for. Otherwise it costs nothing.
func (d *dispatcher) replApplied() {
	if d.site == nil {
		return
	}
	d.site.mu.Lock()
	n := d.site.holding
	d.site.mu.Unlock()
	if n > 0 {
		d.kick()
	}
}

// waitedOrders returns the request_orders a lane waits for, read before
// the store's transaction (the hold decides inside it, without d.mu).
func (d *dispatcher) waitedOrders() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := map[string]bool{}
	for order, o := range d.orders {
		if o.lane != nil {
			w[order] = true
		}
	}
	return w
}

// noteHolds logs each new hold, and logs and audits each expired one,
// once.
func (d *dispatcher) noteHolds(held, freed []heldMsg) {
	s := d.site
	s.mu.Lock()
	if len(s.held) > maxHoldMemory {
		clear(s.held)
	}
	if len(s.freed) > maxHoldMemory {
		clear(s.freed)
	}
	var expired []heldMsg
	s.holding = len(held)
	for _, h := range held {
		if !s.held[h.m.Seq] {
			s.held[h.m.Seq] = true
			d.log.Info("uplink held: an earlier uplink of its record is queued at another box",
				"kind", h.m.Kind, "record", h.m.RecordID, "seq", h.m.Seq, "box", h.first.Origin,
				"waits_for", h.first.Kind, "until", h.until)
		}
	}
	for _, h := range freed {
		if !s.freed[h.m.Seq] {
			s.freed[h.m.Seq] = true
			expired = append(expired, h)
		}
	}
	s.mu.Unlock()
	for _, h := range expired {
		d.log.Warn("uplink sent although an earlier uplink of its record is still queued at another box",
			"kind", h.m.Kind, "record", h.m.RecordID, "seq", h.m.Seq, "box", h.first.Origin,
			"waits_for", h.first.Kind, "held_for", d.site.max)
		d.out.audit("uplink_hold_expired", 0, "%s for record %s sent although its %s is still queued at box %s (held %s at most)",
			h.m.Kind, h.m.RecordID, h.first.Kind, h.first.Origin, d.site.max)
	}
}

func (c *Controller) holdElsewhere() time.Duration { return c.cfg.HoldElsewhere }
