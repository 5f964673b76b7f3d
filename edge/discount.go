package edge

import (
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// Discount names in calc answers (discount.unit 0: fen).
const (
	discountGrace    = "提前支付预留时间内离场 (paid in advance, leaving within the grace)"
	discountVIP      = "授权车免费 (VIP / monthly pass)"
	discountMilitary = "军警车免费 (military / police)"
)

// discounts explains in calc's discount list why less is due than the
// stay costs: a grace after a payment, or a VIP/monthly or military
// waiver. For a waiver the full fee is returned as total (the tariff's fee
// for the stay), with the waived part as a discount. It returns total and
// the list (empty, never nil).
func (c *Controller) discounts(rec store.Record, q tariff.Quote, at time.Time) (int64, []cmb.Discount) {
	total := q.Total
	list := []cmb.Discount{}
	switch q.Reason {
	case tariff.ReasonGrace:
		if w := q.Total - q.Paid; w > 0 {
			list = append(list, cmb.Discount{Unit: cmb.DiscountAmount, Name: discountGrace, Value: w})
		}
	case tariff.ReasonVIP, tariff.ReasonMilitary:
		full, err := c.tariff.Load().Quote(tariff.Query{Class: q.Class, Entry: rec.InTime, Exit: at})
		if err != nil || full.Total == 0 {
			break
		}
		total = full.Total
		name := discountVIP
		if q.Reason == tariff.ReasonMilitary {
			name = discountMilitary
		}
		if w := full.Total - q.Paid; w > 0 {
			list = append(list, cmb.Discount{Unit: cmb.DiscountAmount, Name: name, Value: w})
		}
	}
	return total, list
}
