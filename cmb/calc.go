package cmb

import "net/url"

// ---- calc (§4.1) ----

// CalcRequest is a fee query. OutCode present: exit scan; VplNumber present:
// plate query; both: unlicensed exit scan. At least one is required.
type CalcRequest struct {
	ParkCode  int64
	OutCode   *int   // optional
	VplNumber string // optional
	Extra     url.Values
}

// CalcMode tells the three uses of calc apart.
type CalcMode int

const (
	CalcExitScan       CalcMode = iota + 1 // park_code + out_code
	CalcPlateQuery                         // park_code + vpl_number
	CalcUnlicensedExit                     // park_code + out_code + vpl_number
)

// Mode returns the use of r (0 if neither out_code nor vpl_number is set).
func (r CalcRequest) Mode() CalcMode {
	switch {
	case r.OutCode != nil && r.VplNumber != "":
		return CalcUnlicensedExit
	case r.OutCode != nil:
		return CalcExitScan
	case r.VplNumber != "":
		return CalcPlateQuery
	}
	return 0
}

var calcRequestTable = &table[CalcRequest]{
	extra: func(r *CalcRequest) *url.Values { return &r.Extra },
	fields: []field[CalcRequest]{
		num(ruleParkCode, func(r *CalcRequest) *int64 { return &r.ParkCode }),
		optNum(callbackLaneRule(fOutCode, false), func(r *CalcRequest) **int { return &r.OutCode }),
		text(plateRule(fVplNumber, false, maxVirtualPlateRunes), func(r *CalcRequest) *string { return &r.VplNumber }),
	},
	check: func(r *CalcRequest) *FieldError {
		if r.OutCode == nil && r.VplNumber == "" {
			return fieldErr(fOutCode, "missing: calc needs out_code or vpl_number")
		}
		return nil
	},
}

// Values validates r and encodes it.
func (r CalcRequest) Values() (url.Values, error) { return calcRequestTable.values(&r) }

// DecodeCalcRequest parses a received calc.
func DecodeCalcRequest(v url.Values) (CalcRequest, error) { return decodeForm(calcRequestTable, v) }

// CalcAnswer is calc's data (nested as in the document's JSON example).
type CalcAnswer struct {
	VplNumber string     `json:"vpl_number"`
	RecordID  string     `json:"record_id"`
	BillID    string     `json:"bill_id"`
	InTime    int64      `json:"in_time"`
	OutTime   int64      `json:"out_time"`
	Duration  int64      `json:"duration"` // seconds
	Charge    Charge     `json:"charge"`
	Discount  []Discount `json:"discount"` // sent as [] when empty
}

// Charge is calc's charge: fen.
type Charge struct {
	TotalPrice int64 `json:"total_price"` // the tariff's fee for the whole stay
	ShouldPay  int64 `json:"should_pay"`  // still due now, after discounts
	Paid       int64 `json:"paid"`        // already paid
}

// Discount is one element of calc's discount.
type Discount struct {
	Unit  DiscountUnit `json:"unit"`
	Name  string       `json:"name"`
	Value int64        `json:"value"` // fen (unit 0) or seconds (unit 1)
}

// The members of calc's answer: everything optional when received, money
// and durations never negative.
var (
	calcAnswerTable = &table[CalcAnswer]{fields: []field[CalcAnswer]{
		text(plateRule("vpl_number", false, maxVirtualPlateRunes), func(a *CalcAnswer) *string { return &a.VplNumber }),
		text(textRule("record_id", false, maxIDLen), func(a *CalcAnswer) *string { return &a.RecordID }),
		text(textRule("bill_id", false, maxIDLen), func(a *CalcAnswer) *string { return &a.BillID }),
		num(intRule("in_time", false, 0, MaxUnixTime), func(a *CalcAnswer) *int64 { return &a.InTime }),
		num(intRule("out_time", false, 0, MaxUnixTime), func(a *CalcAnswer) *int64 { return &a.OutTime }),
		num(intRule("duration", false, 0, MaxUnixTime), func(a *CalcAnswer) *int64 { return &a.Duration }),
	}}
	chargeTable = &table[Charge]{fields: []field[Charge]{
		num(intRule("total_price", false, 0, maxFen), func(c *Charge) *int64 { return &c.TotalPrice }),
		num(intRule("should_pay", false, 0, maxFen), func(c *Charge) *int64 { return &c.ShouldPay }),
		num(intRule("paid", false, 0, maxFen), func(c *Charge) *int64 { return &c.Paid }),
	}}
	discountTable = &table[Discount]{fields: []field[Discount]{
		num(discountUnitRule, func(d *Discount) *DiscountUnit { return &d.Unit }),
		text(textRule("name", false, maxTextLen), func(d *Discount) *string { return &d.Name }),
		num(intRule("value", false, 0, maxFen), func(d *Discount) *int64 { return &d.Value }),
	}}
)

// discountUnitRule: a received unit outside 0..1 reads "must be 0..1".
var discountUnitRule = func() rule {
	r := enumRule[DiscountUnit]("unit", false)
	r.lo, r.hi = int64(DiscountAmount), int64(DiscountTime)
	return r
}()

// IsZero reports an empty answer (no data is sent).
func (a CalcAnswer) IsZero() bool {
	return a.VplNumber == "" && a.RecordID == "" && a.BillID == "" && a.InTime == 0 &&
		a.OutTime == 0 && a.Duration == 0 && a.Charge == Charge{} && len(a.Discount) == 0
}

// Validate checks an answer before it is sent, by the tables it is read
// with: non-negative money and durations, known discount units, text
// fields.
func (a CalcAnswer) Validate() error {
	if fe := calcAnswerTable.valid(&a, "data."); fe != nil {
		return fe
	}
	if fe := chargeTable.valid(&a.Charge, "data.charge."); fe != nil {
		return fe
	}
	if fe := validList(discountTable, a.Discount, "data.discount"); fe != nil {
		return fe
	}
	return nil
}

// MarshalJSON sends numbers and an empty discount list as [], by hand:
// calc is the hot callback.
func (a CalcAnswer) MarshalJSON() ([]byte, error) {
	return a.appendJSON(make([]byte, 0, 256)), nil
}

// appendJSON appends the answer as JSON, members in the document's order.
func (a CalcAnswer) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStr(b, "vpl_number", a.VplNumber, true)
	b = appendStr(b, "record_id", a.RecordID, false)
	b = appendStr(b, "bill_id", a.BillID, false)
	b = appendInt(b, "in_time", a.InTime, false)
	b = appendInt(b, "out_time", a.OutTime, false)
	b = appendInt(b, "duration", a.Duration, false)
	b = append(b, `,"charge":{`...)
	b = appendInt(b, "total_price", a.Charge.TotalPrice, true)
	b = appendInt(b, "should_pay", a.Charge.ShouldPay, false)
	b = appendInt(b, "paid", a.Charge.Paid, false)
	b = append(b, `},"discount":[`...)
	for i, d := range a.Discount {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendInt(b, "unit", int64(d.Unit), true)
		b = appendStr(b, "name", d.Name, false)
		b = appendInt(b, "value", d.Value, false)
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

// DecodeCalcAnswer reads calc's data leniently.
func DecodeCalcAnswer(data []byte) (CalcAnswer, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return CalcAnswer{}, fe
	}
	var a CalcAnswer
	if fe := calcAnswerTable.decodeObj(o, &a); fe != nil {
		return CalcAnswer{}, fe
	}
	c, fe := asObj(o.m["charge"], "data.charge", "data.charge.")
	if fe != nil {
		return CalcAnswer{}, fe
	}
	if fe := chargeTable.decodeObj(c, &a.Charge); fe != nil {
		return CalcAnswer{}, fe
	}
	if ds, ok := o.m["discount"]; ok && ds != nil {
		if a.Discount, fe = decodeList(discountTable, ds, "data.discount"); fe != nil {
			return CalcAnswer{}, fe
		}
		if len(a.Discount) == 0 {
			a.Discount = nil
		}
	}
	return a, nil
}
