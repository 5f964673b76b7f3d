package cmb

import (
	"math"
	"net/url"
	"strconv"
	"unicode/utf8"
)

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

// Values validates r and encodes it.
func (r CalcRequest) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.optInt(fOutCode, r.OutCode, laneMinDecode, CallbackLaneMax)
	p.str(fVplNumber, r.VplNumber, false, maxPlateLen)
	if r.OutCode == nil && r.VplNumber == "" {
		p.fail(fieldErr(fOutCode, "missing: calc needs out_code or vpl_number"))
	}
	p.extra(r.Extra)
	return p.done()
}

// DecodeCalcRequest parses a received calc.
func DecodeCalcRequest(v url.Values) (CalcRequest, error) {
	f := newForm(v)
	r := CalcRequest{
		ParkCode:  f.parkCode(),
		OutCode:   f.optInt(fOutCode, laneMinDecode, CallbackLaneMax),
		VplNumber: f.plate(fVplNumber, false, maxVirtualPlateRunes),
	}
	if f.err == nil && r.OutCode == nil && r.VplNumber == "" {
		f.fail(fieldErr(fOutCode, "missing: calc needs out_code or vpl_number"))
	}
	r.Extra = f.extra()
	return r, f.err0()
}

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

// IsZero reports an empty answer (no data is sent).
func (a CalcAnswer) IsZero() bool {
	return a.VplNumber == "" && a.RecordID == "" && a.BillID == "" && a.InTime == 0 &&
		a.OutTime == 0 && a.Duration == 0 && a.Charge == Charge{} && len(a.Discount) == 0
}

// Validate checks an answer before it is sent: non-negative money and
// durations, known discount units, text fields.
func (a CalcAnswer) Validate() error {
	checks := []*FieldError{
		checkText("data.vpl_number", a.VplNumber, maxPlateLen),
		checkText("data.record_id", a.RecordID, maxIDLen),
		checkText("data.bill_id", a.BillID, maxIDLen),
		checkRange("data.in_time", a.InTime, 0, MaxUnixTime),
		checkRange("data.out_time", a.OutTime, 0, MaxUnixTime),
		checkRange("data.duration", a.Duration, 0, MaxUnixTime),
		checkRange("data.charge.total_price", a.Charge.TotalPrice, 0, maxFen),
		checkRange("data.charge.should_pay", a.Charge.ShouldPay, 0, maxFen),
		checkRange("data.charge.paid", a.Charge.Paid, 0, maxFen),
	}
	for i, d := range a.Discount {
		p := "data.discount[" + strconv.Itoa(i) + "]."
		checks = append(checks, enum(p+"unit", d.Unit, d.Unit.Valid()),
			checkText(p+"name", d.Name, maxTextLen), checkRange(p+"value", d.Value, 0, maxFen))
	}
	for _, e := range checks {
		if e != nil {
			return e
		}
	}
	return nil
}

// MarshalJSON sends numbers and an empty discount list as [], by hand:
// calc is the hot callback.
func (a CalcAnswer) MarshalJSON() ([]byte, error) {
	return a.appendJSON(make([]byte, 0, 256)), nil
}

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

// MarshalJSON encodes the answer by hand.
func (a NoVplnAnswer) MarshalJSON() ([]byte, error) {
	return a.appendJSON(nil), nil
}

func (a NoVplnAnswer) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStr(b, "vpl_number", a.VplNumber, true)
	return append(b, '}')
}

// DecodeCalcAnswer reads calc's data leniently.
func DecodeCalcAnswer(data []byte) (CalcAnswer, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return CalcAnswer{}, fe
	}
	a := CalcAnswer{
		VplNumber: o.plate("vpl_number", false, maxVirtualPlateRunes),
		RecordID:  o.str("record_id", false, maxIDLen),
		BillID:    o.str("bill_id", false, maxIDLen),
		InTime:    o.int64("in_time", false, 0, MaxUnixTime),
		OutTime:   o.int64("out_time", false, 0, MaxUnixTime),
		Duration:  o.int64("duration", false, 0, MaxUnixTime),
	}
	if o.err != nil {
		return CalcAnswer{}, o.err
	}
	c, fe := asObj(o.m["charge"], "data.charge", "data.charge.")
	if fe != nil {
		return CalcAnswer{}, fe
	}
	a.Charge = Charge{
		TotalPrice: c.int64("total_price", false, 0, maxFen),
		ShouldPay:  c.int64("should_pay", false, 0, maxFen),
		Paid:       c.int64("paid", false, 0, maxFen),
	}
	if c.err != nil {
		return CalcAnswer{}, c.err
	}
	switch ds := o.m["discount"].(type) {
	case nil:
	case []any:
		for i, x := range ds {
			p := "data.discount[" + strconv.Itoa(i) + "]"
			d, fe := asObj(x, p, p+".")
			if fe != nil {
				return CalcAnswer{}, fe
			}
			disc := Discount{
				Unit:  DiscountUnit(d.int("unit", false, 0, 1)),
				Name:  d.str("name", false, maxTextLen),
				Value: d.int64("value", false, 0, maxFen),
			}
			if d.err != nil {
				return CalcAnswer{}, d.err
			}
			a.Discount = append(a.Discount, disc)
		}
	default:
		return CalcAnswer{}, fieldErr("data.discount", "not a JSON array")
	}
	return a, nil
}

// ---- pay (§4.2) ----

// Bounds of a pay notice: at most MaxPayItems items, each amount and the
// total at most MaxPayAmount fen (10 million yuan: far above any parking
// fee, far below an overflow of the sum). A notice beyond them is refused
// whole.
const (
	MaxPayItems  = 50
	MaxPayAmount = 1_000_000_000
)

// PayRequest is a payment notice. Idempotent by PayItem.Order. VplNumber
// may be empty (calc answers an empty plate when nothing stands at the
// exit); the record_id names the stay.
type PayRequest struct {
	ParkCode  int64
	VplNumber string
	RecordID  string
	BillID    string // optional: calc's bill_id
	PayTime   int64
	PayList   []PayItem // at least one
	Extra     url.Values
}

// PayItem is one element of pay_list. order is a string; the document's
// example sends it as a JSON number, which is accepted.
type PayItem struct {
	PayType PayType `json:"pay_type"` // 99: CMB
	Amount  int64   `json:"amount"`   // fen
	Order   string  `json:"order"`
}

func (it PayItem) validate(path string) *FieldError {
	if e := checkRange(path+"pay_type", int64(it.PayType), 0, math.MaxInt32); e != nil {
		return e
	}
	if e := checkRange(path+"amount", it.Amount, 0, MaxPayAmount); e != nil {
		return e
	}
	if it.Order == "" {
		return fieldErr(path+"order", "missing")
	}
	return checkText(path+"order", it.Order, maxIDLen)
}

// Total is the sum of the amounts, fen.
func (r PayRequest) Total() int64 {
	var n int64
	for _, it := range r.PayList {
		n += it.Amount
	}
	return n
}

// Values validates r and encodes it.
func (r PayRequest) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fVplNumber, r.VplNumber, false, maxPlateLen)
	p.str(fRecordID, r.RecordID, true, maxIDLen)
	p.str(fBillID, r.BillID, false, maxIDLen)
	p.int64(fPayTime, r.PayTime, MinUnixTime, MaxUnixTime)
	if len(r.PayList) == 0 {
		p.fail(fieldErr(fPayList, "empty"))
	}
	for i, it := range r.PayList {
		p.fail(it.validate(fPayList + "[" + strconv.Itoa(i) + "]."))
	}
	p.fail(checkPayList(r.PayList))
	if p.err == nil {
		b, _ := marshalCompact(r.PayList)
		p.v.Set(fPayList, string(b))
	}
	p.extra(r.Extra)
	return p.done()
}

// DecodePayRequest parses a received pay notice.
func DecodePayRequest(v url.Values) (PayRequest, error) {
	f := newForm(v)
	r := PayRequest{
		ParkCode:  f.parkCode(),
		VplNumber: f.plate(fVplNumber, false, maxVirtualPlateRunes),
		RecordID:  f.str(fRecordID, true, maxIDLen),
		BillID:    f.str(fBillID, false, maxIDLen),
		PayTime:   f.time(fPayTime, true),
	}
	if s, ok := f.raw(fPayList); !ok {
		f.fail(fieldErr(fPayList, "missing"))
	} else if f.err == nil {
		items, fe := decodePayList(s)
		f.fail(fe)
		r.PayList = items
	}
	r.Extra = f.extra()
	return r, f.err0()
}

func decodePayList(s string) ([]PayItem, *FieldError) {
	v, fe := parseJSON([]byte(s), fPayList)
	if fe != nil {
		return nil, fe
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldErr(fPayList, "not a JSON array")
	}
	if len(arr) == 0 {
		return nil, fieldErr(fPayList, "empty")
	}
	if len(arr) > MaxPayItems {
		return nil, fieldErr(fPayList, "%d items: at most %d", len(arr), MaxPayItems)
	}
	items := make([]PayItem, 0, len(arr))
	for i, x := range arr {
		path := fPayList + "[" + strconv.Itoa(i) + "]"
		o, fe := asObj(x, path, path+".")
		if fe != nil {
			return nil, fe
		}
		it := PayItem{
			PayType: PayType(o.int("pay_type", true, 0, math.MaxInt32)),
			Amount:  o.int64("amount", true, 0, MaxPayAmount),
			Order:   o.str("order", true, maxIDLen),
		}
		if o.err != nil {
			return nil, o.err
		}
		items = append(items, it)
	}
	if fe := checkPayList(items); fe != nil {
		return nil, fe
	}
	return items, nil
}

// checkPayList checks a notice's bounds: the number of items and the
// total (each amount is checked on its own first, so the sum cannot wrap).
func checkPayList(items []PayItem) *FieldError {
	if len(items) > MaxPayItems {
		return fieldErr(fPayList, "%d items: at most %d", len(items), MaxPayItems)
	}
	var total int64
	for _, it := range items {
		if it.Amount < 0 || it.Amount > MaxPayAmount {
			return nil // reported by the item's own check
		}
		if total += it.Amount; total > MaxPayAmount {
			return fieldErr(fPayList, "total beyond %d fen: refused, nothing recorded", MaxPayAmount)
		}
	}
	return nil
}

// ---- autoPayBind / autoPayUnbind (§4.3, §4.4) ----

// AutoPayBindRequest binds contactless pay to a plate. The limit's wire name
// is "limiter" (§4.3's table); "limit" is accepted too when limiter is
// absent. auto_pay_type is unused by the platform: absent reads as 0, and
// any integer is accepted and kept.
type AutoPayBindRequest struct {
	ParkCode    int64
	VplNumber   string
	AutoPayType AutoPayType
	Limit       int64  // fen
	SerialNo    string // optional
	PostURL     string // optional: the AutoPay address to use
	Extra       url.Values
}

// Values validates r and encodes it.
func (r AutoPayBindRequest) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.int64(fAutoPayType, int64(r.AutoPayType), math.MinInt32, math.MaxInt32)
	p.int64(fLimiter, r.Limit, 0, maxFen)
	p.str(fSerialNo, r.SerialNo, false, maxIDLen)
	p.str(fPostURL, r.PostURL, false, maxTextLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodeAutoPayBindRequest parses a received autoPayBind.
func DecodeAutoPayBindRequest(v url.Values) (AutoPayBindRequest, error) {
	f := newForm(v)
	r := AutoPayBindRequest{
		ParkCode:    f.parkCode(),
		VplNumber:   f.plate(fVplNumber, true, maxPlateRunes),
		AutoPayType: AutoPayType(f.int(fAutoPayType, false, math.MinInt32, math.MaxInt32)),
		SerialNo:    f.str(fSerialNo, false, maxIDLen),
		PostURL:     f.str(fPostURL, false, maxTextLen),
	}
	// auto_pay_type is "not used yet, fill the default" (§4.3): any
	// integer is kept as sent.
	if _, ok := f.raw(fLimiter); ok {
		r.Limit, _ = f.int64(fLimiter, true, 0, maxFen)
		f.seen[fLimit] = false // a stray "limit" stays an extra
	} else {
		r.Limit, _ = f.int64(fLimit, true, 0, maxFen)
		if f.err != nil && f.err.Field == fLimit && f.err.Problem == "missing" {
			f.err = fieldErr(fLimiter, "missing")
		}
	}
	r.Extra = f.extra()
	return r, f.err0()
}

// AutoPayUnbindRequest removes a plate's contactless binding.
type AutoPayUnbindRequest struct {
	ParkCode  int64
	VplNumber string
	Extra     url.Values
}

// Values validates r and encodes it.
func (r AutoPayUnbindRequest) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodeAutoPayUnbindRequest parses a received autoPayUnbind.
func DecodeAutoPayUnbindRequest(v url.Values) (AutoPayUnbindRequest, error) {
	f := newForm(v)
	r := AutoPayUnbindRequest{ParkCode: f.parkCode(), VplNumber: f.plate(fVplNumber, true, maxPlateRunes)}
	r.Extra = f.extra()
	return r, f.err0()
}

// ---- NoVpln (§4.5) ----

// NoVplnRequest: an unlicensed vehicle's driver scanned an entry's QR code;
// VplNumber is the platform's virtual plate.
type NoVplnRequest struct {
	ParkCode  int64
	VplNumber string
	InCode    int
	Extra     url.Values
}

// Values validates r and encodes it.
func (r NoVplnRequest) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.int64(fInCode, int64(r.InCode), laneMinDecode, CallbackLaneMax)
	p.extra(r.Extra)
	return p.done()
}

// DecodeNoVplnRequest parses a received NoVpln.
func DecodeNoVplnRequest(v url.Values) (NoVplnRequest, error) {
	f := newForm(v)
	r := NoVplnRequest{
		ParkCode:  f.parkCode(),
		VplNumber: f.plate(fVplNumber, true, maxVirtualPlateRunes),
		InCode:    f.int(fInCode, true, laneMinDecode, CallbackLaneMax),
	}
	r.Extra = f.extra()
	return r, f.err0()
}

// NoVplnAnswer is NoVpln's data: the plate the car park will use, the
// platform's or its own of 16–30 characters.
type NoVplnAnswer struct {
	VplNumber string `json:"vpl_number"`
}

// Own plates must have 16–30 characters (§4.5).
const (
	OwnPlateMin = 16
	OwnPlateMax = 30
)

// ValidateFor checks a against the request it answers: the platform's plate
// or one of 16–30 characters.
func (a NoVplnAnswer) ValidateFor(r NoVplnRequest) error {
	if a.VplNumber == r.VplNumber {
		return nil
	}
	if e := checkText("data.vpl_number", a.VplNumber, maxPlateLen); e != nil {
		return e
	}
	if n := utf8.RuneCountInString(a.VplNumber); n < OwnPlateMin || n > OwnPlateMax {
		return fieldErr("data.vpl_number", "own plate must have %d–%d characters, has %d", OwnPlateMin, OwnPlateMax, n)
	}
	return nil
}

// DecodeNoVplnAnswer reads NoVpln's data leniently.
func DecodeNoVplnAnswer(data []byte) (NoVplnAnswer, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return NoVplnAnswer{}, fe
	}
	a := NoVplnAnswer{VplNumber: o.plate("vpl_number", false, maxVirtualPlateRunes)}
	return a, o.err0()
}
