package cmb

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// rawValues is the form of m as its table writes it, without any check:
// the wire image of a message a sender may get wrong.
func rawValues[M any](t *table[M], m *M) url.Values {
	v := url.Values{}
	for _, f := range t.fields {
		switch f.kind {
		case kindInt, kindEnum:
			if n, ok := f.getInt(m); ok {
				v.Set(f.name, strconv.FormatInt(n, 10))
			}
		case kindText, kindPlate:
			if s := *f.text(m); s != "" {
				v.Set(f.name, s)
			}
		case kindJSON:
			b, err := marshalCompact(f.value(m))
			if err != nil {
				panic(err)
			}
			v.Set(f.name, string(b))
		}
	}
	return v
}

// sides is how a message is checked before sending, put on the wire
// unchecked, and read when received.
type sides[M, W any] struct {
	send func(M) error
	wire func(M) W
	recv func(W) (M, error)
}

func formSides[M any](t *table[M], send func(M) (url.Values, error), recv func(url.Values) (M, error)) sides[M, url.Values] {
	return sides[M, url.Values]{
		send: func(m M) error { _, err := send(m); return err },
		wire: func(m M) url.Values { return rawValues(t, &m) },
		recv: recv,
	}
}

// probe is one value of one field and what the field's rule says of it.
type probe[X any] struct {
	desc           string
	set            func(*X)
	sendOK, recvOK bool
}

// probes returns, for field f, values at its bounds and just past them,
// with the rule's verdict for each direction.
// A value carried in JSON (jsonWire) cannot be invalid UTF-8 on the wire.
func probes[X any](f field[X], jsonWire bool) []probe[X] {
	var ps []probe[X]
	switch f.kind {
	case kindInt, kindEnum:
		var ns []int64
		if f.kind == kindEnum {
			for n := int64(-2); n <= 100; n++ {
				ns = append(ns, n)
			}
			ns = append(ns, 65533, 65534, 65535)
		}
		ns = append(ns, f.lo, f.hi, f.least())
		if f.lo > math.MinInt64 {
			ns = append(ns, f.lo-1)
		}
		if f.least() > math.MinInt64 {
			ns = append(ns, f.least()-1)
		}
		if f.hi < math.MaxInt64 {
			ns = append(ns, f.hi+1)
		}
		for _, n := range ns {
			var x X
			if f.setInt(&x, n); !representable(f, &x, n) {
				continue // past what the field's Go type holds (int on 32-bit ARM)
			}
			in := n >= f.lo && n <= f.hi
			sendOK := n >= f.least() && n <= f.hi
			if f.kind == kindEnum {
				sendOK = f.valid(n)
				in = in && f.valid(n)
			}
			ps = append(ps, probe[X]{fmt.Sprintf("%s=%d", f.name, n), func(x *X) { f.setInt(x, n) }, sendOK, in})
		}
	case kindText, kindPlate:
		texts := []string{"", "a", strings.Repeat("x", f.max), strings.Repeat("x", f.max+1), "a\nb"}
		if !jsonWire {
			texts = append(texts, "\xff")
		}
		for _, s := range texts {
			ok := (s != "" || !f.required) && len(s) <= f.max && utf8.ValidString(s) && !strings.Contains(s, "\n")
			recvOK := ok && (f.kind != kindPlate || utf8.RuneCountInString(s) <= f.runes)
			ps = append(ps, probe[X]{fmt.Sprintf("%s of %d bytes", f.name, len(s)), func(x *X) { *f.text(x) = s }, ok, recvOK})
		}
		if f.kind == kindPlate {
			// A plate is sent as text; its characters are counted when received.
			for _, n := range []int{f.runes, f.runes + 1} {
				s := strings.Repeat("临", n)
				ok := len(s) <= f.max
				ps = append(ps, probe[X]{fmt.Sprintf("%s of %d characters", f.name, n), func(x *X) { *f.text(x) = s }, ok, ok && n <= f.runes})
			}
		}
	}
	return ps
}

// representable reports whether x, set to n, holds n.
func representable[X any](f field[X], x *X, n int64) bool {
	got, _ := f.getInt(x)
	return got == n
}

// checkFields runs the probes of every field of tbl on the X that at finds
// in a copy of valid; prefix is how errors name those fields ("" for a
// form's own fields, else a JSON member's path).
func checkFields[M, X, W any](t *testing.T, s sides[M, W], valid M, tbl *table[X], at func(*M) *X, prefix string) {
	t.Helper()
	for _, f := range tbl.fields {
		for _, p := range probes(f, prefix != "") {
			m := valid
			p.set(at(&m))
			p.desc = fmt.Sprintf("%T %s", valid, p.desc)
			sendErr := s.send(m)
			got, recvErr := s.recv(s.wire(m))
			for _, side := range []struct {
				dir string
				ok  bool
				err error
			}{{"send", p.sendOK, sendErr}, {"receive", p.recvOK, recvErr}} {
				var fe *FieldError
				switch {
				case side.ok && side.err != nil:
					t.Errorf("%s: %s refused: %v", p.desc, side.dir, side.err)
				case !side.ok && (!errors.As(side.err, &fe) || fe.Field != prefix+f.name):
					t.Errorf("%s: %s = %v; want a *FieldError for %s", p.desc, side.dir, side.err, prefix+f.name)
				}
			}
			if p.sendOK && p.recvOK && recvErr == nil && !reflect.DeepEqual(got, m) {
				t.Errorf("%s: received %+v; want %+v", p.desc, got, m)
			}
			if p.sendOK && !p.recvOK {
				if f.kind != kindPlate {
					t.Errorf("%s: sent but refused when received: only a plate's characters may differ", p.desc)
				}
			}
		}
	}
}

// TestTablesAgree: for every message, each field's rule holds when the
// message is sent and when it is received: a value at a bound goes both
// ways and comes back equal, a value just past it is refused both ways
// naming the field. The exceptions are the rule's own: a lane code 0 is
// received but not sent, a plate's characters are counted when received.
func TestTablesAgree(t *testing.T) {
	checkForm(t, indataTable, Indata.Values, DecodeIndata, validMessages[EpIndata].(Indata))
	s := checkForm(t, outdataTable, Outdata.Values, DecodeOutdata, outdataExample)
	checkFields(t, s, outdataExample, chargeItemTable, func(m *Outdata) *ChargeItem { return first(&m.ChargeItems) }, "charge_items[0].")
	checkForm(t, autoPayTable, AutoPay.Values, DecodeAutoPay, validMessages[EpAutoPay].(AutoPay))
	checkForm(t, payOrderStatusTable, PayOrderStatus.Values, DecodePayOrderStatus, validMessages[EpPayOrderStatus].(PayOrderStatus))
	checkForm(t, autoPayStatusTable, AutoPayStatus.Values, DecodeAutoPayStatus, validMessages[EpAutoPayStatus].(AutoPayStatus))
	checkForm(t, spaceInfoTable, SpaceInfo.Values, DecodeSpaceInfo, validMessages[EpSpaceInfo].(SpaceInfo))
	checkForm(t, picUploadTable, PicUpload.Values, DecodePicUpload, validMessages[EpPicUpload].(PicUpload))
	config := validMessages[EpConfigUpload].(ConfigUpload)
	s2 := checkForm(t, configUploadTable, ConfigUpload.Values, DecodeConfigUpload, config)
	checkFields(t, s2, config, configItemsTable, func(m *ConfigUpload) *ConfigItems { return &m.ConfigItems }, "config_items.")
	checkForm(t, calcRequestTable, CalcRequest.Values, DecodeCalcRequest, validMessages[EpCalc].(CalcRequest))
	pay := validMessages[EpPay].(PayRequest)
	s3 := checkForm(t, payRequestTable, PayRequest.Values, DecodePayRequest, pay)
	checkFields(t, s3, pay, payItemTable, func(m *PayRequest) *PayItem { return first(&m.PayList) }, "pay_list[0].")
	checkForm(t, autoPayBindTable, AutoPayBindRequest.Values, DecodeAutoPayBindRequest, validMessages[EpAutoPayBind].(AutoPayBindRequest))
	checkForm(t, autoPayUnbindTable, AutoPayUnbindRequest.Values, DecodeAutoPayUnbindRequest, validMessages[EpAutoPayUnbind].(AutoPayUnbindRequest))
	checkForm(t, noVplnTable, NoVplnRequest.Values, DecodeNoVplnRequest, validMessages[EpNoVpln].(NoVplnRequest))

	// calc's answer: checked by Validate, sent by appendJSON, read by
	// DecodeCalcAnswer.
	a := sides[CalcAnswer, []byte]{
		send: CalcAnswer.Validate,
		wire: func(a CalcAnswer) []byte { return a.appendJSON(nil) },
		recv: DecodeCalcAnswer,
	}
	valid := CalcAnswer{VplNumber: "京A12345", RecordID: "r", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
		Charge: Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}, Discount: []Discount{{Unit: DiscountTime, Name: "券", Value: 60}}}
	checkFields(t, a, valid, calcAnswerTable, func(a *CalcAnswer) *CalcAnswer { return a }, "data.")
	checkFields(t, a, valid, chargeTable, func(a *CalcAnswer) *Charge { return &a.Charge }, "data.charge.")
	checkFields(t, a, valid, discountTable, func(a *CalcAnswer) *Discount { return first(&a.Discount) }, "data.discount[0].")
}

// first is the first item of a copy of *list, put in its place: a probe
// changes it without touching the valid message's list.
func first[X any](list *[]X) *X {
	*list = slices.Clone(*list)
	return &(*list)[0]
}

// checkForm checks the fields of a form message's own table and returns
// its sides for the tables of its JSON fields.
func checkForm[M any](t *testing.T, tbl *table[M], send func(M) (url.Values, error), recv func(url.Values) (M, error), valid M) sides[M, url.Values] {
	t.Helper()
	s := formSides(tbl, send, recv)
	checkFields(t, s, valid, tbl, func(m *M) *M { return m }, "")
	return s
}

// TestTablesComplete: every field of a message struct is in its table
// (Extra aside), so no field is coded by hand beside it.
func TestTablesComplete(t *testing.T) {
	tests := []struct {
		m      any
		fields int
	}{
		{Indata{}, len(indataTable.fields)}, {Outdata{}, len(outdataTable.fields)}, {ChargeItem{}, len(chargeItemTable.fields)},
		{AutoPay{}, len(autoPayTable.fields)}, {PayOrderStatus{}, len(payOrderStatusTable.fields)},
		{AutoPayStatus{}, len(autoPayStatusTable.fields)}, {SpaceInfo{}, len(spaceInfoTable.fields)},
		{PicUpload{}, len(picUploadTable.fields)}, {ConfigUpload{}, len(configUploadTable.fields)},
		{ConfigItems{}, len(configItemsTable.fields)}, {CalcRequest{}, len(calcRequestTable.fields)},
		{PayRequest{}, len(payRequestTable.fields)}, {PayItem{}, len(payItemTable.fields)},
		{AutoPayBindRequest{}, len(autoPayBindTable.fields)}, {AutoPayUnbindRequest{}, len(autoPayUnbindTable.fields)},
		{NoVplnRequest{}, len(noVplnTable.fields)}, {Charge{}, len(chargeTable.fields)}, {Discount{}, len(discountTable.fields)},
		{IndataAnswer{}, len(indataAnswerTable.fields)}, {AutoPayAnswer{}, len(autoPayAnswerTable.fields)},
		{PayOrderStatusAnswer{}, len(payOrderStatusAnswerTable.fields)}, {NoVplnAnswer{}, len(noVplnAnswerTable.fields)},
		{CalcAnswer{}, len(calcAnswerTable.fields) + 2}, // charge and discount: tables of their own
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.m)
		n := typ.NumField()
		if _, ok := typ.FieldByName("Extra"); ok {
			n--
		}
		if n != tt.fields {
			t.Errorf("%s has %d fields; its table codes %d", typ.Name(), n, tt.fields)
		}
	}
}

// The English names the console shows, one per constant.
func TestNames(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{PayCMB.String(), "CMB"}, {PayAuthorisedFree.String(), "VIP/monthly free"}, {PayManualFree.String(), "manual free"},
		{PayShortStayFree.String(), "short stay free"}, {PayTariffFree.String(), "free by tariff"},
		{PayPrepaidGrace.String(), "prepaid grace"}, {PayCash.String(), "pay_type 1"}, {PayType(30).String(), "pay_type 30"},
		{ColourBlue.String(), "blue"}, {ColourYellow.String(), "yellow"}, {ColourWhite.String(), "white"},
		{ColourBlack.String(), "black"}, {ColourGreen.String(), "green"}, {Colour(-1).String(), "unknown"}, {Colour(5).String(), "unknown"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q; want %q", tt.got, tt.want)
		}
	}
}
