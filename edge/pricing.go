package edge

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// Pricing a stay: the tariff's quote with the stay's payments, VIP status
// and the plate's arrears; the charge items an Outdata reports; the quote a
// pay notice answers.

// findRecord finds the open record of a plate read with confidence conf
// (0: unknown): exact, else the one look-alike (see matchPlate), through
// the store's look-alike index; it never decodes every open record.
//
// minConf is the lane's min_confidence (0: none): a read below it is a
// misread candidate, weighed with its look-alikes even when exact.
func (c *Controller) findRecord(plate string, conf, minConf int) (lookup, error) {
	if !misread(conf, minConf) {
		rec, err := c.db.OpenByPlate(plate)
		if err == nil {
			return lookup{rec: rec, found: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return lookup{}, err
		}
	}
	near, err := c.db.OpenLookalikes(plate)
	if err != nil {
		return lookup{}, err
	}
	plates := make([]string, len(near))
	for i, r := range near {
		plates[i] = r.Plate
	}
	m, amb := matchPlate(plate, conf, minConf, plates)
	if m == "" {
		return lookup{ambiguous: amb}, nil
	}
	return lookup{rec: near[slices.Index(plates, m)], found: true}, nil
}

// vipAt reports whether rec's vehicle is exempt as VIP or monthly at `at`.
func (c *Controller) vipAt(rec store.Record, at time.Time) bool {
	if rec.AuthType == store.AuthVIP {
		return true
	}
	if rec.Unlicensed {
		return false
	}
	lv, err := c.db.LookupVehicle(rec.Plate, at)
	return err == nil && (lv.List == store.ListVIP || lv.List == store.ListMonthly)
}

// quote prices rec for an exit or a query at `at` from the store.
func (c *Controller) quote(rec store.Record, at time.Time) (tariff.Quote, error) {
	pays, err := c.db.Payments(rec.ID)
	if err != nil {
		return tariff.Quote{}, err
	}
	q, err := c.quoteFrom(rec, pays, at, c.vipAt(rec, at))
	if err != nil {
		return q, err
	}
	return c.withArrears(rec, q) // the plate's arrears (欠费) are collected at its exit
}

// quoteFrom prices rec at `at` with the payments given: pure, so that it
// runs inside the closing transaction.
func (c *Controller) quoteFrom(rec store.Record, pays []store.Payment, at time.Time, vip bool) (tariff.Quote, error) {
	if rec.NoEntry != nil {
		return c.noEntryQuote(rec, pays), nil
	}
	var paid int64
	var last, quotedAt time.Time
	for _, p := range pays {
		paid += p.Amount
		if !p.PayTime.Before(last) {
			last, quotedAt = p.PayTime, p.QuotedAt
		}
	}
	e := c.tariff.Load()
	return e.Quote(tariff.Query{
		Class: tariff.Classify(rec.Plate, rec.PlateColor), Entry: rec.InTime, Exit: at,
		VIP: vip, Military: e.IsMilitaryPolice(rec.Plate), Paid: paid, LastPayTime: last, LastQuotedAt: quotedAt,
	})
}

// chargeItems lists the stay's payments, and what was waived, as
// Outdata's charge items, with the audit events of what it had to
// correct (pure: it runs inside the closing transaction).
func (c *Controller) chargeItems(rec store.Record, q tariff.Quote, pays []store.Payment, now time.Time) ([]store.ChargeItem, []store.Message) {
	var items []store.ChargeItem
	var audits []store.Message
	for _, p := range pays {
		pt := p.PayType
		if !cmb.PayType(pt).Valid() {
			// A notice's pay_type is 99 (§4.2); an undocumented code must
			// not stop the record from closing. The payment keeps it.
			audits = append(audits, c.auditMsg("pay_type", rec.OutCode, "record %s: payment %s has undocumented pay_type %d; reported as %d", rec.ID, p.Order, pt, cmb.PayCMB))
			pt = int(cmb.PayCMB)
		}
		items = append(items, store.ChargeItem{PayType: pt, TollCollector: c.cfg.TollCollector, ShouldPay: p.Amount, ActualPay: p.Amount, Time: p.PayTime, SeqNum: p.Order})
	}
	switch {
	case q.Total == 0 && len(items) == 0 && q.Reason == tariff.ReasonFreePeriod:
		items = append(items, store.ChargeItem{PayType: int(cmb.PayShortStayFree), TollCollector: c.cfg.TollCollector, Time: now, SeqNum: rec.ID + "F"})
	case q.Reason == tariff.ReasonVIP || q.Reason == tariff.ReasonMilitary:
		// Exempt: report what the stay would have cost, waived.
		full, err := c.tariff.Load().Quote(tariff.Query{Class: q.Class, Entry: rec.InTime, Exit: now, Paid: q.Paid})
		if err == nil && full.Due > 0 {
			items = append(items, store.ChargeItem{PayType: int(exemptPayType(q.Reason)), TollCollector: c.cfg.TollCollector, ShouldPay: full.Due, Time: now, SeqNum: rec.ID + "W"})
		}
	case q.Reason == tariff.ReasonGrace && q.Total > q.Paid:
		items = append(items, store.ChargeItem{PayType: int(cmb.PayPrepaidGrace), TollCollector: c.cfg.TollCollector, ShouldPay: q.Total - q.Paid, Time: now, SeqNum: rec.ID + "G"})
	}
	return items, audits
}

// exemptPayType is the pay_type of a waived stay: 7 (授权车免费) for a VIP
// or monthly vehicle, 52 (free by tariff) for a military or police one.
func exemptPayType(r tariff.Reason) cmb.PayType {
	if r == tariff.ReasonVIP {
		return cmb.PayAuthorisedFree
	}
	return cmb.PayTariffFree
}

// billID names the quote calc gave for rec at `at` (calc's bill_id, which
// the pay notice carries back, §4.2): the record, the time and the due.
func billID(recordID string, at time.Time, due int64) string {
	return recordID + "Q" + strconv.FormatInt(at.Unix(), 10) + "D" + strconv.FormatInt(due, 10)
}

// parseBillID reads a bill_id made by billID for recordID; ok false for
// anything else (an empty or foreign bill_id).
func parseBillID(recordID, s string) (at time.Time, due int64, ok bool) {
	rest, found := strings.CutPrefix(s, recordID+"Q")
	if !found {
		return time.Time{}, 0, false
	}
	ts, ds, found := strings.Cut(rest, "D")
	if !found {
		return time.Time{}, 0, false
	}
	sec, err1 := strconv.ParseInt(ts, 10, 64)
	due, err2 := strconv.ParseInt(ds, 10, 64)
	if err1 != nil || err2 != nil || sec < cmb.MinUnixTime || sec > cmb.MaxUnixTime || due < 0 || due > store.MaxAmount {
		return time.Time{}, 0, false
	}
	return time.Unix(sec, 0), due, true
}

// quoteUsed is the quote a pay notice answers: calc's, named by the
// bill_id it carries back; else the quote of the exit lane where the
// vehicle waits; else the stay priced at the payment (before it). ok is
// false when none can be had.
func (c *Controller) quoteUsed(ctx context.Context, rec store.Record, bill string, payTime time.Time) (at time.Time, due int64, ok bool) {
	if at, due, ok := parseBillID(rec.ID, bill); ok {
		return at, due, true
	}
	if m, ok := c.quotes.get(rec.ID); ok && !m.at.After(payTime) && payTime.Sub(m.at) <= c.tariff.Load().ReservedOutTime() {
		return m.at, m.due, true // calc's quote, when the platform did not carry the bill_id back
	}
	if !rec.State.Open() {
		return time.Time{}, 0, false
	}
	for _, l := range c.lanes {
		if l.cfg.Kind != Exit {
			continue
		}
		var st exitState
		var q tariff.Quote
		err := l.do(ctx, func() {
			st = l.exitSnapshot()
			if l.veh != nil {
				q = l.veh.quote
			}
		})
		if err == nil && st.present && st.recordID == rec.ID {
			return st.since, q.Due, true
		}
	}
	at = payTime
	if now := c.now(); at.After(now) {
		at = now
	}
	if at.Before(rec.InTime) {
		at = rec.InTime
	}
	q, err := c.quote(rec, at)
	if err != nil {
		return time.Time{}, 0, false
	}
	return at, q.Due, true
}

// quoteMemo keeps calc's last quote per record in memory (bounded), for a
// pay notice that comes back without calc's bill_id. Lost on restart: the
// notice is then checked against the price at its own time.
type quoteMemo struct {
	mu sync.Mutex
	m  map[string]memo
}

type memo struct {
	at  time.Time
	due int64
}

const maxQuoteMemo = 4096

func (q *quoteMemo) put(recordID string, at time.Time, due int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil || len(q.m) >= maxQuoteMemo {
		q.m = make(map[string]memo) // bounded: forget them all rather than grow
	}
	q.m[recordID] = memo{at, due}
}

func (q *quoteMemo) get(recordID string) (memo, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.m[recordID]
	return m, ok
}

// lookup is what findRecord found for a read plate.
type lookup struct {
	rec       store.Record
	found     bool
	ambiguous []string // the look-alike plates inside when more than one may be the read
}
