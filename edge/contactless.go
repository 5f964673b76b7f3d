package edge

import (
	"context"
	"errors"
	"time"

	"laned/cmb"
	"laned/store"
)

// Contactless agreements (bind, unbind, what Indata and AutoPayStatus
// answers say) and the bank's pay notices for contactless payments.

// AutoPayBind keeps a contactless agreement locally, so that an exit needs
// no status query. A post_url that is not https is refused; so is a bind
// that repeats one a later unbind of the plate undid (a replay). Every
// bind and its refusal are audited.
func (c *Controller) AutoPayBind(ctx context.Context, r cmb.AutoPayBindRequest) error {
	if err := cmb.CheckPostURL(r.PostURL); err != nil {
		c.audit("bind_refused", 0, "autoPayBind of %s refused: %v", r.VplNumber, err)
		return &cmb.AnswerError{Status: cmb.StatusMalformed, Message: err.Error() + " (https only)"}
	}
	b := store.Binding{
		Plate: r.VplNumber, Limit: r.Limit, SerialNo: r.SerialNo, PostURL: r.PostURL,
		AutoPayType: int(r.AutoPayType), Source: store.SourceBind, Updated: c.now(),
	}
	err := c.db.Bind(b, c.auditMsg("bind", 0, "autoPayBind %s: limit %d fen, serial_no %q, post_url %q, auto_pay_type %d", b.Plate, b.Limit, b.SerialNo, b.PostURL, b.AutoPayType))
	if errors.Is(err, store.ErrReplayed) {
		c.audit("bind_refused", 0, "autoPayBind of %s refused as a replay: %v", r.VplNumber, err)
		c.log.Warn("bind refused: replay", "plate", r.VplNumber, "serial_no", r.SerialNo)
		return &cmb.AnswerError{Status: cmb.StatusReplayed, Message: "this bind repeats one the plate's later unbind undid (replay refused)"}
	}
	return err
}

// AutoPayUnbind forgets a contactless agreement, audited.
func (c *Controller) AutoPayUnbind(ctx context.Context, r cmb.AutoPayUnbindRequest) error {
	_, err := c.db.Unbind(r.VplNumber, c.now(), c.auditMsg("unbind", 0, "autoPayUnbind %s", r.VplNumber))
	return err
}

// statusQuery is the AutoPayStatus to queue with an entry when nothing is
// known of the plate's agreement: droppable, after the record's Indata, and
// never on the barrier's path (it rides in the entry's commit).
func (c *Controller) statusQuery(rec store.Record) []store.Message {
	if rec.Unlicensed {
		return nil
	}
	if _, err := c.db.Binding(rec.Plate); !errors.Is(err, store.ErrNotFound) {
		return nil // known (or the store cannot tell: do not add to its trouble)
	}
	v, err := cmb.AutoPayStatus{ParkCode: c.cfg.ParkCode, VplNumber: rec.Plate}.Values()
	if err != nil {
		c.log.Warn("autopay status", "plate", rec.Plate, "err", err)
		return nil
	}
	return []store.Message{c.msg(store.KindAutoPayStatus, rec.ID, v)}
}

// learnContactless keeps what an Indata or AutoPayStatus answer says of
// the plate's agreement. Silence (no data, no uid) says nothing: only uid
// present and 0 ends a binding, and only one older than the question.
func (c *Controller) learnContactless(m store.Message, env cmb.Envelope, now time.Time) {
	st, err := cmb.DecodeContactlessState(env.Data)
	if err != nil {
		c.log.Warn("contactless answer", "kind", m.Kind, "record", m.RecordID, "err", err)
		return
	}
	plate, err := plateOf(m)
	if err != nil {
		c.log.Error("contactless answer: the queued uplink does not decode", "seq", m.Seq, "err", err)
		return
	}
	src := store.SourceIndata
	if m.Kind == store.KindAutoPayStatus {
		src = store.SourceStatus
	} else if st.Known {
		c.noteAnswered(plate, now)
	}
	switch {
	case st.Contactless():
		b, err := c.db.Binding(plate)
		if err != nil {
			b = store.Binding{Plate: plate}
		}
		b.Limit, b.Source, b.Updated = st.Limit, src, now
		if err := c.db.PutBinding(b); err != nil {
			c.log.Error("binding from "+m.Kind, "plate", plate, "err", err)
		}
	case st.NotContactless():
		if b, err := c.db.Binding(plate); err == nil && b.Updated.Before(m.Created) {
			if _, err := c.db.DeleteBinding(plate); err != nil {
				c.log.Error("unbinding from "+m.Kind, "plate", plate, "err", err)
			}
		}
	default:
		c.log.Info("contactless answer without uid: binding kept as it is", "kind", m.Kind, "plate", plate)
	}
}

// contactlessNotice records a pay_type 99 notice that is the money of the
// record's AutoPay, once: the AutoPay succeeded (its payment has no
// notice yet) or is still queued or on the wire, with the same amount,
// whatever order the notice carries. It reports whether the notice was
// such money (handled), and whether it was recorded now (fresh: the
// AutoPay's answer had not come yet).
func (c *Controller) contactlessNotice(rec store.Record, r cmb.PayRequest, it cmb.PayItem) (handled, fresh bool, err error) {
	if it.PayType != cmb.PayCMB {
		return false, false, nil
	}
	pays, err := c.db.Payments(rec.ID)
	if err != nil {
		return false, false, err
	}
	p := store.Payment{Order: it.Order, BankNotice: it.Order, RecordID: rec.ID, Plate: rec.Plate, PayType: int(it.PayType), Amount: it.Amount, PayTime: time.Unix(r.PayTime, 0)}
	for _, q := range pays {
		if q.RequestOrder != "" && q.BankNotice == "" && q.Amount == it.Amount {
			p.RequestOrder, p.BillID = q.RequestOrder, q.RequestOrder
			break
		}
	}
	if p.RequestOrder == "" {
		queued, err := c.db.QueuedAutoPays(rec.ID)
		if err != nil {
			return false, false, err
		}
		for _, m := range queued {
			if autoPayOf(m).Amount == it.Amount {
				p.RequestOrder, p.BillID = m.RequestOrder, m.RequestOrder
				break
			}
		}
	}
	if p.RequestOrder == "" {
		return false, false, nil
	}
	switch err := c.db.AddAutoPayment(p); {
	case errors.Is(err, store.ErrAlreadyRecorded):
	case err != nil:
		return false, false, err
	default:
		fresh = true
	}
	c.log.Info("pay: notice of a contactless payment, recorded once", "record", rec.ID, "order", it.Order, "request_order", p.RequestOrder, "amount_fen", it.Amount)
	c.audit("contactless_notice", rec.OutCode, "record %s: pay notice %s of %d fen is the money of AutoPay %s: recorded once", rec.ID, it.Order, it.Amount, p.RequestOrder)
	return true, fresh, nil
}

// maxAnswered bounds the plates remembered as answered by Indata.
const maxAnswered = 4096

func (c *Controller) noteAnswered(plate string, at time.Time) {
	c.answeredMu.Lock()
	defer c.answeredMu.Unlock()
	if len(c.answered) >= maxAnswered {
		clear(c.answered) // only saves uplinks: forgetting is harmless
	}
	c.answered[plate] = at
}

// statusAnswered reports whether m is a status query queued at an entry
// whose Indata has answered with the plate's uid since: it is moot.
func (c *Controller) statusAnswered(m store.Message) bool {
	if m.Kind != store.KindAutoPayStatus || m.RecordID == "" {
		return false
	}
	plate, err := plateOf(m)
	if err != nil {
		return false
	}
	c.answeredMu.Lock()
	defer c.answeredMu.Unlock()
	at, ok := c.answered[plate]
	if ok {
		delete(c.answered, plate)
	}
	return ok && !at.Before(m.Created)
}
