package cmb

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// decoders by endpoint, for the tables and the fuzzers.
var decoders = map[string]func(url.Values) (any, error){
	EpIndata:         func(v url.Values) (any, error) { return DecodeIndata(v) },
	EpOutdata:        func(v url.Values) (any, error) { return DecodeOutdata(v) },
	EpAutoPay:        func(v url.Values) (any, error) { return DecodeAutoPay(v) },
	EpPayOrderStatus: func(v url.Values) (any, error) { return DecodePayOrderStatus(v) },
	EpAutoPayStatus:  func(v url.Values) (any, error) { return DecodeAutoPayStatus(v) },
	EpSpaceInfo:      func(v url.Values) (any, error) { return DecodeSpaceInfo(v) },
	EpPicUpload:      func(v url.Values) (any, error) { return DecodePicUpload(v) },
	EpConfigUpload:   func(v url.Values) (any, error) { return DecodeConfigUpload(v) },
	EpCalc:           func(v url.Values) (any, error) { return DecodeCalcRequest(v) },
	EpPay:            func(v url.Values) (any, error) { return DecodePayRequest(v) },
	EpAutoPayBind:    func(v url.Values) (any, error) { return DecodeAutoPayBindRequest(v) },
	EpAutoPayUnbind:  func(v url.Values) (any, error) { return DecodeAutoPayUnbindRequest(v) },
	EpNoVpln:         func(v url.Values) (any, error) { return DecodeNoVplnRequest(v) },
}

type encoder interface{ Values() (url.Values, error) }

// validMessages: one good message per endpoint, all 13.
var validMessages = map[string]encoder{
	EpIndata: Indata{ParkCode: 5201020001, InCode: 1, VplNumber: "京A12311", RecordID: "20180917113202192", InTime: 1537155122,
		CarType: CarSmall, PowerType: PowerNormal, BodyColor: new(ColourBlue), PlateColor: new(ColourGreen), Logo: "0",
		AuthType: AuthVIP, Model: ModelSUV, Owner: "张三"},
	EpOutdata:        outdataExample,
	EpAutoPay:        AutoPay{ParkCode: 3308020001, VplNumber: "苏ZZ9871", RecordID: "9abcd6006b6b22d56d8c380f475590b3", Amount: 500, RequestOrder: "a8d74e464958612a4193a8edb9bf1556"},
	EpPayOrderStatus: PayOrderStatus{ParkCode: 3308020001, RequestOrder: "a8d74e46495861"},
	EpAutoPayStatus:  AutoPayStatus{ParkCode: 5201020001, VplNumber: "云Z00000"},
	EpSpaceInfo:      SpaceInfo{ParkCode: 5201020001, TotalEmpty: 700, VipEmpty: 600, TmpEmpty: 100},
	EpPicUpload:      PicUpload{ParkCode: 5201020001, RecordID: "1234567", InOutFlag: FlagIn, PicCon: "aGVsbG8+Pz8/"},
	EpConfigUpload:   ConfigUpload{ParkCode: 1101010030, ConfigItems: ConfigItems{ReservedOutTime: 1800}},
	EpCalc:           CalcRequest{ParkCode: 9100000008, OutCode: new(3), VplNumber: "京A12345"},
	EpPay: PayRequest{ParkCode: 9100000008, VplNumber: "京A12345", RecordID: "r1", BillID: "b1", PayTime: 1537243165,
		PayList: []PayItem{{PayType: PayCMB, Amount: 1000, Order: "12343535"}}},
	EpAutoPayBind:   AutoPayBindRequest{ParkCode: 9100000008, VplNumber: "粤B0D12X", AutoPayType: ChargeThenExit, Limit: 20000, SerialNo: "s1", PostURL: "https://openmain.park.cmbchina.biz/api/AutoPay"},
	EpAutoPayUnbind: AutoPayUnbindRequest{ParkCode: 9100000008, VplNumber: "粤B0D12X"},
	EpNoVpln:        NoVplnRequest{ParkCode: 9100000008, VplNumber: "临A0000000000001", InCode: 2},
}

func TestRoundTrip(t *testing.T) {
	for _, name := range append(append([]string{}, Uplinks...), Downlinks...) {
		t.Run(name, func(t *testing.T) {
			m, ok := validMessages[name]
			if !ok {
				t.Fatalf("no valid message for %s", name)
			}
			v, err := m.Values()
			if err != nil {
				t.Fatalf("Values() = %v; want nil", err)
			}
			got, err := decoders[name](v)
			if err != nil {
				t.Fatalf("Decode(%v) = %v; want nil", v, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("Decode(Values(%+v)) = %+v", m, got)
			}
			// Unknown fields survive: decoded into Extra, encoded again.
			v.Set("new_field", "新")
			v.Set(ParamAppID, "a")
			v.Set(ParamSign, "s")
			got, err = decoders[name](v)
			if err != nil {
				t.Fatalf("Decode with extra = %v", err)
			}
			v2, err := got.(encoder).Values()
			if err != nil {
				t.Fatalf("Values() after decode = %v", err)
			}
			if v2.Get("new_field") != "新" || v2.Has(ParamAppID) || v2.Has(ParamSign) {
				t.Errorf("re-encoded = %v; want new_field kept, no appid/sign", v2)
			}
		})
	}
}

// The forms of the document's examples decode.
func TestDecodeDocExamples(t *testing.T) {
	tests := []struct {
		name, endpoint, form string
	}{
		{"Indata §5.3", EpIndata, "logo=0&in_time=1537155122&model=0&body_color=0&vpl_number=%E4%BA%ACA12311&auth_type=0&in_code=1&record_id=20180917113202192&car_type=1&power_type=1&owner=&park_code=5201020001&plate_color=0&appid=jigb2abc&sign=6c67afa359758ee9f633f33b72e43336"},
		{"Outdata §5.4", EpOutdata, "appid=nwikae&charge_items=%5B%7B%22should_pay%22%3A1%2C%22actual_pay%22%3A1%2C%22pay_type%22%3A99%2C%22toll_collector%22%3A%22Doraemon%22%2C%22seq_num%22%3A%22520600NCcLjxR1550560951699014cmb%22%2C%22time%22%3A1550560954%7D%5D&in_code=1&in_time=1550049030&out_code=1&out_time=1550562547&park_code=4406050001&record_id=2019213091030&sign=abc62cd06e6eb0c3303de2d01524defe&vpl_number=%E6%B5%99C99999"},
		{"AutoPay §5.1", EpAutoPay, "park_code=3308020001&appid=jsnncduf&sign=139b319bf1ccd4b8b1537acc192fce6c&vpl_number=%E8%8B%8FZZ9871&record_id=9abcd6006b6b22d56d8c380f475590b3&amount=500&request_order=a8d74e464958612a4193a8edb9bf1556"},
		{"SpaceInfo §5.2", EpSpaceInfo, "park_code=5201020001&total_empty=700&vip_empty=600&tmp_empty=100&appid=jigb2abc&sign=481e5d363c495585b0c218de249cf80e"},
		{"AutoPayStatus §5.5", EpAutoPayStatus, "park_code=5201020001&appid=oqlv37a&sign=9b9792899d9998b539a13ac404743c71&vpl_number=%E4%BA%91Z00000"},
		{"PicUpload §5.6", EpPicUpload, "park_code=5201020001&appid=oqlvv37a&sign=9b9792899d9998b540a13ac404743c71&record_id=1234567&in_out_flag=1&pic_con=12345"},
		{"ConfigUpload §5.7", EpConfigUpload, "park_code=1101010030&appid=jigb2abc&sign=7b7ab129413dd550891a96c4a70123d0&config_items=%7B%22reserved_out_time%22%3A1800%7D"},
		{"PayOrderStatus §5.8", EpPayOrderStatus, "park_code=3308020001&appid=jsnncduf&sign=139b319bf1ccd4b8b1537acc192fce6c&request_order=a8d74e46495861"},
		{"pay with numeric order §4.2", EpPay, `park_code=9100000008&vpl_number=x&record_id=r&pay_time=1537243165&pay_list=[{"pay_type":99,"amount":1000,"order":12343535}]`},
		{"autoPayBind with limiter §4.3", EpAutoPayBind, "park_code=1&vpl_number=x&auto_pay_type=0&limiter=100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decoders[tt.endpoint](v)
			if err != nil {
				t.Fatalf("Decode%s(%s) = %v; want nil", tt.endpoint, tt.form, err)
			}
			if x := reflect.ValueOf(got).FieldByName("Extra"); x.Len() != 0 {
				t.Errorf("Decode%s: Extra = %v; want none", tt.endpoint, x)
			}
		})
	}
	p, _ := DecodePayRequest(url.Values{"park_code": {"1"}, "vpl_number": {"x"}, "record_id": {"r"}, "pay_time": {"1537243165"},
		"pay_list": {`[{"pay_type":"99","amount":"600","order":12343535},{"pay_type":99,"amount":400,"order":"o2"}]`}})
	if want := []PayItem{{99, 600, "12343535"}, {99, 400, "o2"}}; !reflect.DeepEqual(p.PayList, want) || p.Total() != 1000 {
		t.Errorf("pay_list = %+v (total %d); want %+v", p.PayList, p.Total(), want)
	}
}

// form builds a valid form of endpoint with changes applied ("" deletes).
func formWith(t testing.TB, endpoint string, changes map[string]string) url.Values {
	v, err := validMessages[endpoint].Values()
	if err != nil {
		t.Fatal(err)
	}
	for k, x := range changes {
		if x == "\x00delete" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	return v
}

const del = "\x00delete"

var decodeErrorTests = []struct {
	name      string
	endpoint  string
	changes   map[string]string
	wantField string
}{
	{"Indata no park_code", EpIndata, map[string]string{"park_code": del}, "park_code"},
	{"Indata park_code zero", EpIndata, map[string]string{"park_code": "0"}, "park_code"},
	{"Indata park_code text", EpIndata, map[string]string{"park_code": "52x"}, "park_code"},
	{"Indata park_code overflow", EpIndata, map[string]string{"park_code": "99999999999999999999"}, "park_code"},
	{"Indata in_code 256", EpIndata, map[string]string{"in_code": "256"}, "in_code"},
	{"Indata in_code -1", EpIndata, map[string]string{"in_code": "-1"}, "in_code"},
	{"Indata no vpl_number", EpIndata, map[string]string{"vpl_number": ""}, "vpl_number"},
	{"Indata bad utf-8 plate", EpIndata, map[string]string{"vpl_number": "\xff\xfe"}, "vpl_number"},
	{"Indata control char", EpIndata, map[string]string{"record_id": "a\nb"}, "record_id"},
	{"Indata long record_id", EpIndata, map[string]string{"record_id": strings.Repeat("x", 129)}, "record_id"},
	{"Indata 13-digit time", EpIndata, map[string]string{"in_time": "1537155122000"}, "in_time"},
	{"Indata 9-digit time", EpIndata, map[string]string{"in_time": "999999999"}, "in_time"},
	{"Indata car_type 3", EpIndata, map[string]string{"car_type": "3"}, "car_type"},
	{"Indata no car_type", EpIndata, map[string]string{"car_type": del}, "car_type"},
	{"Indata power_type 4", EpIndata, map[string]string{"power_type": "4"}, "power_type"},
	{"Indata body_color 5", EpIndata, map[string]string{"body_color": "5"}, "body_color"},
	{"Indata plate_color -1", EpIndata, map[string]string{"plate_color": "-1"}, "plate_color"},
	{"Indata auth_type 1", EpIndata, map[string]string{"auth_type": "1"}, "auth_type"},
	{"Indata model 12", EpIndata, map[string]string{"model": "12"}, "model"},
	{"Outdata out_code 300", EpOutdata, map[string]string{"out_code": "300"}, "out_code"},
	{"Outdata no charge_items", EpOutdata, map[string]string{"charge_items": del}, "charge_items"},
	{"Outdata charge_items not JSON", EpOutdata, map[string]string{"charge_items": "[{"}, "charge_items"},
	{"Outdata charge_items object", EpOutdata, map[string]string{"charge_items": "{}"}, "charge_items"},
	{"Outdata charge_items trailing", EpOutdata, map[string]string{"charge_items": "[] []"}, "charge_items"},
	{"Outdata negative fen", EpOutdata, map[string]string{"charge_items": `[{"should_pay":-1,"actual_pay":0,"pay_type":99,"time":1550560954}]`}, "charge_items[0].should_pay"},
	{"Outdata pay_type 30", EpOutdata, map[string]string{"charge_items": `[{"should_pay":1,"actual_pay":0,"pay_type":30,"time":1550560954}]`}, "charge_items[0].pay_type"},
	{"Outdata item time ms", EpOutdata, map[string]string{"charge_items": `[{"should_pay":1,"actual_pay":0,"pay_type":99,"time":1550560954000}]`}, "charge_items[0].time"},
	{"Outdata item not object", EpOutdata, map[string]string{"charge_items": `[1]`}, "charge_items[0]"},
	{"AutoPay amount 0", EpAutoPay, map[string]string{"amount": "0"}, "amount"},
	{"AutoPay amount negative", EpAutoPay, map[string]string{"amount": "-5"}, "amount"},
	{"AutoPay amount yuan", EpAutoPay, map[string]string{"amount": "5.00"}, "amount"},
	{"AutoPay no request_order", EpAutoPay, map[string]string{"request_order": del}, "request_order"},
	{"PayOrderStatus no request_order", EpPayOrderStatus, map[string]string{"request_order": ""}, "request_order"},
	{"AutoPayStatus no plate", EpAutoPayStatus, map[string]string{"vpl_number": del}, "vpl_number"},
	{"SpaceInfo negative", EpSpaceInfo, map[string]string{"tmp_empty": "-1"}, "tmp_empty"},
	{"SpaceInfo missing", EpSpaceInfo, map[string]string{"vip_empty": del}, "vip_empty"},
	{"PicUpload flag 3", EpPicUpload, map[string]string{"in_out_flag": "3"}, "in_out_flag"},
	{"PicUpload no pic", EpPicUpload, map[string]string{"pic_con": ""}, "pic_con"},
	{"ConfigUpload not JSON", EpConfigUpload, map[string]string{"config_items": "reserved_out_time=1"}, "config_items"},
	{"ConfigUpload null", EpConfigUpload, map[string]string{"config_items": "null"}, "config_items"},
	{"ConfigUpload no item", EpConfigUpload, map[string]string{"config_items": "{}"}, "config_items.reserved_out_time"},
	{"ConfigUpload negative", EpConfigUpload, map[string]string{"config_items": `{"reserved_out_time":-1}`}, "config_items.reserved_out_time"},
	{"calc neither", EpCalc, map[string]string{"out_code": del, "vpl_number": del}, "out_code"},
	{"calc out_code -1", EpCalc, map[string]string{"out_code": "-1"}, "out_code"},
	{"calc out_code beyond int32", EpCalc, map[string]string{"out_code": "4294967296"}, "out_code"},
	{"calc no park_code", EpCalc, map[string]string{"park_code": del}, "park_code"},
	{"pay no pay_list", EpPay, map[string]string{"pay_list": del}, "pay_list"},
	{"pay empty pay_list", EpPay, map[string]string{"pay_list": "[]"}, "pay_list"},
	{"pay pay_list object", EpPay, map[string]string{"pay_list": `{"pay_type":99}`}, "pay_list"},
	{"pay negative amount", EpPay, map[string]string{"pay_list": `[{"pay_type":99,"amount":-1,"order":"o"}]`}, "pay_list[0].amount"},
	{"pay fractional amount", EpPay, map[string]string{"pay_list": `[{"pay_type":99,"amount":10.5,"order":"o"}]`}, "pay_list[0].amount"},
	{"pay no order", EpPay, map[string]string{"pay_list": `[{"pay_type":99,"amount":1}]`}, "pay_list[0].order"},
	{"pay no pay_time", EpPay, map[string]string{"pay_time": del}, "pay_time"},
	{"pay no record_id", EpPay, map[string]string{"record_id": del}, "record_id"},
	{"autoPayBind no limit", EpAutoPayBind, map[string]string{"limiter": del}, "limiter"},
	{"autoPayBind negative limit", EpAutoPayBind, map[string]string{"limiter": "-1"}, "limiter"},
	{"autoPayBind type not a number", EpAutoPayBind, map[string]string{"auto_pay_type": "x"}, "auto_pay_type"},
	{"autoPayUnbind no plate", EpAutoPayUnbind, map[string]string{"vpl_number": ""}, "vpl_number"},
	{"NoVpln no in_code", EpNoVpln, map[string]string{"in_code": del}, "in_code"},
	{"NoVpln in_code -1", EpNoVpln, map[string]string{"in_code": "-1"}, "in_code"},
}

func TestDecodeErrors(t *testing.T) {
	for _, tt := range decodeErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			v := formWith(t, tt.endpoint, tt.changes)
			_, err := decoders[tt.endpoint](v)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode%s(%v) = %v; want a *FieldError matching ErrMalformed", tt.endpoint, v, err)
			}
			if fe.Field != tt.wantField || fe.Problem == "" {
				t.Errorf("Decode%s(%v) field = %q (%s); want %q", tt.endpoint, v, fe.Field, fe.Problem, tt.wantField)
			}
		})
	}
}

// Decisions that accept rather than refuse.
func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		changes  map[string]string
		check    func(any) bool
	}{
		{"lane code 0 on decode (§4.1 and §5.3 say 0~255)", EpIndata, map[string]string{"in_code": "0"}, func(m any) bool { return m.(Indata).InCode == 0 }},
		{"calc out_code 0", EpCalc, map[string]string{"out_code": "0"}, func(m any) bool { return *m.(CalcRequest).OutCode == 0 }},
		// Issue 11 item 11: any non-negative lane code on a callback (the
		// document's own signing example sends out_code=1065).
		{"calc out_code 1065", EpCalc, map[string]string{"out_code": "1065"}, func(m any) bool { return *m.(CalcRequest).OutCode == 1065 }},
		{"NoVpln in_code 1000", EpNoVpln, map[string]string{"in_code": "1000"}, func(m any) bool { return m.(NoVplnRequest).InCode == 1000 }},
		{"bind: auto_pay_type 2 kept", EpAutoPayBind, map[string]string{"auto_pay_type": "2"}, func(m any) bool { return m.(AutoPayBindRequest).AutoPayType == 2 }},
		{"bind: auto_pay_type -7 kept", EpAutoPayBind, map[string]string{"auto_pay_type": "-7"}, func(m any) bool { return m.(AutoPayBindRequest).AutoPayType == -7 }},
		{"optional colours absent", EpIndata, map[string]string{"body_color": del, "plate_color": ""}, func(m any) bool {
			return m.(Indata).BodyColor == nil && m.(Indata).PlateColor == nil
		}},
		{"bind: limit alias", EpAutoPayBind, map[string]string{"limiter": del, "limit": "300"}, func(m any) bool { return m.(AutoPayBindRequest).Limit == 300 }},
		{"bind: limiter wins", EpAutoPayBind, map[string]string{"limiter": "200", "limit": "300"}, func(m any) bool {
			r := m.(AutoPayBindRequest)
			return r.Limit == 200 && r.Extra.Get("limit") == "300"
		}},
		{"bind: auto_pay_type absent is 0", EpAutoPayBind, map[string]string{"auto_pay_type": del}, func(m any) bool { return m.(AutoPayBindRequest).AutoPayType == ChargeThenExit }},
		{"calc plate query", EpCalc, map[string]string{"out_code": del}, func(m any) bool { return m.(CalcRequest).Mode() == CalcPlateQuery }},
		{"calc exit scan", EpCalc, map[string]string{"vpl_number": ""}, func(m any) bool { return m.(CalcRequest).Mode() == CalcExitScan }},
		{"Outdata empty charge_items", EpOutdata, map[string]string{"charge_items": "[]"}, func(m any) bool { return len(m.(Outdata).ChargeItems) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := formWith(t, tt.endpoint, tt.changes)
			got, err := decoders[tt.endpoint](v)
			if err != nil || !tt.check(got) {
				t.Errorf("Decode%s(%v) = %+v, %v", tt.endpoint, v, got, err)
			}
		})
	}
}

func TestDecodeRepeated(t *testing.T) {
	for _, name := range Downlinks {
		v := formWith(t, name, nil)
		v.Add(fParkCode, "1")
		if _, err := decoders[name](v); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode%s(repeated park_code) = %v; want ErrMalformed", name, err)
		}
		v = formWith(t, name, map[string]string{"x": "1"})
		v.Add("x", "2")
		if _, err := decoders[name](v); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode%s(repeated unknown) = %v; want ErrMalformed", name, err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		m         encoder
		wantField string
	}{
		{"Indata lane 0 (§6.8: 1–255)", Indata{ParkCode: 1, InCode: 0, VplNumber: "x", RecordID: "r", InTime: 1537155122, CarType: CarSmall, PowerType: PowerNormal}, "in_code"},
		{"Indata zero value", Indata{}, "park_code"},
		{"Indata no car_type", Indata{ParkCode: 1, InCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, PowerType: PowerNormal}, "car_type"},
		{"Indata 1970 clock", Indata{ParkCode: 1, InCode: 1, VplNumber: "x", RecordID: "r", InTime: 3600, CarType: CarSmall, PowerType: PowerNormal}, "in_time"},
		{"Indata bad colour", Indata{ParkCode: 1, InCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, CarType: CarSmall, PowerType: PowerNormal, PlateColor: new(Colour(9))}, "plate_color"},
		{"Outdata out_code 0", Outdata{ParkCode: 1, InCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, OutTime: 1537155122}, "out_code"},
		{"Outdata bad item", Outdata{ParkCode: 1, InCode: 1, OutCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, OutTime: 1537155122,
			ChargeItems: []ChargeItem{{ShouldPay: 1, ActualPay: -1, PayType: PayCash, Time: 1537155122}}}, "charge_items[0].actual_pay"},
		{"AutoPay 0 fen", AutoPay{ParkCode: 1, VplNumber: "x", RecordID: "r", RequestOrder: "o"}, "amount"},
		{"SpaceInfo negative", SpaceInfo{ParkCode: 1, TotalEmpty: -1}, "total_empty"},
		{"PicUpload flag 0", PicUpload{ParkCode: 1, RecordID: "r", PicCon: "x"}, "in_out_flag"},
		{"ConfigUpload negative", ConfigUpload{ParkCode: 1, ConfigItems: ConfigItems{ReservedOutTime: -1}}, "config_items.reserved_out_time"},
		{"calc neither", CalcRequest{ParkCode: 1}, "out_code"},
		{"pay empty list", PayRequest{ParkCode: 1, VplNumber: "x", RecordID: "r", PayTime: 1537155122}, "pay_list"},
		{"NoVpln in_code -1", NoVplnRequest{ParkCode: 1, VplNumber: "x", InCode: -1}, "in_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.m.Values()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Errorf("%T.Values() = %v; want a *FieldError for %q", tt.m, err, tt.wantField)
			}
		})
	}
	v, _ := Outdata{ParkCode: 1, InCode: 1, OutCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, OutTime: 1537155122}.Values()
	if got := v.Get("charge_items"); got != "[]" {
		t.Errorf("Outdata without items: charge_items = %q; want []", got)
	}
	v, _ = validMessages[EpConfigUpload].Values()
	if got, want := v.Get("config_items"), `{"reserved_out_time":1800}`; got != want {
		t.Errorf("config_items = %q; want %q", got, want)
	}
}

// answerTests: lenient decoding of the platform's answers.
var answerTests = []struct {
	name string
	body string
	want Envelope
	ok   bool
}{
	{"number", `{"status":0,"message":"success"}`, Envelope{Status: 0, Message: "success"}, true},
	{"string status", `{"status":"0","message":"success"}`, Envelope{Status: 0, Message: "success"}, true},
	{"string non-zero", `{"status":"2","message":"无记录"}`, Envelope{Status: 2, Message: "无记录"}, true},
	{"null data", `{"status":0,"message":"ok","data":null}`, Envelope{Status: 0, Message: "ok"}, true},
	{"data", `{"status":0,"message":"ok","data":{"uid":"1","limit":5000}}`, Envelope{Status: 0, Message: "ok", Data: []byte(`{"uid":"1","limit":5000}`)}, true},
	{"no message", `{"status":1}`, Envelope{Status: 1}, true},
	{"numeric message", `{"status":1,"message":404}`, Envelope{Status: 1, Message: "404"}, true},
	{"padded status", `{"status":" 0 "}`, Envelope{}, true},
	{"multi-line message", `{"status":500,"message":"java.lang.NullPointerException\n\tat x"}`, Envelope{Status: 500, Message: "java.lang.NullPointerException\n\tat x"}, true},
	{"long message clipped", `{"status":1,"message":"` + strings.Repeat("长", 400) + `"}`, Envelope{Status: 1, Message: strings.Repeat("长", 341) + "…"}, true},
	{"no status", `{"message":"ok"}`, Envelope{}, false},
	{"null status", `{"status":null}`, Envelope{}, false},
	{"empty status", `{"status":""}`, Envelope{}, false},
	{"text status", `{"status":"ok"}`, Envelope{}, false},
	{"bool status", `{"status":true}`, Envelope{}, false},
	{"huge status", `{"status":99999999999}`, Envelope{}, false},
	{"array", `[]`, Envelope{}, false},
	{"null", `null`, Envelope{}, false},
	{"html", `<html>502 Bad Gateway</html>`, Envelope{}, false},
	{"empty", ``, Envelope{}, false},
	{"truncated", `{"status":0,"mess`, Envelope{}, false},
}

func TestDecodeEnvelope(t *testing.T) {
	for _, tt := range answerTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEnvelope([]byte(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("DecodeEnvelope(%s) = %v; want ok %v", tt.body, err, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(got, tt.want) && !(len(got.Data) == 0 && len(tt.want.Data) == 0 && got.Status == tt.want.Status && got.Message == tt.want.Message) {
				t.Errorf("DecodeEnvelope(%s) = %+v; want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestDecodeAnswers(t *testing.T) {
	ia, err := DecodeIndataAnswer([]byte(`{"uid":"1","limit":"5000"}`))
	if err != nil || ia != (IndataAnswer{UID: 1, Limit: 5000}) || !ia.Contactless() {
		t.Errorf("DecodeIndataAnswer(strings) = %+v, %v", ia, err)
	}
	ia, err = DecodeIndataAnswer([]byte(`"{\"uid\":1,\"limit\":300}"`))
	if err != nil || ia != (IndataAnswer{UID: 1, Limit: 300}) {
		t.Errorf("DecodeIndataAnswer(data as a JSON string) = %+v, %v", ia, err)
	}
	ia, err = DecodeIndataAnswer(nil)
	if err != nil || ia != (IndataAnswer{}) {
		t.Errorf("DecodeIndataAnswer(nil) = %+v, %v", ia, err)
	}
	if _, err := DecodeIndataAnswer([]byte(`{"uid":"yes"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeIndataAnswer(uid yes) = %v; want ErrMalformed", err)
	}
	if _, err := DecodeIndataAnswer([]byte(`[1]`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeIndataAnswer([1]) = %v; want ErrMalformed", err)
	}
	ap, err := DecodeAutoPayAnswer([]byte(`{"vpl_number":"苏ZZ9871","pay_time":"1550560954","channel_order":12345}`))
	if err != nil || ap != (AutoPayAnswer{VplNumber: "苏ZZ9871", PayTime: 1550560954, ChannelOrder: "12345"}) {
		t.Errorf("DecodeAutoPayAnswer = %+v, %v", ap, err)
	}
	ps, err := DecodePayOrderStatusAnswer([]byte(`{"amount":500.0,"parking_duration":"7200","channel_order":"c"}`))
	if err != nil || ps != (PayOrderStatusAnswer{Amount: 500, ParkingDuration: 7200, ChannelOrder: "c"}) {
		t.Errorf("DecodePayOrderStatusAnswer = %+v, %v", ps, err)
	}
	ca, err := DecodeCalcAnswer([]byte(`{"vpl_number":"京A12345","record_id":"r","in_time":"1537243165","out_time":1537250365,"duration":7200,
		"charge":{"total_price":"1000","should_pay":600,"paid":400},"discount":[{"unit":0,"name":"券","value":"0"}]}`))
	want := CalcAnswer{VplNumber: "京A12345", RecordID: "r", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
		Charge: Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}, Discount: []Discount{{Unit: DiscountAmount, Name: "券"}}}
	if err != nil || !reflect.DeepEqual(ca, want) {
		t.Errorf("DecodeCalcAnswer = %+v, %v; want %+v", ca, err, want)
	}
	if _, err := DecodeCalcAnswer([]byte(`{"charge":{"should_pay":-1}}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("DecodeCalcAnswer(negative) = %v; want ErrMalformed", err)
	}
	// Our own answers send numbers, discount [] when empty.
	b, _ := marshalCompact(CalcAnswer{VplNumber: "京A12345", Charge: Charge{ShouldPay: 600}})
	if got, want := string(b), `{"vpl_number":"京A12345","record_id":"","bill_id":"","in_time":0,"out_time":0,"duration":0,"charge":{"total_price":0,"should_pay":600,"paid":0},"discount":[]}`; got != want {
		t.Errorf("marshal CalcAnswer = %s; want %s", got, want)
	}
	nv := NoVplnRequest{ParkCode: 1, VplNumber: "临A1", InCode: 1}
	for _, tt := range []struct {
		plate string
		ok    bool
	}{{"临A1", true}, {"临A00000000000001", true}, {"临A0000000000001", false}, {strings.Repeat("x", 31), false}, {strings.Repeat("x", 30), true}} {
		if err := (NoVplnAnswer{VplNumber: tt.plate}).ValidateFor(nv); (err == nil) != tt.ok {
			t.Errorf("NoVplnAnswer{%q}.ValidateFor = %v; want ok %v", tt.plate, err, tt.ok)
		}
	}
}

func TestQRURL(t *testing.T) {
	tests := []struct {
		host        string
		park        int64
		plate, bert string
		want        string
	}{
		{QRHost(EnvProd), 5201020001, "京A12345", "3", "https://cmain.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=%E4%BA%ACA12345&berth_number=3"},
		{QRHost(EnvUAT), 1, "", "出口 1&2", "https://cmain-uat.park.cmbchina.biz/ytc/login?type=1&park_code=1&vpl_number=&berth_number=%E5%87%BA%E5%8F%A3+1%262"},
		{"http://127.0.0.1:8080/", 1, "a+b", "1", "http://127.0.0.1:8080/ytc/login?type=1&park_code=1&vpl_number=a%2Bb&berth_number=1"},
	}
	for _, tt := range tests {
		if got := QRURL(tt.host, tt.park, tt.plate, tt.bert); got != tt.want {
			t.Errorf("QRURL(%q, %d, %q, %q) = %s; want %s", tt.host, tt.park, tt.plate, tt.bert, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in       string
		env      Environment
		api, qr  string
		wantFail bool
	}{
		{"st", EnvST, "https://openmain-st.park.cmbchina.biz", "cmain-st.park.cmbchina.biz", false},
		{"UAT", EnvUAT, "https://openmain-uat.park.cmbchina.biz", "cmain-uat.park.cmbchina.biz", false},
		{"production", EnvProd, "https://openmain.park.cmbchina.biz", "cmain.park.cmbchina.biz", false},
		{"dev", "", "", "", true},
	} {
		env, err := ParseEnvironment(tt.in)
		if (err != nil) != tt.wantFail || env != tt.env || APIBase(env) != tt.api || QRHost(env) != tt.qr {
			t.Errorf("ParseEnvironment(%q) = %q, %v (api %q, qr %q)", tt.in, env, err, APIBase(env), QRHost(env))
		}
	}
}
