package cmb

import (
	"math"
	"net/url"
	"unicode/utf8"
)

// The callbacks other than calc (calc.go): pay notices, contactless
// binding, and the unlicensed vehicle's scan at an entry.

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
	PayType PayType `json:"pay_type"` // any; PayCMB from the platform
	Amount  int64   `json:"amount"`   // fen
	Order   string  `json:"order"`
}

// Total is the sum of the amounts, fen.
func (r PayRequest) Total() int64 {
	var n int64
	for _, it := range r.PayList {
		n += it.Amount
	}
	return n
}

// payItemTable: a pay notice's pay_type is any non-negative code (the
// platform's to choose), unlike Outdata's documented ones.
var payItemTable = &table[PayItem]{fields: []field[PayItem]{
	num(intRule("pay_type", true, 0, math.MaxInt32), func(it *PayItem) *PayType { return &it.PayType }),
	num(intRule("amount", true, 0, MaxPayAmount), func(it *PayItem) *int64 { return &it.Amount }),
	text(textRule("order", true, maxIDLen), func(it *PayItem) *string { return &it.Order }),
}}

var payRequestTable = &table[PayRequest]{fields: []field[PayRequest]{
	num(ruleParkCode, func(r *PayRequest) *int64 { return &r.ParkCode }),
	text(plateRule(fVplNumber, false, maxVirtualPlateRunes), func(r *PayRequest) *string { return &r.VplNumber }),
	text(ruleRecordID, func(r *PayRequest) *string { return &r.RecordID }),
	text(textRule(fBillID, false, maxIDLen), func(r *PayRequest) *string { return &r.BillID }),
	num(timeRule(fPayTime), func(r *PayRequest) *int64 { return &r.PayTime }),
	jsonField(fPayList,
		func(r *PayRequest) any { return r.PayList },
		func(r *PayRequest) *FieldError {
			if len(r.PayList) == 0 {
				return fieldErr(fPayList, "empty")
			}
			if fe := validList(payItemTable, r.PayList, fPayList); fe != nil {
				return fe
			}
			return checkPayList(r.PayList)
		},
		func(r *PayRequest, s string) (fe *FieldError) {
			r.PayList, fe = decodePayList(s)
			return fe
		}),
}, extra: func(r *PayRequest) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r PayRequest) Values() (url.Values, error) { return payRequestTable.values(&r) }

// DecodePayRequest parses a received pay notice.
func DecodePayRequest(v url.Values) (PayRequest, error) { return decodeForm(payRequestTable, v) }

// decodePayList reads pay_list: a non-empty JSON array of at most
// MaxPayItems items, counted before they are read.
func decodePayList(s string) ([]PayItem, *FieldError) {
	v, fe := parseJSON([]byte(s), fPayList)
	if fe != nil {
		return nil, fe
	}
	if arr, ok := v.([]any); ok && len(arr) == 0 {
		return nil, fieldErr(fPayList, "empty")
	} else if len(arr) > MaxPayItems {
		return nil, fieldErr(fPayList, "%d items: at most %d", len(arr), MaxPayItems)
	}
	items, fe := decodeList(payItemTable, v, fPayList)
	if fe != nil {
		return nil, fe
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
// absent. auto_pay_type is unused by the platform ("not used yet, fill the
// default"): absent reads as 0, and any 32-bit integer is accepted and kept.
type AutoPayBindRequest struct {
	ParkCode    int64
	VplNumber   string
	AutoPayType AutoPayType
	Limit       int64  // fen
	SerialNo    string // optional
	PostURL     string // optional: the AutoPay address to use
	Extra       url.Values
}

var autoPayBindTable = &table[AutoPayBindRequest]{fields: []field[AutoPayBindRequest]{
	num(ruleParkCode, func(r *AutoPayBindRequest) *int64 { return &r.ParkCode }),
	text(plateRule(fVplNumber, true, maxPlateRunes), func(r *AutoPayBindRequest) *string { return &r.VplNumber }),
	num(intRule(fAutoPayType, false, math.MinInt32, math.MaxInt32), func(r *AutoPayBindRequest) *AutoPayType { return &r.AutoPayType }),
	num(limiterRule, func(r *AutoPayBindRequest) *int64 { return &r.Limit }),
	text(textRule(fSerialNo, false, maxIDLen), func(r *AutoPayBindRequest) *string { return &r.SerialNo }),
	text(textRule(fPostURL, false, maxTextLen), func(r *AutoPayBindRequest) *string { return &r.PostURL }),
}, extra: func(r *AutoPayBindRequest) *url.Values { return &r.Extra }}

// limiterRule is the bind's limit, also received as "limit".
var limiterRule = func() rule {
	r := intRule(fLimiter, true, 0, maxFen)
	r.alias = fLimit
	return r
}()

// Values validates r and encodes it.
func (r AutoPayBindRequest) Values() (url.Values, error) { return autoPayBindTable.values(&r) }

// DecodeAutoPayBindRequest parses a received autoPayBind.
func DecodeAutoPayBindRequest(v url.Values) (AutoPayBindRequest, error) {
	return decodeForm(autoPayBindTable, v)
}

// AutoPayUnbindRequest removes a plate's contactless binding.
type AutoPayUnbindRequest struct {
	ParkCode  int64
	VplNumber string
	Extra     url.Values
}

var autoPayUnbindTable = &table[AutoPayUnbindRequest]{fields: []field[AutoPayUnbindRequest]{
	num(ruleParkCode, func(r *AutoPayUnbindRequest) *int64 { return &r.ParkCode }),
	text(plateRule(fVplNumber, true, maxPlateRunes), func(r *AutoPayUnbindRequest) *string { return &r.VplNumber }),
}, extra: func(r *AutoPayUnbindRequest) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r AutoPayUnbindRequest) Values() (url.Values, error) {
	return autoPayUnbindTable.values(&r)
}

// DecodeAutoPayUnbindRequest parses a received autoPayUnbind.
func DecodeAutoPayUnbindRequest(v url.Values) (AutoPayUnbindRequest, error) {
	return decodeForm(autoPayUnbindTable, v)
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

var noVplnTable = &table[NoVplnRequest]{fields: []field[NoVplnRequest]{
	num(ruleParkCode, func(r *NoVplnRequest) *int64 { return &r.ParkCode }),
	text(plateRule(fVplNumber, true, maxVirtualPlateRunes), func(r *NoVplnRequest) *string { return &r.VplNumber }),
	num(callbackLaneRule(fInCode, true), func(r *NoVplnRequest) *int { return &r.InCode }),
}, extra: func(r *NoVplnRequest) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r NoVplnRequest) Values() (url.Values, error) { return noVplnTable.values(&r) }

// DecodeNoVplnRequest parses a received NoVpln.
func DecodeNoVplnRequest(v url.Values) (NoVplnRequest, error) { return decodeForm(noVplnTable, v) }

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

// MarshalJSON encodes the answer by hand, as the Server writes it.
func (a NoVplnAnswer) MarshalJSON() ([]byte, error) {
	return a.appendJSON(nil), nil
}

// appendJSON appends the answer as JSON.
func (a NoVplnAnswer) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStr(b, "vpl_number", a.VplNumber, true)
	return append(b, '}')
}

var noVplnAnswerTable = &table[NoVplnAnswer]{fields: []field[NoVplnAnswer]{
	text(plateRule("vpl_number", false, maxVirtualPlateRunes), func(a *NoVplnAnswer) *string { return &a.VplNumber }),
}}

// DecodeNoVplnAnswer reads NoVpln's data leniently.
func DecodeNoVplnAnswer(data []byte) (NoVplnAnswer, error) {
	return decodeData(noVplnAnswerTable, data)
}
