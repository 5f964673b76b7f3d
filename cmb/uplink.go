package cmb

import "net/url"

// Each message type has Values (validate, encode to the form parameters,
// without appid and sign) and a DecodeXxx function (parse and validate a
// received form; appid and sign are skipped, unknown fields are kept in
// Extra and sent again by Values). Both directions go through the
// message's table (table.go). Decode errors are *FieldError.

// ---- Indata (§5.3) ----

// Indata reports an entry.
type Indata struct {
	ParkCode   int64
	InCode     int
	VplNumber  string
	RecordID   string
	InTime     int64 // UNIX seconds
	CarType    CarType
	PowerType  PowerType
	BodyColor  *Colour // optional
	PlateColor *Colour // optional
	Logo       string  // optional
	AuthType   AuthType
	Model      Model
	Owner      string // optional
	Extra      url.Values
}

var indataTable = &table[Indata]{fields: []field[Indata]{
	num(ruleParkCode, func(r *Indata) *int64 { return &r.ParkCode }),
	num(laneRule(fInCode), func(r *Indata) *int { return &r.InCode }),
	text(rulePlateSent, func(r *Indata) *string { return &r.VplNumber }),
	text(ruleRecordID, func(r *Indata) *string { return &r.RecordID }),
	num(timeRule(fInTime), func(r *Indata) *int64 { return &r.InTime }),
	num(enumRule[CarType](fCarType, true), func(r *Indata) *CarType { return &r.CarType }),
	num(enumRule[PowerType](fPowerType, true), func(r *Indata) *PowerType { return &r.PowerType }),
	optNum(enumRule[Colour](fBodyColor, false), func(r *Indata) **Colour { return &r.BodyColor }),
	optNum(enumRule[Colour](fPlateColor, false), func(r *Indata) **Colour { return &r.PlateColor }),
	text(textRule(fLogo, false, maxTextLen), func(r *Indata) *string { return &r.Logo }),
	num(enumRule[AuthType](fAuthType, false), func(r *Indata) *AuthType { return &r.AuthType }),
	num(enumRule[Model](fModel, false), func(r *Indata) *Model { return &r.Model }),
	text(textRule(fOwner, false, maxTextLen), func(r *Indata) *string { return &r.Owner }),
}, extra: func(r *Indata) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r Indata) Values() (url.Values, error) { return indataTable.values(&r) }

// DecodeIndata parses a received Indata.
func DecodeIndata(v url.Values) (Indata, error) { return decodeForm(indataTable, v) }

// ---- Outdata (§5.4) ----

// Outdata reports an exit.
type Outdata struct {
	ParkCode    int64
	InCode      int
	OutCode     int
	VplNumber   string
	RecordID    string
	InTime      int64
	OutTime     int64
	ChargeItems []ChargeItem // sent as "[]" when empty
	Extra       url.Values
}

// ChargeItem is one element of Outdata's charge_items. The JSON member order
// is the document's example's.
type ChargeItem struct {
	ShouldPay     int64   `json:"should_pay"` // fen
	ActualPay     int64   `json:"actual_pay"` // fen
	PayType       PayType `json:"pay_type"`
	TollCollector string  `json:"toll_collector"`
	SeqNum        string  `json:"seq_num"`
	Time          int64   `json:"time"` // UNIX seconds
}

var chargeItemTable = &table[ChargeItem]{fields: []field[ChargeItem]{
	num(intRule("should_pay", true, 0, maxFen), func(it *ChargeItem) *int64 { return &it.ShouldPay }),
	num(intRule("actual_pay", true, 0, maxFen), func(it *ChargeItem) *int64 { return &it.ActualPay }),
	num(enumRule[PayType]("pay_type", true), func(it *ChargeItem) *PayType { return &it.PayType }),
	text(textRule("toll_collector", false, maxTextLen), func(it *ChargeItem) *string { return &it.TollCollector }),
	text(textRule("seq_num", false, maxIDLen), func(it *ChargeItem) *string { return &it.SeqNum }),
	num(timeRule("time"), func(it *ChargeItem) *int64 { return &it.Time }),
}}

var outdataTable = &table[Outdata]{fields: []field[Outdata]{
	num(ruleParkCode, func(r *Outdata) *int64 { return &r.ParkCode }),
	num(laneRule(fInCode), func(r *Outdata) *int { return &r.InCode }),
	num(laneRule(fOutCode), func(r *Outdata) *int { return &r.OutCode }),
	text(rulePlateSent, func(r *Outdata) *string { return &r.VplNumber }),
	text(ruleRecordID, func(r *Outdata) *string { return &r.RecordID }),
	num(timeRule(fInTime), func(r *Outdata) *int64 { return &r.InTime }),
	num(timeRule(fOutTime), func(r *Outdata) *int64 { return &r.OutTime }),
	jsonField(fChargeItems,
		func(r *Outdata) any {
			if r.ChargeItems == nil {
				return []ChargeItem{}
			}
			return r.ChargeItems
		},
		func(r *Outdata) *FieldError { return validList(chargeItemTable, r.ChargeItems, fChargeItems) },
		func(r *Outdata, s string) (fe *FieldError) {
			v, fe := parseJSON([]byte(s), fChargeItems)
			if fe == nil {
				r.ChargeItems, fe = decodeList(chargeItemTable, v, fChargeItems)
			}
			return fe
		}),
}, extra: func(r *Outdata) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r Outdata) Values() (url.Values, error) { return outdataTable.values(&r) }

// DecodeOutdata parses a received Outdata.
func DecodeOutdata(v url.Values) (Outdata, error) { return decodeForm(outdataTable, v) }
