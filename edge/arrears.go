package edge

import (
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// Arrears (欠费): what a plate left owing at an earlier exit (an offline
// release refused afterwards), collected at its next exit.

// lineArrears is the Kind of a quote line that carries an arrears of the
// plate: Segment is the record that left it, Fen the amount.
const lineArrears = "arrears"

// arrearsFor lists the arrears of rec's plate other than rec's own (none
// for an unlicensed vehicle).
func (c *Controller) arrearsFor(rec store.Record) ([]store.Arrear, error) {
	if rec.Unlicensed || rec.NoEntry != nil {
		return nil, nil // a no-entry exit collects nothing but its fee
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
