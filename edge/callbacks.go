package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// The platform's callbacks. The cmb.Server has checked appid, sign and
// park_code and decoded the fields before any of these runs.

// Calc answers a fee query in its three modes (spec §3.1).
func (c *Controller) Calc(ctx context.Context, r cmb.CalcRequest) (cmb.CalcAnswer, error) {
	now := c.now()
	switch r.Mode() {
	case cmb.CalcPlateQuery:
		rec, ok, err := c.findExact(r.VplNumber)
		if err != nil {
			return cmb.CalcAnswer{}, err
		}
		if !ok {
			return noOrder(r.VplNumber, "no vehicle with this plate is inside")
		}
		return c.calcAnswer(rec, now)
	case cmb.CalcExitScan, cmb.CalcUnlicensedExit:
	default:
		return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.StatusMalformed, Message: "calc needs out_code or vpl_number"}
	}
	l := c.laneByCode(Exit, *r.OutCode)
	if l == nil {
		return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcUnavailable, Message: fmt.Sprintf("out_code %d is not an exit of this car park", *r.OutCode)}
	}
	var at exitState
	if err := l.do(ctx, func() { at = l.exitSnapshot() }); err != nil {
		return cmb.CalcAnswer{}, err
	}
	if r.Mode() == cmb.CalcExitScan {
		switch {
		case !at.present:
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcNoPlate, Message: "no vehicle at this exit"}
		case at.unlicensed && at.recordID == "":
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcNoPlate, Message: "the vehicle at this exit has no plate: scan as an unlicensed vehicle"}
		case at.recordID == "":
			return noOrder(at.plate, "no open record for the vehicle at this exit")
		}
		return c.calcRecord(at.recordID, at.since)
	}
	// Unlicensed exit scan: answer by what stands at the exit (spec §3.1).
	switch {
	case at.present && !at.unlicensed:
		if at.recordID == "" {
			return noOrder(at.plate, "no open record for the vehicle at this exit")
		}
		return c.calcRecord(at.recordID, at.since)
	case at.present: // an unlicensed vehicle: the virtual plate names its record
		rec, ok, err := c.findExact(r.VplNumber)
		if err != nil {
			return cmb.CalcAnswer{}, err
		}
		if !ok {
			return noOrder(r.VplNumber, "no open record for this virtual plate")
		}
		a, err := c.calcAnswer(rec, at.since)
		if err == nil {
			q, qerr := c.quote(rec, at.since)
			if qerr == nil {
				l.post(func(lctx context.Context) { l.bindUnlicensed(lctx, rec, q) })
			}
		}
		return a, err
	default: // nothing at the exit
		rec, ok, err := c.findExact(r.VplNumber)
		if err != nil {
			return cmb.CalcAnswer{}, err
		}
		if !ok {
			return noOrder("", "no vehicle at this exit and no open record for this virtual plate")
		}
		a, err := c.calcAnswer(rec, now)
		a.VplNumber = ""
		return a, err
	}
}

func noOrder(plate, why string) (cmb.CalcAnswer, error) {
	return cmb.CalcAnswer{VplNumber: plate, Discount: []cmb.Discount{}}, &cmb.AnswerError{Status: cmb.CalcNoRecord, Message: why}
}

func (c *Controller) findExact(plate string) (store.Record, bool, error) {
	rec, err := c.db.OpenByPlate(plate)
	if errors.Is(err, store.ErrNotFound) {
		return store.Record{}, false, nil
	}
	return rec, err == nil, err
}

func (c *Controller) calcRecord(id string, now time.Time) (cmb.CalcAnswer, error) {
	rec, err := c.db.RecordByID(id)
	if err != nil {
		return cmb.CalcAnswer{}, err
	}
	return c.calcAnswer(rec, now)
}

func (c *Controller) calcAnswer(rec store.Record, now time.Time) (cmb.CalcAnswer, error) {
	if c.out.autoPaying(rec.ID) {
		// A contactless charge for this stay is on its way: a scan now
		// would charge the driver twice.
		return cmb.CalcAnswer{VplNumber: rec.Plate}, &cmb.AnswerError{Status: cmb.CalcUnavailable, Message: "contactless payment under way: no need to scan"}
	}
	q, err := c.quote(rec, now)
	if err != nil {
		if errors.Is(err, tariff.ErrClass) {
			return cmb.CalcAnswer{VplNumber: rec.Plate}, &cmb.AnswerError{Status: cmb.CalcUnknownVehicle, Message: "unknown vehicle type"}
		}
		c.log.Error("calc: tariff", "record", rec.ID, "err", err)
		return cmb.CalcAnswer{VplNumber: rec.Plate}, &cmb.AnswerError{Status: cmb.CalcTariffError, Message: "the tariff cannot price this stay"}
	}
	in := rec.InTime.Unix()
	out := now.Unix()
	if out < in {
		out = in
	}
	total, disc := c.discounts(rec, q, now)
	c.quotes.put(rec.ID, now, q.Due)
	return cmb.CalcAnswer{
		VplNumber: rec.Plate, RecordID: rec.ID, BillID: billID(rec.ID, now, q.Due),
		InTime: in, OutTime: out, Duration: out - in,
		Charge:   cmb.Charge{TotalPrice: total, ShouldPay: q.Due, Paid: q.Paid},
		Discount: disc,
	}, nil
}

// Pay records a payment notice — all its items in one transaction, or
// none — idempotently by order, and lets the paid vehicle out if it waits
// at an exit and nothing remains due.
func (c *Controller) Pay(ctx context.Context, r cmb.PayRequest) error {
	rec, err := c.db.RecordByID(r.RecordID)
	if errors.Is(err, store.ErrNotFound) {
		return &cmb.AnswerError{Status: cmb.StatusFailed, Message: "unknown record_id " + r.RecordID}
	}
	if err != nil {
		return err
	}
	var audits []store.Message
	plate := r.VplNumber
	switch {
	case plate == "":
		plate = rec.Plate // calc answers an empty plate for "nothing at the exit"
	case plate != rec.Plate:
		// Credited by record_id: the money was taken for that stay.
		c.log.Warn("pay: plate differs from the record's", "record", rec.ID, "record_plate", rec.Plate, "vpl_number", r.VplNumber)
		audits = append(audits, c.auditMsg("pay_plate", rec.OutCode, "record %s (%s): pay notice for plate %s credited by record_id", rec.ID, rec.Plate, r.VplNumber))
	}
	payTime := time.Unix(r.PayTime, 0)
	quotedAt, quoted, haveQuote := c.quoteUsed(ctx, rec, r.BillID, payTime)
	var ps []store.Payment
	var total int64
	for _, it := range r.PayList {
		total += it.Amount
		if c.knownPayment(rec.ID, it.Order) {
			// The notice of a contactless payment we recorded from the
			// AutoPay answer (by channel_order or request_order).
			c.log.Info("pay: notice of a recorded payment", "record", rec.ID, "order", it.Order)
			continue
		}
		if handled, _, err := c.contactlessNotice(rec, r, it); err != nil {
			return err
		} else if handled {
			continue // the AutoPay's money, recorded once; its answer moves the lane
		}
		p := store.Payment{Order: it.Order, RecordID: rec.ID, Plate: plate, BillID: r.BillID, PayType: int(it.PayType),
			Amount: it.Amount, PayTime: payTime, Notice: r.PayList[0].Order}
		if haveQuote {
			p.QuotedAt, p.Quoted = quotedAt, quoted
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil
	}
	if haveQuote && total != quoted {
		audits = append(audits, c.auditMsg("pay_mismatch", rec.OutCode, "record %s: paid %d fen, quoted %d fen due", rec.ID, total, quoted))
	}
	fresh, stored, err := c.db.AddPayments(ps, audits...)
	switch {
	case errors.Is(err, store.ErrOverflow), errors.Is(err, store.ErrInvalid):
		return &cmb.AnswerError{Status: cmb.StatusMalformed, Message: "pay_list: " + err.Error()}
	case err != nil:
		return err
	}
	if len(fresh) == 0 {
		return nil // a replay: answered as a success, nothing credited twice
	}
	c.log.Info("pay: recorded", "record", rec.ID, "plate", rec.Plate, "amount_fen", total)
	if fresh[0].AfterExit {
		c.audit("late_payment", stored.OutCode, "record %s was closed; payment of %d fen recorded after the exit", rec.ID, total)
		return nil
	}
	c.wakePaid(rec.ID)
	c.markSpaces()
	return nil
}

// wakePaid tells every exit that record id got a payment: the exit it
// waits at settles it (lane.paid), the others ignore it.
func (c *Controller) wakePaid(id string) {
	for _, l := range c.lanes {
		if l.cfg.Kind == Exit {
			l.post(func(lctx context.Context) { l.paid(lctx, id) })
		}
	}
}

// NoVpln admits an unlicensed vehicle at an entry (spec §3.4).
func (c *Controller) NoVpln(ctx context.Context, r cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
	l := c.laneByCode(Entry, r.InCode)
	if l == nil {
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: cmb.NoVplnNoVehicle, Message: fmt.Sprintf("in_code %d is not an entry of this car park", r.InCode)}
	}
	var status int
	var why string
	// The admission runs under the lane's context: the platform's request
	// may time out after the record committed, the barrier still rises.
	if err := l.act(ctx, func(lctx context.Context) { status, why = l.noVpln(lctx, r.VplNumber) }); err != nil {
		return cmb.NoVplnAnswer{}, err
	}
	if status != cmb.StatusOK {
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: status, Message: why}
	}
	return cmb.NoVplnAnswer{VplNumber: r.VplNumber}, nil
}

// ---- uplink builders ----

func (c *Controller) indata(rec store.Record) ([]store.Message, error) {
	colour := cmb.Colour(rec.PlateColor)
	r := cmb.Indata{
		ParkCode: c.cfg.ParkCode, InCode: rec.InCode, VplNumber: rec.Plate, RecordID: rec.ID,
		InTime: rec.InTime.Unix(), CarType: cmb.CarType(rec.CarType), PowerType: cmb.PowerType(rec.PowerType),
		AuthType: cmb.AuthType(rec.AuthType),
	}
	if !rec.Unlicensed && colour.Valid() {
		r.PlateColor = &colour
	}
	v, err := r.Values()
	if err != nil {
		return nil, err
	}
	return append([]store.Message{c.msg(store.KindIndata, rec.ID, v)}, c.statusQuery(rec)...), nil
}

func (c *Controller) outdata(rec store.Record, items []store.ChargeItem) (store.Message, error) {
	r := cmb.Outdata{
		ParkCode: c.cfg.ParkCode, InCode: rec.InCode, OutCode: rec.OutCode, VplNumber: rec.Plate,
		RecordID: rec.ID, InTime: rec.InTime.Unix(), OutTime: max(rec.OutTime.Unix(), rec.InTime.Unix()),
		ChargeItems: []cmb.ChargeItem{},
	}
	for _, it := range items {
		r.ChargeItems = append(r.ChargeItems, cmb.ChargeItem{
			ShouldPay: it.ShouldPay, ActualPay: it.ActualPay, PayType: cmb.PayType(it.PayType),
			TollCollector: it.TollCollector, SeqNum: it.SeqNum, Time: it.Time.Unix(),
		})
	}
	v, err := r.Values()
	if err != nil {
		return store.Message{}, err
	}
	return c.msg(store.KindOutdata, rec.ID, v), nil
}
