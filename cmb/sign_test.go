package cmb

import (
	"errors"
	"net/url"
	"testing"
)

const (
	testAppID  = "ik45nfuz"
	testSecret = "vqhqr9vozoorivkc3lemrbicphgzx"
)

// outdataExample is §5.4's example, as a typed message.
var outdataExample = Outdata{
	ParkCode: 4406050001, InCode: 1, OutCode: 1, VplNumber: "浙C99999", RecordID: "2019213091030",
	InTime: 1550049030, OutTime: 1550562547,
	ChargeItems: []ChargeItem{{ShouldPay: 1, ActualPay: 1, PayType: PayCMB, TollCollector: "Doraemon",
		SeqNum: "520600NCcLjxR1550560951699014cmb", Time: 1550560954}},
}

// The known answers of the spec's table (§1).
var signTests = []struct {
	name     string
	endpoint string
	params   url.Values
	input    string // the signed string, before MD5
	want     string
}{
	{
		name:   "out_code",
		params: url.Values{"appid": {testAppID}, "out_code": {"1065"}, "park_code": {"5201030001"}, "vpl_number": {"陕A12345"}},
		input:  "appid=ik45nfuz&out_code=1065&park_code=5201030001&vpl_number=陕A12345" + testSecret,
		want:   "d950592815936995d0c93ad587770307",
	},
	{
		name:   "empty values dropped",
		params: url.Values{"appid": {testAppID}, "park_code": {"5201030001"}, "vpl_number": {"京A12345"}, "out_code": {""}, "bill_id": {""}},
		input:  "appid=ik45nfuz&park_code=5201030001&vpl_number=京A12345" + testSecret,
		want:   "8b8ae6835fbe1dd4d9f62d158f1106a3",
	},
	{
		name: "Outdata example",
		params: url.Values{"appid": {testAppID}, "park_code": {"4406050001"}, "in_code": {"1"}, "out_code": {"1"},
			"vpl_number": {"浙C99999"}, "record_id": {"2019213091030"}, "in_time": {"1550049030"}, "out_time": {"1550562547"},
			"charge_items": {`[{"should_pay":1,"actual_pay":1,"pay_type":99,"toll_collector":"Doraemon","seq_num":"520600NCcLjxR1550560951699014cmb","time":1550560954}]`}},
		input: `appid=ik45nfuz&charge_items=[{"should_pay":1,"actual_pay":1,"pay_type":99,"toll_collector":"Doraemon","seq_num":"520600NCcLjxR1550560951699014cmb","time":1550560954}]&in_code=1&in_time=1550049030&out_code=1&out_time=1550562547&park_code=4406050001&record_id=2019213091030&vpl_number=浙C99999` + testSecret,
		want:  "201aa7119bebbf6da981c177425a8f00",
	},
	{
		name:   "sign itself ignored",
		params: url.Values{"appid": {testAppID}, "out_code": {"1065"}, "park_code": {"5201030001"}, "vpl_number": {"陕A12345"}, "sign": {"whatever"}},
		input:  "appid=ik45nfuz&out_code=1065&park_code=5201030001&vpl_number=陕A12345" + testSecret,
		want:   "d950592815936995d0c93ad587770307",
	},
	{
		name:   "byte order: upper case before lower case",
		params: url.Values{"b": {"2"}, "Z": {"1"}, "a": {"3"}, "a_": {"4"}},
		input:  "Z=1&a=3&a_=4&b=2" + testSecret,
		want:   md5hex([]byte("Z=1&a=3&a_=4&b=2" + testSecret)),
	},
	{
		name:     "PicUpload skips pic_con",
		endpoint: EpPicUpload,
		params:   url.Values{"appid": {testAppID}, "park_code": {"5201020001"}, "record_id": {"1234567"}, "in_out_flag": {"1"}, "pic_con": {"12345"}},
		input:    "appid=ik45nfuz&in_out_flag=1&park_code=5201020001&record_id=1234567" + testSecret,
		want:     md5hex([]byte("appid=ik45nfuz&in_out_flag=1&park_code=5201020001&record_id=1234567" + testSecret)),
	},
	{
		name:   "repeated name: first value",
		params: url.Values{"appid": {testAppID, "other"}, "park_code": {"1"}},
		input:  "appid=ik45nfuz&park_code=1" + testSecret,
		want:   md5hex([]byte("appid=ik45nfuz&park_code=1" + testSecret)),
	},
}

func TestSign(t *testing.T) {
	for _, tt := range signTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(signInput(tt.params, testSecret, skipFor(tt.endpoint))); got != tt.input {
				t.Errorf("signInput = %q; want %q", got, tt.input)
			}
			if got := SignFor(tt.endpoint, tt.params, testSecret); got != tt.want {
				t.Errorf("SignFor(%q) = %s; want %s", tt.endpoint, got, tt.want)
			}
			if tt.endpoint == "" {
				if got := Sign(tt.params, testSecret); got != tt.want {
					t.Errorf("Sign = %s; want %s", got, tt.want)
				}
			}
		})
	}
}

// The typed Outdata of §5.4's example encodes to exactly the signed text of
// the known answer.
func TestOutdataExampleSign(t *testing.T) {
	v, err := outdataExample.Values()
	if err != nil {
		t.Fatalf("Values: %v", err)
	}
	v.Set(ParamAppID, testAppID)
	if got, want := Sign(v, testSecret), "201aa7119bebbf6da981c177425a8f00"; got != want {
		t.Errorf("Sign(Outdata example) = %s; want %s (input %q)", got, want, signInput(v, testSecret, ""))
	}
}

func TestVerify(t *testing.T) {
	signed := func(v url.Values, endpoint string) url.Values {
		v.Set(ParamSign, SignFor(endpoint, v, testSecret))
		return v
	}
	base := func() url.Values {
		return url.Values{"appid": {testAppID}, "park_code": {"5201030001"}, "vpl_number": {"京A12345"}}
	}
	tests := []struct {
		name     string
		endpoint string
		params   url.Values
		secret   string
		want     error
	}{
		{"good", "", signed(base(), ""), testSecret, nil},
		{"upper-case hex", "", func() url.Values {
			v := base()
			v.Set(ParamSign, "8B8AE6835FBE1DD4D9F62D158F1106A3")
			return v
		}(), testSecret, nil},
		{"known answer", "", url.Values{"appid": {testAppID}, "out_code": {"1065"}, "park_code": {"5201030001"},
			"vpl_number": {"陕A12345"}, "sign": {"d950592815936995d0c93ad587770307"}}, testSecret, nil},
		{"unknown field included", "", signed(func() url.Values { v := base(); v.Set("new_field", "x"); return v }(), ""), testSecret, nil},
		{"unknown field added after signing", "", func() url.Values {
			v := signed(base(), "")
			v.Set("new_field", "x")
			return v
		}(), testSecret, ErrBadSign},
		{"empty field added after signing", "", func() url.Values {
			v := signed(base(), "")
			v.Set("bill_id", "")
			return v
		}(), testSecret, nil},
		{"wrong secret", "", signed(base(), ""), "other", ErrBadSign},
		{"tampered", "", func() url.Values { v := signed(base(), ""); v.Set("park_code", "5201030002"); return v }(), testSecret, ErrBadSign},
		{"missing sign", "", base(), testSecret, ErrBadSign},
		{"empty sign", "", func() url.Values { v := base(); v.Set("sign", ""); return v }(), testSecret, ErrBadSign},
		{"repeated value", "", func() url.Values { v := signed(base(), ""); v.Add("park_code", "1"); return v }(), testSecret, ErrMalformed},
		{"PicUpload: pic_con changed", EpPicUpload, func() url.Values {
			v := signed(url.Values{"appid": {testAppID}, "park_code": {"1"}, "record_id": {"r"}, "in_out_flag": {"1"}, "pic_con": {"abc"}}, EpPicUpload)
			v.Set("pic_con", "changed")
			return v
		}(), testSecret, nil},
		{"not PicUpload: pic_con signed", "", func() url.Values {
			v := signed(url.Values{"appid": {testAppID}, "park_code": {"1"}, "pic_con": {"abc"}}, "")
			v.Set("pic_con", "changed")
			return v
		}(), testSecret, ErrBadSign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyFor(tt.endpoint, tt.params, tt.secret)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("VerifyFor(%q, %v) = %v; want %v", tt.endpoint, tt.params, err, tt.want)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	for _, tt := range signTests {
		f.Add(url.Values(tt.params).Encode(), tt.want)
	}
	f.Add("appid=a&sign=", "")
	f.Add("a=1&a=2&sign=x", "x")
	f.Fuzz(func(t *testing.T, form, sign string) {
		v, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		v.Set(ParamSign, sign)
		err = Verify(v, testSecret)
		if err != nil && !errors.Is(err, ErrBadSign) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify = %v; want nil, ErrBadSign or ErrMalformed", err)
		}
		// Signing what was received always verifies, unless a name repeats.
		v.Set(ParamSign, Sign(v, testSecret))
		repeated := false
		for _, vs := range v {
			repeated = repeated || len(vs) > 1
		}
		if err := Verify(v, testSecret); (err == nil) == repeated {
			t.Fatalf("Verify(signed %v) = %v; repeated %v", v, err, repeated)
		}
	})
}
