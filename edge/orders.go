package edge

import (
	"context"
	"errors"

	"laned/store"
)

// The AutoPay orders the dispatcher knows of, one map keyed by
// request_order with a state each. An order is in it while a lane waits
// for its outcome, while it is on the wire, once it was sent with an
// unknown outcome (until that outcome is known), and, withdrawn, until the
// dispatcher can no longer hold it in a batch read before the withdrawal:
// the map is bounded by the lanes waiting and the AutoPays queued.

type orderState uint8

const (
	orderQueued     orderState = iota // in the outbox, never sent with an unknown outcome
	orderOnWire                       // being sent right now
	orderUnresolved                   // sent with an unknown outcome: never withdrawn
	orderCancelled                    // withdrawn before it was ever sent
	orderHanded                       // answered, its outcome handed to the lane: not sent again
	orderSettled                      // its outcome committed by the lane: off the outbox
)

type autoPayOrder struct {
	state    orderState
	prev     orderState // on the wire: the state it goes back to
	lane     *lane      // the lane waiting for its outcome; nil: none
	recordID string
	// withdrawn: a cancelled order's withdrawal is complete (off the
	// outbox); donePass is the outbox read under way then.
	withdrawn bool
	donePass  uint64
}

// awaitAutoPay registers the lane waiting for a non-guaranteed AutoPay.
func (d *dispatcher) awaitAutoPay(order, recordID string, l *lane) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.order(order)
	o.lane, o.recordID = l, recordID
}

// order returns the order's entry, made if new (d.mu held).
func (d *dispatcher) order(order string) *autoPayOrder {
	o := d.orders[order]
	if o == nil {
		o = &autoPayOrder{}
		d.orders[order] = o
	}
	return o
}

// dropIdle forgets an order nobody waits for and nothing is known of
// (d.mu held).
func (d *dispatcher) dropIdle(order string, o *autoPayOrder) {
	if o.state == orderQueued && o.lane == nil {
		delete(d.orders, order)
	}
}

// forgetAutoPay: the lane no longer waits for the order.
func (d *dispatcher) forgetAutoPay(order string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.orders[order]; o != nil {
		o.lane = nil
		d.dropIdle(order, o)
	}
}

// autoPaying reports whether a contactless payment for the record is under
// way: calc must not invite the driver to pay the same stay by scan.
func (d *dispatcher) autoPaying(recordID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range d.orders {
		if (o.lane != nil || o.handed()) && o.recordID == recordID {
			return true
		}
	}
	return false
}

// autoPayOnWire reports whether the AutoPay is being sent right now.
func (d *dispatcher) autoPayOnWire(order string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.orders[order]
	return o != nil && o.state == orderOnWire
}

// cancelAutoPay withdraws an AutoPay that has certainly never reached the
// platform: not on the wire now, never sent with an unknown outcome. It
// reports whether it did, and else whether it is on the wire right now
// (worth asking again soon). A withdrawn AutoPay is deleted from the
// outbox, durably, so that a restart cannot send it either.
func (d *dispatcher) cancelAutoPay(ctx context.Context, order string) (cancelled, busy bool) {
	d.mu.Lock()
	o := d.order(order)
	switch o.state {
	case orderOnWire:
		d.mu.Unlock()
		return false, true
	case orderUnresolved, orderHanded, orderSettled:
		d.mu.Unlock()
		return false, false
	}
	o.state = orderCancelled
	d.mu.Unlock()
	var after uint64
	for {
		msgs, err := d.db.Messages(after, 256)
		if err != nil || len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			after = m.Seq
			if m.Kind == store.KindAutoPay && m.RequestOrder == order {
				if m.Unresolved {
					d.mu.Lock()
					if o := d.orders[order]; o != nil && o.state == orderCancelled {
						o.state = orderQueued
						d.dropIdle(order, o)
					}
					d.mu.Unlock()
					return false, false
				}
				if err := d.db.Ack(m.Seq); err != nil && !errors.Is(err, store.ErrNotFound) {
					d.log.Error("autopay: withdraw", "request_order", order, "err", err)
				}
				d.withdrawn(order)
				return true, false
			}
		}
	}
	d.withdrawn(order)
	return true, false // not in the outbox (already gone): nothing will send it
}

// withdrawn notes that a cancelled order is off the outbox: only a batch
// read before now can still hold it.
func (d *dispatcher) withdrawn(order string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.orders[order]; o != nil && o.state == orderCancelled {
		o.withdrawn, o.donePass = true, d.pass
	}
}

// nextPass starts an outbox read. The batches read before are done with:
// an order withdrawn before this read can no longer be in one, and is
// forgotten once no lane waits for it.
func (d *dispatcher) nextPass() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pass++
	for order, o := range d.orders {
		if (o.state == orderCancelled || o.state == orderSettled) && o.withdrawn && o.donePass < d.pass && o.lane == nil {
			delete(d.orders, order)
		}
	}
}

// onWire is deliver's look at a queued AutoPay before it is sent: a
// withdrawn one is dropped (orderCancelled), one sent before with an
// unknown outcome is resolved first (orderUnresolved); else it is on the
// wire now (orderOnWire) until offWire.
func (d *dispatcher) onWire(m store.Message) orderState {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.orders[m.RequestOrder]; o != nil {
		switch o.state {
		case orderCancelled, orderSettled:
			return orderCancelled // off the outbox: only a stale batch holds it
		case orderHanded:
			return orderHanded // the lane is committing its outcome
		}
	}
	o := d.order(m.RequestOrder)
	if m.Unresolved {
		o.state = orderUnresolved
		return orderUnresolved
	}
	o.prev, o.state = o.state, orderOnWire
	return orderOnWire
}

// offWire: the AutoPay's exchange is over; unknown: its outcome is.
func (d *dispatcher) offWire(order string, unknown bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.orders[order]
	if o == nil || o.state != orderOnWire {
		return
	}
	o.state = o.prev
	if unknown {
		o.state = orderUnresolved
	}
	d.dropIdle(order, o)
}

// finishAutoPay hands an AutoPay's outcome to the lane waiting for it, if
// any, and forgets the order (once off the wire).
func (d *dispatcher) finishAutoPay(order string, ok bool, channelOrder, detail string) {
	d.mu.Lock()
	o := d.orders[order]
	var l *lane
	if o != nil {
		l, o.lane = o.lane, nil
		if o.state == orderOnWire {
			o.prev = orderQueued // offWire forgets it
		} else {
			delete(d.orders, order)
		}
	}
	d.mu.Unlock()
	if l != nil {
		l.post(func(lctx context.Context) { l.autoPayDone(lctx, order, ok, channelOrder, detail) })
	}
}

// handAutoPay hands an answered AutoPay's outcome a, not recorded, to the
// lane waiting for it, if any: the lane's closing transaction records it
// and takes the AutoPay off the outbox (autoPaid), and until then the
// AutoPay is not sent again (orderHanded). It reports false, handing
// nothing, when no lane waits.
func (d *dispatcher) handAutoPay(order string, a store.AutoPaid) bool {
	d.mu.Lock()
	o := d.orders[order]
	if o == nil || o.lane == nil {
		d.mu.Unlock()
		return false
	}
	l := o.lane
	o.lane = nil
	if o.state == orderOnWire {
		o.prev = orderHanded // offWire keeps it handed
	} else {
		o.state = orderHanded
	}
	d.mu.Unlock()
	l.postOr(func(lctx context.Context) { l.autoPaid(lctx, order, a) },
		func() { d.handedBack(order, false) }) // the lane is gone: send it again
	return true
}

// isHanded reports whether m is an AutoPay whose outcome a lane is
// committing (not to be sent meanwhile).
func (d *dispatcher) isHanded(m store.Message) bool {
	if m.Kind != store.KindAutoPay {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.orders[m.RequestOrder]
	return o != nil && o.state == orderHanded
}

// autoPayHanded reports whether the AutoPay's outcome is on its way to
// (or being committed by) the lane that waited for it.
func (d *dispatcher) autoPayHanded(order string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.orders[order]
	return o != nil && o.handed()
}

// handed: the order's outcome is with its lane (or about to be, once off
// the wire).
func (o *autoPayOrder) handed() bool {
	return o.state == orderHanded || (o.state == orderOnWire && o.prev == orderHanded)
}

// handedBack: the lane is done with a handed AutoPay; committed, it is off
// the outbox (a batch read before now may still hold it), else it is
// queued again, to be sent again (same request_order) and its outcome
// recorded then.
func (d *dispatcher) handedBack(order string, committed bool) {
	d.mu.Lock()
	o := d.orders[order]
	if o != nil {
		next := orderQueued
		if committed {
			next = orderSettled
			o.withdrawn, o.donePass = true, d.pass
		}
		switch {
		case o.state == orderHanded:
			o.state = next
		case o.state == orderOnWire && o.prev == orderHanded:
			o.prev = next
		}
		d.dropIdle(order, o)
	}
	d.mu.Unlock()
	d.kick() // it may have idled on the handed AutoPay
}

// lockOutcome takes outcomeMu for an AutoPay's outcome; the returned
// function releases it (a no-op for other kinds).
func (d *dispatcher) lockOutcome(m store.Message) func() {
	if m.Kind != store.KindAutoPay {
		return func() {}
	}
	return d.lockOutcomes()
}

// lockOutcomes takes outcomeMu: an AutoPay's outcome and a lane's
// release owing of the same record see each other whole.
func (d *dispatcher) lockOutcomes() func() {
	d.outcomeMu.Lock()
	return d.outcomeMu.Unlock
}
