package cmb

import (
	"math"
	"net/url"
)

// The uplinks of contactless pay and their answers. An answer's data is
// read leniently (json.go) through a table of its members; the platform
// sends it, so nothing is checked before sending.

// ---- AutoPay (§5.1) ----

// AutoPay asks the platform to charge a contactless exit. RequestOrder is
// ours, unique per payment and stable across retries.
type AutoPay struct {
	ParkCode     int64
	VplNumber    string
	RecordID     string
	Amount       int64 // fen, > 0
	RequestOrder string
	Extra        url.Values
}

var autoPayTable = &table[AutoPay]{fields: []field[AutoPay]{
	num(ruleParkCode, func(r *AutoPay) *int64 { return &r.ParkCode }),
	text(rulePlateSent, func(r *AutoPay) *string { return &r.VplNumber }),
	text(ruleRecordID, func(r *AutoPay) *string { return &r.RecordID }),
	num(intRule(fAmount, true, 1, maxFen), func(r *AutoPay) *int64 { return &r.Amount }),
	text(ruleRequestOrder, func(r *AutoPay) *string { return &r.RequestOrder }),
}, extra: func(r *AutoPay) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r AutoPay) Values() (url.Values, error) { return autoPayTable.values(&r) }

// DecodeAutoPay parses a received AutoPay.
func DecodeAutoPay(v url.Values) (AutoPay, error) { return decodeForm(autoPayTable, v) }

// AutoPayAnswer is AutoPay's data.
type AutoPayAnswer struct {
	VplNumber    string `json:"vpl_number"`
	PayTime      int64  `json:"pay_time"`
	ChannelOrder string `json:"channel_order"`
}

var autoPayAnswerTable = &table[AutoPayAnswer]{fields: []field[AutoPayAnswer]{
	text(textRule("vpl_number", false, maxPlateLen), func(a *AutoPayAnswer) *string { return &a.VplNumber }),
	num(anyInt("pay_time"), func(a *AutoPayAnswer) *int64 { return &a.PayTime }),
	text(textRule("channel_order", false, maxIDLen), func(a *AutoPayAnswer) *string { return &a.ChannelOrder }),
}}

// DecodeAutoPayAnswer reads AutoPay's data leniently.
func DecodeAutoPayAnswer(data []byte) (AutoPayAnswer, error) {
	return decodeData(autoPayAnswerTable, data)
}

// ---- PayOrderStatus (§5.8) ----

// PayOrderStatus asks for the outcome of an AutoPay by its request_order.
type PayOrderStatus struct {
	ParkCode     int64
	RequestOrder string
	Extra        url.Values
}

var payOrderStatusTable = &table[PayOrderStatus]{fields: []field[PayOrderStatus]{
	num(ruleParkCode, func(r *PayOrderStatus) *int64 { return &r.ParkCode }),
	text(ruleRequestOrder, func(r *PayOrderStatus) *string { return &r.RequestOrder }),
}, extra: func(r *PayOrderStatus) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r PayOrderStatus) Values() (url.Values, error) { return payOrderStatusTable.values(&r) }

// DecodePayOrderStatus parses a received PayOrderStatus.
func DecodePayOrderStatus(v url.Values) (PayOrderStatus, error) {
	return decodeForm(payOrderStatusTable, v)
}

// PayOrderStatusAnswer is PayOrderStatus's data (status ≠ 0: no such order).
type PayOrderStatusAnswer struct {
	VplNumber       string `json:"vpl_number,omitempty"`
	Amount          int64  `json:"amount"`           // fen
	ParkingDuration int64  `json:"parking_duration"` // seconds
	ChannelOrder    string `json:"channel_order"`
}

var payOrderStatusAnswerTable = &table[PayOrderStatusAnswer]{fields: []field[PayOrderStatusAnswer]{
	text(textRule("vpl_number", false, maxPlateLen), func(a *PayOrderStatusAnswer) *string { return &a.VplNumber }),
	num(anyInt("amount"), func(a *PayOrderStatusAnswer) *int64 { return &a.Amount }),
	num(anyInt("parking_duration"), func(a *PayOrderStatusAnswer) *int64 { return &a.ParkingDuration }),
	text(textRule("channel_order", false, maxIDLen), func(a *PayOrderStatusAnswer) *string { return &a.ChannelOrder }),
}}

// DecodePayOrderStatusAnswer reads PayOrderStatus's data leniently.
func DecodePayOrderStatusAnswer(data []byte) (PayOrderStatusAnswer, error) {
	return decodeData(payOrderStatusAnswerTable, data)
}

// ---- AutoPayStatus (§5.5) ----

// AutoPayStatus asks whether a plate has contactless pay.
type AutoPayStatus struct {
	ParkCode  int64
	VplNumber string
	Extra     url.Values
}

var autoPayStatusTable = &table[AutoPayStatus]{fields: []field[AutoPayStatus]{
	num(ruleParkCode, func(r *AutoPayStatus) *int64 { return &r.ParkCode }),
	text(rulePlateSent, func(r *AutoPayStatus) *string { return &r.VplNumber }),
}, extra: func(r *AutoPayStatus) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r AutoPayStatus) Values() (url.Values, error) { return autoPayStatusTable.values(&r) }

// DecodeAutoPayStatus parses a received AutoPayStatus.
func DecodeAutoPayStatus(v url.Values) (AutoPayStatus, error) {
	return decodeForm(autoPayStatusTable, v)
}

// IndataAnswer is Indata's and AutoPayStatus's data: whether the plate has
// contactless pay.
type IndataAnswer struct {
	UID   int   `json:"uid"`   // UIDContactless or UIDNotContactless
	Limit int64 `json:"limit"` // fen
}

// Contactless reports uid UIDContactless.
func (a IndataAnswer) Contactless() bool { return a.UID == UIDContactless }

var indataAnswerTable = &table[IndataAnswer]{fields: []field[IndataAnswer]{
	num(intRule("uid", false, math.MinInt32, math.MaxInt32), func(a *IndataAnswer) *int { return &a.UID }),
	num(anyInt("limit"), func(a *IndataAnswer) *int64 { return &a.Limit }),
}}

// DecodeIndataAnswer reads Indata's data leniently.
func DecodeIndataAnswer(data []byte) (IndataAnswer, error) {
	return decodeData(indataAnswerTable, data)
}

// AutoPayStatusAnswer is AutoPayStatus's data (same shape as Indata's).
type AutoPayStatusAnswer = IndataAnswer

// DecodeAutoPayStatusAnswer reads AutoPayStatus's data leniently.
func DecodeAutoPayStatusAnswer(data []byte) (AutoPayStatusAnswer, error) {
	return DecodeIndataAnswer(data)
}

// anyInt is an optional answer member of any int64 value.
func anyInt(name string) rule { return intRule(name, false, math.MinInt64, math.MaxInt64) }

// decodeData reads an answer's data (see dataObj) through t.
func decodeData[M any](t *table[M], data []byte) (M, error) {
	var a M
	o, fe := dataObj(data)
	if fe != nil {
		return a, fe
	}
	if fe := t.decodeObj(o, &a); fe != nil {
		return a, fe
	}
	return a, nil
}
