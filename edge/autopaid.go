package edge

import (
	"context"
	"errors"

	"laned/edge/tariff"
	"laned/store"
)

// An AutoPay answered while its lane waits (handAutoPay): the lane's one
// closing transaction records the payment, takes the AutoPay off the
// outbox and closes the record, then the barrier rises. The spec's floor:
// the AutoPay durable before it is sent (the decision's commit), its
// outcome durable before the barrier moves (this commit), nothing between.
// Until the lane is done the dispatcher does not send it again; if the
// lane's commit fails, the AutoPay stays queued, is sent again with the
// same request_order (the platform answers idempotently) and its outcome
// is recorded then, once (store.AutoPaid records by request_order).

// autoPaid is called on the lane's goroutine with the outcome a of the
// AutoPay order, answered with status 0 and not recorded yet.
func (l *lane) autoPaid(ctx context.Context, order string, a store.AutoPaid) {
	committed := false
	defer func() { l.pays.handedBack(order, committed) }()
	v := l.veh
	if v == nil || v.state != vAutoPay || v.order != order {
		// The vehicle is gone meanwhile (a guard let it out, it backed
		// off): the outcome is recorded on its own.
		committed = l.recordAutoPaid(a)
		return
	}
	l.stopAutoPayTimer()
	rec, err := l.db.RecordByID(v.recordID)
	if err != nil {
		l.fail("record", err)
		committed = l.recordAutoPaid(a)
		return
	}
	q, err := l.quotePaid(rec, a.Payment)
	if err != nil {
		l.fail("quote", err)
		committed = l.recordAutoPaid(a)
		return
	}
	v.quote = q
	if q.Due == 0 {
		err := l.releasePaid(ctx, rec, q, nil, &a, "contactless paid")
		if err == nil {
			committed = true
			return
		}
		// Nothing of the exit committed (release said why): the outcome
		// is recorded on its own; repriced, the lane settles again.
		committed = l.recordAutoPaid(a)
		if errors.Is(err, errRepriced) && committed {
			l.resettle(ctx, rec.ID)
		}
		return
	}
	// Still due (the fee grew while it was paying): recorded, the rest by
	// scan, as settleAfterPayment does.
	if committed = l.recordAutoPaid(a); committed {
		l.settleAfterPayment(ctx, rec, "contactless paid")
	}
}

// recordAutoPaid records an AutoPay's outcome alone; false: it is still
// queued, to be sent again.
func (l *lane) recordAutoPaid(a store.AutoPaid) bool {
	if err := l.db.RecordAutoPaid(a); err != nil {
		l.log.Error("autopay: record payment", "lane", l.cfg.Name, "seq", a.Seq, "err", err)
		return false
	}
	return true
}

// quotePaid quotes rec now with the AutoPay's payment p counted (nil: it
// is recorded already), as the closing transaction will.
func (l *lane) quotePaid(rec store.Record, p *store.Payment) (q tariff.Quote, err error) {
	pays, err := l.db.Payments(rec.ID)
	if err != nil {
		return q, err
	}
	if p != nil && !recordedAutoPay(pays, p.RequestOrder) {
		pays = append(pays, *p)
	}
	at := l.priceAt()
	if q, err = l.price.quoteFrom(rec, pays, at, l.price.vipAt(rec, at)); err != nil {
		return q, err
	}
	arrears, err := l.price.arrearsFor(rec)
	if err != nil {
		return q, err
	}
	return addArrears(q, arrears), nil
}

// recordedAutoPay reports whether pays hold the AutoPay order's payment.
func recordedAutoPay(pays []store.Payment, order string) bool {
	for _, p := range pays {
		if p.RequestOrder == order {
			return true
		}
	}
	return false
}
