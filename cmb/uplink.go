package cmb

import (
	"math"
	"net/url"
	"strconv"
)

// Ranges shared by the messages.
const (
	maxFen     = math.MaxInt64 / 4 // generous, but no overflow when summed
	maxCount   = math.MaxInt32
	maxPicLen  = 16 << 20 // pic_con, bytes
	maxSeconds = math.MaxInt32
)

// Each message type has Values (validate, encode to the form parameters,
// without appid and sign) and a DecodeXxx function (parse and validate a
// received form; appid and sign are skipped, unknown fields are kept in
// Extra and sent again by Values). Decode errors are *FieldError.

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

// Values validates r and encodes it.
func (r Indata) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.int64(fInCode, int64(r.InCode), LaneMin, LaneMax)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.str(fRecordID, r.RecordID, true, maxIDLen)
	p.int64(fInTime, r.InTime, MinUnixTime, MaxUnixTime)
	p.enum(fCarType, int(r.CarType), r.CarType.Valid())
	p.enum(fPowerType, int(r.PowerType), r.PowerType.Valid())
	if r.BodyColor != nil {
		p.enum(fBodyColor, int(*r.BodyColor), r.BodyColor.Valid())
	}
	if r.PlateColor != nil {
		p.enum(fPlateColor, int(*r.PlateColor), r.PlateColor.Valid())
	}
	p.str(fLogo, r.Logo, false, maxTextLen)
	p.enum(fAuthType, int(r.AuthType), r.AuthType.Valid())
	p.enum(fModel, int(r.Model), r.Model.Valid())
	p.str(fOwner, r.Owner, false, maxTextLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodeIndata parses a received Indata.
func DecodeIndata(v url.Values) (Indata, error) {
	f := newForm(v)
	r := Indata{
		ParkCode:  f.parkCode(),
		InCode:    f.int(fInCode, true, laneMinDecode, LaneMax),
		VplNumber: f.str(fVplNumber, true, maxPlateLen),
		RecordID:  f.str(fRecordID, true, maxIDLen),
		InTime:    f.time(fInTime, true),
		CarType:   CarType(f.int(fCarType, true, math.MinInt32, math.MaxInt32)),
		PowerType: PowerType(f.int(fPowerType, true, math.MinInt32, math.MaxInt32)),
		Logo:      f.str(fLogo, false, maxTextLen),
		AuthType:  AuthType(f.int(fAuthType, false, math.MinInt32, math.MaxInt32)),
		Model:     Model(f.int(fModel, false, math.MinInt32, math.MaxInt32)),
		Owner:     f.str(fOwner, false, maxTextLen),
	}
	if c := f.optInt(fBodyColor, math.MinInt32, math.MaxInt32); c != nil {
		r.BodyColor = new(Colour(*c))
		f.enum(fBodyColor, *c, r.BodyColor.Valid())
	}
	if c := f.optInt(fPlateColor, math.MinInt32, math.MaxInt32); c != nil {
		r.PlateColor = new(Colour(*c))
		f.enum(fPlateColor, *c, r.PlateColor.Valid())
	}
	f.enum(fCarType, int(r.CarType), r.CarType.Valid())
	f.enum(fPowerType, int(r.PowerType), r.PowerType.Valid())
	f.enum(fAuthType, int(r.AuthType), r.AuthType.Valid())
	f.enum(fModel, int(r.Model), r.Model.Valid())
	r.Extra = f.extra()
	return r, f.err0()
}

// IndataAnswer is Indata's data: whether the plate has contactless pay.
type IndataAnswer struct {
	UID   int   `json:"uid"`   // 1 = contactless supported
	Limit int64 `json:"limit"` // fen
}

// Contactless reports uid 1.
func (a IndataAnswer) Contactless() bool { return a.UID == 1 }

// DecodeIndataAnswer reads Indata's data leniently.
func DecodeIndataAnswer(data []byte) (IndataAnswer, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return IndataAnswer{}, fe
	}
	a := IndataAnswer{UID: o.int("uid", false, math.MinInt32, math.MaxInt32), Limit: o.int64("limit", false, math.MinInt64, math.MaxInt64)}
	return a, o.err0()
}

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

// Values validates r and encodes it.
func (r Outdata) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.int64(fInCode, int64(r.InCode), LaneMin, LaneMax)
	p.int64(fOutCode, int64(r.OutCode), LaneMin, LaneMax)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.str(fRecordID, r.RecordID, true, maxIDLen)
	p.int64(fInTime, r.InTime, MinUnixTime, MaxUnixTime)
	p.int64(fOutTime, r.OutTime, MinUnixTime, MaxUnixTime)
	items := r.ChargeItems
	if items == nil {
		items = []ChargeItem{}
	}
	for i, it := range items {
		if e := it.validate(fChargeItems + "[" + strconv.Itoa(i) + "]."); e != nil {
			p.fail(e)
		}
	}
	if p.err == nil {
		b, err := marshalCompact(items)
		if err != nil {
			p.fail(fieldErr(fChargeItems, "%v", err))
		}
		p.v.Set(fChargeItems, string(b))
	}
	p.extra(r.Extra)
	return p.done()
}

func (it ChargeItem) validate(path string) *FieldError {
	if e := checkRange(path+"should_pay", it.ShouldPay, 0, maxFen); e != nil {
		return e
	}
	if e := checkRange(path+"actual_pay", it.ActualPay, 0, maxFen); e != nil {
		return e
	}
	if e := enum(path+"pay_type", it.PayType, it.PayType.Valid()); e != nil {
		return e
	}
	if e := checkText(path+"toll_collector", it.TollCollector, maxTextLen); e != nil {
		return e
	}
	if e := checkText(path+"seq_num", it.SeqNum, maxIDLen); e != nil {
		return e
	}
	return checkRange(path+"time", it.Time, MinUnixTime, MaxUnixTime)
}

// DecodeOutdata parses a received Outdata.
func DecodeOutdata(v url.Values) (Outdata, error) {
	f := newForm(v)
	r := Outdata{
		ParkCode:  f.parkCode(),
		InCode:    f.int(fInCode, true, laneMinDecode, LaneMax),
		OutCode:   f.int(fOutCode, true, laneMinDecode, LaneMax),
		VplNumber: f.str(fVplNumber, true, maxPlateLen),
		RecordID:  f.str(fRecordID, true, maxIDLen),
		InTime:    f.time(fInTime, true),
		OutTime:   f.time(fOutTime, true),
	}
	if s, ok := f.raw(fChargeItems); !ok {
		f.fail(fieldErr(fChargeItems, "missing"))
	} else if f.err == nil {
		items, fe := decodeChargeItems(s)
		f.fail(fe)
		r.ChargeItems = items
	}
	r.Extra = f.extra()
	return r, f.err0()
}

func decodeChargeItems(s string) ([]ChargeItem, *FieldError) {
	v, fe := parseJSON([]byte(s), fChargeItems)
	if fe != nil {
		return nil, fe
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldErr(fChargeItems, "not a JSON array")
	}
	items := make([]ChargeItem, 0, len(arr))
	for i, x := range arr {
		path := fChargeItems + "[" + strconv.Itoa(i) + "]"
		o, fe := asObj(x, path, path+".")
		if fe != nil {
			return nil, fe
		}
		it := ChargeItem{
			ShouldPay:     o.int64("should_pay", true, math.MinInt64, math.MaxInt64),
			ActualPay:     o.int64("actual_pay", true, math.MinInt64, math.MaxInt64),
			PayType:       PayType(o.int("pay_type", true, math.MinInt32, math.MaxInt32)),
			TollCollector: o.str("toll_collector", false, maxTextLen),
			SeqNum:        o.str("seq_num", false, maxIDLen),
			Time:          o.int64("time", true, math.MinInt64, math.MaxInt64),
		}
		if o.err != nil {
			return nil, o.err
		}
		if fe := it.validate(path + "."); fe != nil {
			return nil, fe
		}
		items = append(items, it)
	}
	return items, nil
}

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

// Values validates r and encodes it.
func (r AutoPay) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.str(fRecordID, r.RecordID, true, maxIDLen)
	p.int64(fAmount, r.Amount, 1, maxFen)
	p.str(fRequestOrder, r.RequestOrder, true, maxIDLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodeAutoPay parses a received AutoPay.
func DecodeAutoPay(v url.Values) (AutoPay, error) {
	f := newForm(v)
	r := AutoPay{
		ParkCode:     f.parkCode(),
		VplNumber:    f.str(fVplNumber, true, maxPlateLen),
		RecordID:     f.str(fRecordID, true, maxIDLen),
		RequestOrder: f.str(fRequestOrder, true, maxIDLen),
	}
	r.Amount, _ = f.int64(fAmount, true, 1, maxFen)
	r.Extra = f.extra()
	return r, f.err0()
}

// AutoPayAnswer is AutoPay's data.
type AutoPayAnswer struct {
	VplNumber    string `json:"vpl_number"`
	PayTime      int64  `json:"pay_time"`
	ChannelOrder string `json:"channel_order"`
}

// DecodeAutoPayAnswer reads AutoPay's data leniently.
func DecodeAutoPayAnswer(data []byte) (AutoPayAnswer, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return AutoPayAnswer{}, fe
	}
	a := AutoPayAnswer{
		VplNumber:    o.str("vpl_number", false, maxPlateLen),
		PayTime:      o.int64("pay_time", false, math.MinInt64, math.MaxInt64),
		ChannelOrder: o.str("channel_order", false, maxIDLen),
	}
	return a, o.err0()
}

// ---- PayOrderStatus (§5.8) ----

// PayOrderStatus asks for the outcome of an AutoPay by its request_order.
type PayOrderStatus struct {
	ParkCode     int64
	RequestOrder string
	Extra        url.Values
}

// Values validates r and encodes it.
func (r PayOrderStatus) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fRequestOrder, r.RequestOrder, true, maxIDLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodePayOrderStatus parses a received PayOrderStatus.
func DecodePayOrderStatus(v url.Values) (PayOrderStatus, error) {
	f := newForm(v)
	r := PayOrderStatus{ParkCode: f.parkCode(), RequestOrder: f.str(fRequestOrder, true, maxIDLen)}
	r.Extra = f.extra()
	return r, f.err0()
}

// PayOrderStatusAnswer is PayOrderStatus's data (status ≠ 0: no such order).
type PayOrderStatusAnswer struct {
	VplNumber       string `json:"vpl_number,omitempty"`
	Amount          int64  `json:"amount"`           // fen
	ParkingDuration int64  `json:"parking_duration"` // seconds
	ChannelOrder    string `json:"channel_order"`
}

// DecodePayOrderStatusAnswer reads PayOrderStatus's data leniently.
func DecodePayOrderStatusAnswer(data []byte) (PayOrderStatusAnswer, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return PayOrderStatusAnswer{}, fe
	}
	a := PayOrderStatusAnswer{
		VplNumber:       o.str("vpl_number", false, maxPlateLen),
		Amount:          o.int64("amount", false, math.MinInt64, math.MaxInt64),
		ParkingDuration: o.int64("parking_duration", false, math.MinInt64, math.MaxInt64),
		ChannelOrder:    o.str("channel_order", false, maxIDLen),
	}
	return a, o.err0()
}

// ---- AutoPayStatus (§5.5) ----

// AutoPayStatus asks whether a plate has contactless pay.
type AutoPayStatus struct {
	ParkCode  int64
	VplNumber string
	Extra     url.Values
}

// Values validates r and encodes it.
func (r AutoPayStatus) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fVplNumber, r.VplNumber, true, maxPlateLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodeAutoPayStatus parses a received AutoPayStatus.
func DecodeAutoPayStatus(v url.Values) (AutoPayStatus, error) {
	f := newForm(v)
	r := AutoPayStatus{ParkCode: f.parkCode(), VplNumber: f.str(fVplNumber, true, maxPlateLen)}
	r.Extra = f.extra()
	return r, f.err0()
}

// AutoPayStatusAnswer is AutoPayStatus's data (same shape as Indata's).
type AutoPayStatusAnswer = IndataAnswer

// DecodeAutoPayStatusAnswer reads AutoPayStatus's data leniently.
func DecodeAutoPayStatusAnswer(data []byte) (AutoPayStatusAnswer, error) {
	return DecodeIndataAnswer(data)
}

// ---- SpaceInfo (§5.2) ----

// SpaceInfo reports free spaces.
type SpaceInfo struct {
	ParkCode   int64
	TotalEmpty int
	VipEmpty   int
	TmpEmpty   int
	Extra      url.Values
}

// Values validates r and encodes it.
func (r SpaceInfo) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.int64(fTotalEmpty, int64(r.TotalEmpty), 0, maxCount)
	p.int64(fVipEmpty, int64(r.VipEmpty), 0, maxCount)
	p.int64(fTmpEmpty, int64(r.TmpEmpty), 0, maxCount)
	p.extra(r.Extra)
	return p.done()
}

// DecodeSpaceInfo parses a received SpaceInfo.
func DecodeSpaceInfo(v url.Values) (SpaceInfo, error) {
	f := newForm(v)
	r := SpaceInfo{
		ParkCode:   f.parkCode(),
		TotalEmpty: f.int(fTotalEmpty, true, 0, maxCount),
		VipEmpty:   f.int(fVipEmpty, true, 0, maxCount),
		TmpEmpty:   f.int(fTmpEmpty, true, 0, maxCount),
	}
	r.Extra = f.extra()
	return r, f.err0()
}

// ---- PicUpload (§5.6) ----

// PicUpload sends an entry or exit picture: base64 image text or an image
// URL. pic_con is not signed.
type PicUpload struct {
	ParkCode  int64
	RecordID  string
	InOutFlag InOutFlag
	PicCon    string
	Extra     url.Values
}

// Values validates r and encodes it.
func (r PicUpload) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	p.str(fRecordID, r.RecordID, true, maxIDLen)
	p.enum(fInOutFlag, int(r.InOutFlag), r.InOutFlag.Valid())
	p.str(fPicCon, r.PicCon, true, maxPicLen)
	p.extra(r.Extra)
	return p.done()
}

// DecodePicUpload parses a received PicUpload.
func DecodePicUpload(v url.Values) (PicUpload, error) {
	f := newForm(v)
	r := PicUpload{
		ParkCode:  f.parkCode(),
		RecordID:  f.str(fRecordID, true, maxIDLen),
		InOutFlag: InOutFlag(f.int(fInOutFlag, true, math.MinInt32, math.MaxInt32)),
		PicCon:    f.str(fPicCon, true, maxPicLen),
	}
	f.enum(fInOutFlag, int(r.InOutFlag), r.InOutFlag.Valid())
	r.Extra = f.extra()
	return r, f.err0()
}

// ---- ConfigUpload (§5.7) ----

// ConfigUpload reports the car park's configuration.
type ConfigUpload struct {
	ParkCode    int64
	ConfigItems ConfigItems
	Extra       url.Values
}

// ConfigItems is config_items.
type ConfigItems struct {
	ReservedOutTime int64 `json:"reserved_out_time"` // seconds a prepaid vehicle has to leave
}

// Values validates r and encodes it.
func (r ConfigUpload) Values() (url.Values, error) {
	p := newParams()
	p.int64(fParkCode, r.ParkCode, 1, math.MaxInt64)
	if e := checkRange(fConfigItems+".reserved_out_time", r.ConfigItems.ReservedOutTime, 0, maxSeconds); e != nil {
		p.fail(e)
	} else {
		b, _ := marshalCompact(r.ConfigItems)
		p.v.Set(fConfigItems, string(b))
	}
	p.extra(r.Extra)
	return p.done()
}

// DecodeConfigUpload parses a received ConfigUpload.
func DecodeConfigUpload(v url.Values) (ConfigUpload, error) {
	f := newForm(v)
	r := ConfigUpload{ParkCode: f.parkCode()}
	if s, ok := f.raw(fConfigItems); !ok {
		f.fail(fieldErr(fConfigItems, "missing"))
	} else if f.err == nil {
		jv, fe := parseJSON([]byte(s), fConfigItems)
		if fe != nil {
			f.fail(fe)
		} else if o, fe := asObj(jv, fConfigItems, fConfigItems+"."); fe != nil || jv == nil {
			f.fail(fieldErr(fConfigItems, "not a JSON object"))
		} else {
			r.ConfigItems.ReservedOutTime = o.int64("reserved_out_time", true, 0, maxSeconds)
			f.fail(o.err)
		}
	}
	r.Extra = f.extra()
	return r, f.err0()
}
