package cmb

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// fuzzDecoder checks a form decoder: it never panics, fails only with a
// *FieldError, and what it accepts encodes and decodes again to the same
// message (except a lane code 0, accepted on decode only).
func fuzzDecoder(f *testing.F, endpoint string) {
	good, err := validMessages[endpoint].Values()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Encode())
	for _, tt := range decodeErrorTests {
		if tt.endpoint == endpoint {
			f.Add(formWith(f, endpoint, tt.changes).Encode())
		}
	}
	f.Add("")
	f.Add("park_code=1&park_code=2")
	decode := decoders[endpoint]
	f.Fuzz(func(t *testing.T, form string) {
		v, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		m, err := decode(v)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) || fe.Field == "" {
				t.Fatalf("Decode%s(%q) = %v; want a *FieldError", endpoint, form, err)
			}
			return
		}
		v2, err := m.(encoder).Values()
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) && (fe.Field == fInCode || fe.Field == fOutCode) {
				return
			}
			t.Fatalf("Values(Decode%s(%q)) = %v", endpoint, form, err)
		}
		m2, err := decode(v2)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("Decode%s(Values(%+v)) = %+v, %v", endpoint, m, m2, err)
		}
	})
}

func FuzzDecodeCalcRequest(f *testing.F)          { fuzzDecoder(f, EpCalc) }
func FuzzDecodePayRequest(f *testing.F)           { fuzzDecoder(f, EpPay) }
func FuzzDecodeAutoPayBindRequest(f *testing.F)   { fuzzDecoder(f, EpAutoPayBind) }
func FuzzDecodeAutoPayUnbindRequest(f *testing.F) { fuzzDecoder(f, EpAutoPayUnbind) }
func FuzzDecodeNoVplnRequest(f *testing.F)        { fuzzDecoder(f, EpNoVpln) }

// FuzzDecodeAnswer: the lenient envelope and data decoders never panic and
// fail only with a *FieldError.
func FuzzDecodeAnswer(f *testing.F) {
	for _, tt := range answerTests {
		f.Add([]byte(tt.body))
	}
	f.Add([]byte(`{"status":0,"data":{"vpl_number":"京A1","charge":{"should_pay":"600"},"discount":[{"unit":"1","value":60}]}}`))
	f.Add([]byte(`{"status":"0","data":{"uid":1.0,"limit":"1e3","pay_time":"1550560954","amount":-1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := DecodeEnvelope(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeEnvelope(%q) = %v; want ErrMalformed", body, err)
			}
			return
		}
		for name, dec := range map[string]func([]byte) error{
			"Indata":         func(b []byte) error { _, err := DecodeIndataAnswer(b); return err },
			"AutoPay":        func(b []byte) error { _, err := DecodeAutoPayAnswer(b); return err },
			"PayOrderStatus": func(b []byte) error { _, err := DecodePayOrderStatusAnswer(b); return err },
			"calc":           func(b []byte) error { _, err := DecodeCalcAnswer(b); return err },
			"NoVpln":         func(b []byte) error { _, err := DecodeNoVplnAnswer(b); return err },
		} {
			if err := dec(env.Data); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode%sAnswer(%q) = %v; want nil or ErrMalformed", name, env.Data, err)
			}
		}
	})
}

// FuzzAppendString: the hand-written JSON strings of our answers decode to
// what encoding/json's would.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "京A12345", `a"b\c`, "tab\there\n", "\x00\x1f\x7f", "\xff\xfe", "\u2028<>&", "临A0000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, appendString(nil, s), err)
		}
		b, _ := json.Marshal(s)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("appendString(%q) decodes to %q; want %q", s, got, want)
		}
	})
}

// FuzzDecodeBody: a callback body of any Content-Type never panics; what
// is accepted as multipart decodes to what the same fields give urlencoded.
func FuzzDecodeBody(f *testing.F) {
	v := url.Values{"appid": {"a"}, "park_code": {"1"}, "vpl_number": {"京A1"}}
	for _, enc := range []BodyEncoding{BodyForm, BodyFormCharset, BodyNoType, BodyMultipart} {
		body, ctype, err := enc.encode(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ctype, string(body))
	}
	f.Add("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nhi\r\n--x--\r\n")
	f.Add("application/json", `{"a":1}`)
	f.Add("multipart/form-data; boundary=", "--")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		got, err := decodeBody(ctype, []byte(body), 1<<16)
		if err != nil {
			return
		}
		// The same fields sent as multipart decode to the same form (a
		// field without a name has no multipart part).
		delete(got, "")
		for k := range got {
			if strings.ContainsAny(k, "\"\\\r\n\x00%") {
				return // escaped in a part's header: a name no platform sends
			}
		}
		re, mctype, rerr := BodyMultipart.encode(got)
		if rerr != nil {
			return // a name multipart cannot carry (e.g. with a quote): the urlencoded form still works
		}
		back, err := decodeBody(mctype, re, 1<<20)
		if err != nil {
			return // e.g. a value with a bare CR; not what a sender produces
		}
		if len(got) != 0 && !reflect.DeepEqual(back, got) {
			t.Fatalf("multipart round trip of %v = %v", got, back)
		}
	})
}
