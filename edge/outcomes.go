package edge

import (
	"errors"
	"time"

	"laned/cmb"
	"laned/store"
)

// What the platform's answers mean: the Controller's side of the
// dispatcher (its outcomes). A contactless answer updates the plate's
// binding; an AutoPay's outcome is recorded as a payment (or settles a
// record released owing) and handed to the lane waiting for it.

var _ outcomes = (*Controller)(nil)

// delivered acts on a successful answer. It reports whether an AutoPay's
// outcome was handed to the lane waiting for it (which acks it).
func (c *Controller) delivered(m store.Message, env cmb.Envelope, now time.Time) bool {
	switch m.Kind {
	case store.KindIndata, store.KindAutoPayStatus:
		c.learnContactless(m, env, now)
	case store.KindAutoPay:
		a, err := cmb.DecodeAutoPayAnswer(env.Data)
		if err != nil {
			c.log.Warn("autopay answer", "record", m.RecordID, "err", err)
		}
		ap := autoPayOf(m)
		return c.autoPaySucceeded(m, ap.VplNumber, ap.Amount, a.ChannelOrder, a.PayTime, now, true)
	}
	return false
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

// autoPaySucceeded records an AutoPay's payment. handoff: when a lane
// waits for it, the payment (if not known yet) is handed to the lane, whose
// closing transaction records it and acks the AutoPay (it reports true);
// else it is recorded here, and the caller acks.
func (c *Controller) autoPaySucceeded(m store.Message, plate string, amount int64, channelOrder string, payTime int64, now time.Time, handoff bool) bool {
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
		c.out.finishAutoPay(m.RequestOrder, true, channelOrder, "")
		return false
	}
	known := c.knownPayment(m.RecordID, m.RequestOrder, channelOrder)
	if handoff {
		a := store.AutoPaid{Seq: m.Seq}
		if !known {
			a.Payment = &p
		}
		if c.out.handAutoPay(m.RequestOrder, a) {
			c.log.Info("contactless payment succeeded", "record", m.RecordID, "amount_fen", amount, "request_order", m.RequestOrder)
			return true
		}
	}
	if !known {
		if err := c.db.AddAutoPayment(p); err != nil && !errors.Is(err, store.ErrAlreadyRecorded) {
			c.log.Error("autopay: record payment", "record", m.RecordID, "err", err)
		}
	}
	c.log.Info("contactless payment succeeded", "record", m.RecordID, "amount_fen", amount, "request_order", m.RequestOrder)
	c.out.finishAutoPay(m.RequestOrder, true, channelOrder, "")
	return false
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
	c.out.ack(m)
	c.out.finishAutoPay(m.RequestOrder, false, "", detail)
}

// autoPayResolved acts on what PayOrderStatus found of an AutoPay whose
// answer was lost: it was charged (the platform's amount, when it says).
func (c *Controller) autoPayResolved(m store.Message, a cmb.PayOrderStatusAnswer, now time.Time) {
	ap := autoPayOf(m)
	if a.Amount > 0 {
		ap.Amount = a.Amount // what the platform charged
	}
	c.autoPaySucceeded(m, ap.VplNumber, ap.Amount, a.ChannelOrder, 0, now, false)
}
