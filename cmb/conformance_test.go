package cmb_test

// Conformance with the original document (cmb-parking-open-platform.zh.txt),
// read independently of the implementation: the signature of §3.2 by a
// reference signer written from the text, the exact wire form of every
// uplink of §5 and downlink of §4, the JSON shape of our answers, and the
// QR URL of §3.5.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbtest"
)

// The known answers of the spec page's table, checked against the MD5 of
// the literal signed strings (the table itself) and against cmb.Sign.
func TestConformanceKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
		input  string
		want   string
	}{
		{"exit scan", url.Values{"appid": {appID}, "out_code": {"1065"}, "park_code": {"5201030001"}, "vpl_number": {"陕A12345"}},
			"appid=ik45nfuz&out_code=1065&park_code=5201030001&vpl_number=陕A12345", "d950592815936995d0c93ad587770307"},
		{"empty values dropped", url.Values{"appid": {appID}, "park_code": {"5201030001"}, "vpl_number": {"京A12345"}, "out_code": {""}, "bill_id": {""}},
			"appid=ik45nfuz&park_code=5201030001&vpl_number=京A12345", "8b8ae6835fbe1dd4d9f62d158f1106a3"},
		{"Outdata of §5.4", url.Values{"appid": {appID}, "park_code": {"4406050001"}, "in_code": {"1"}, "out_code": {"1"},
			"vpl_number": {"浙C99999"}, "record_id": {"2019213091030"}, "in_time": {"1550049030"}, "out_time": {"1550562547"},
			"charge_items": {`[{"should_pay":1,"actual_pay":1,"pay_type":99,"toll_collector":"Doraemon","seq_num":"520600NCcLjxR1550560951699014cmb","time":1550560954}]`}},
			`appid=ik45nfuz&charge_items=[{"should_pay":1,"actual_pay":1,"pay_type":99,"toll_collector":"Doraemon","seq_num":"520600NCcLjxR1550560951699014cmb","time":1550560954}]&in_code=1&in_time=1550049030&out_code=1&out_time=1550562547&park_code=4406050001&record_id=2019213091030&vpl_number=浙C99999`,
			"201aa7119bebbf6da981c177425a8f00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := md5.Sum([]byte(tt.input + secret))
			if got := hex.EncodeToString(sum[:]); got != tt.want {
				t.Fatalf("md5(%q + secret) = %s; want %s (the table is wrong)", tt.input, got, tt.want)
			}
			if got := cmb.Sign(tt.params, secret); got != tt.want {
				t.Errorf("Sign(%v) = %s; want %s", tt.params, got, tt.want)
			}
			if got := cmbtest.RefSign(tt.params, secret, ""); got != tt.want {
				t.Errorf("cmbtest.RefSign(%v) = %s; want %s", tt.params, got, tt.want)
			}
			v := url.Values{}
			for k, vs := range tt.params {
				v[k] = vs
			}
			v.Set("sign", tt.want)
			if err := cmb.Verify(v, secret); err != nil {
				t.Errorf("Verify(known answer) = %v; want nil", err)
			}
		})
	}
}

// cmb.Sign agrees with the reference signer on random parameter sets:
// names of upper and lower case, digits and underscores (byte order: "Z" <
// "_" < "a"), values with Chinese text, spaces, &, =, +, % and empty ones.
func TestConformanceSignMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const nameChars = "abcXYZ_019"
	values := []string{"", "1", "京A12345", "a b", "x&y=z", "1+1", "100%", `[{"k":"v"}]`, "粤B0D12X", " "}
	for i := range 500 {
		v := url.Values{}
		for range 1 + rng.IntN(8) {
			n := 1 + rng.IntN(5)
			var b strings.Builder
			for range n {
				b.WriteByte(nameChars[rng.IntN(len(nameChars))])
			}
			v.Set(b.String(), values[rng.IntN(len(values))])
		}
		skip := ""
		endpoint := ""
		if i%5 == 0 {
			v.Set("pic_con", "aGVsbG8+Pz8/")
			endpoint, skip = cmb.EpPicUpload, "pic_con"
		}
		want := cmbtest.RefSign(v, secret, skip)
		if got := cmb.SignFor(endpoint, v, secret); got != want {
			t.Fatalf("SignFor(%q, %v) = %s; want %s", endpoint, v, got, want)
		}
		v.Set("sign", want)
		if err := cmb.VerifyFor(endpoint, v, secret); err != nil {
			t.Fatalf("VerifyFor(%q, %v) = %v; want nil", endpoint, v, err)
		}
	}
}

// The verifier compares signs in constant time (§1 of the spec page): the
// comparison in sign.go goes through crypto/subtle and no sign is compared
// with == or !=.
func TestConformanceConstantTimeCompare(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "sign.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "verify" {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "subtle" && x.Sel.Name == "ConstantTimeCompare" {
					found = true
				}
			case *ast.BinaryExpr:
				_, litX := x.X.(*ast.BasicLit)
				_, litY := x.Y.(*ast.BasicLit)
				if (x.Op == token.EQL || x.Op == token.NEQ) && !litX && !litY { // got == "" is no comparison of signs
					for _, side := range []ast.Expr{x.X, x.Y} {
						if id, ok := side.(*ast.Ident); ok && (id.Name == "want" || id.Name == "got") {
							t.Errorf("%s: sign compared with %s", fset.Position(x.Pos()), x.Op)
						}
					}
				}
			}
			return true
		})
		return false
	})
	if !found {
		t.Error("verify does not call subtle.ConstantTimeCompare")
	}
}

// platformForm signs v as the platform would (reference signer) and encodes
// it as a form body.
func platformForm(v url.Values) string {
	v.Set("appid", appID)
	v.Set("sign", cmbtest.RefSign(v, secret, ""))
	return v.Encode()
}

// §6.10: the API address is a prefix; the five downlink paths are case
// sensitive, exactly as §4 writes them; what the platform signs is
// verified by §3.2, unknown and empty fields included.
func TestConformanceDownlinkPathsAndSign(t *testing.T) {
	base := func() url.Values { return url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}} }
	with := func(kv ...string) url.Values {
		v := base()
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	pay := `[{"pay_type":99,"amount":1000,"order":12343535}]`
	tests := []struct {
		name       string
		path       string
		body       string
		wantStatus int
		wantCall   string
	}{
		{"calc", "/hello/world/cmbParking/calc", platformForm(with("out_code", "1")), 0, cmb.EpCalc},
		{"pay", "/hello/world/cmbParking/pay", platformForm(with("record_id", "r1", "pay_time", "1537243165", "pay_list", pay)), 0, cmb.EpPay},
		{"autoPayBind", "/hello/world/cmbParking/autoPayBind", platformForm(with("auto_pay_type", "0", "limiter", "5000")), 0, cmb.EpAutoPayBind},
		{"autoPayUnbind", "/hello/world/cmbParking/autoPayUnbind", platformForm(base()), 0, cmb.EpAutoPayUnbind},
		{"NoVpln", "/hello/world/cmbParking/NoVpln", platformForm(with("in_code", "1")), 0, cmb.EpNoVpln},
		{"novpln lower case", "/hello/world/cmbParking/novpln", platformForm(with("in_code", "1")), cmb.StatusNotFound, ""},
		{"AutoPayBind capitalised", "/hello/world/cmbParking/AutoPayBind", platformForm(with("limiter", "5000")), cmb.StatusNotFound, ""},
		{"cmbparking lower case", "/hello/world/cmbparking/calc", platformForm(with("out_code", "1")), cmb.StatusNotFound, ""},
		{"without the prefix", "/cmbParking/calc", platformForm(with("out_code", "1")), cmb.StatusNotFound, ""},
		{"unknown field signed", "/hello/world/cmbParking/calc", platformForm(with("out_code", "1", "new_field", "新")), 0, cmb.EpCalc},
		{"empty field sent, not signed", "/hello/world/cmbParking/pay",
			platformForm(with("record_id", "r1", "pay_time", "1537243165", "pay_list", pay, "bill_id", "")), 0, cmb.EpPay},
		{"upper-case hex sign", "/hello/world/cmbParking/autoPayUnbind", func() string {
			v := base()
			v.Set("appid", appID)
			v.Set("sign", strings.ToUpper(cmbtest.RefSign(v, secret, "")))
			return v.Encode()
		}(), 0, cmb.EpAutoPayUnbind},
		{"empty field signed as k=", "/hello/world/cmbParking/autoPayUnbind", func() string {
			v := base()
			v.Set("appid", appID)
			sum := md5.Sum([]byte("appid=" + appID + "&bill_id=&park_code=5201020001&vpl_number=京A12345" + secret))
			v.Set("bill_id", "")
			v.Set("sign", hex.EncodeToString(sum[:]))
			return v.Encode()
		}(), cmb.StatusUnauthorized, ""},
		{"signed over URL-encoded values", "/hello/world/cmbParking/autoPayUnbind", func() string {
			v := base()
			v.Set("appid", appID)
			sum := md5.Sum([]byte("appid=" + appID + "&park_code=5201020001&vpl_number=" + url.QueryEscape("京A12345") + secret))
			v.Set("sign", hex.EncodeToString(sum[:]))
			return v.Encode()
		}(), cmb.StatusUnauthorized, ""},
		{"unknown field not signed", "/hello/world/cmbParking/autoPayUnbind", platformForm(base()) + "&new_field=x", cmb.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &cmbtest.Handler{}
			s, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode, Prefix: "/hello/world/"}, h)
			if err != nil {
				t.Fatal(err)
			}
			_, env, err := serve(s, "POST", tt.path, form, tt.body)
			if err != nil || env.Status != tt.wantStatus {
				t.Fatalf("POST %s = %+v, %v; want status %d", tt.path, env, err, tt.wantStatus)
			}
			calls := h.Calls()
			if tt.wantCall == "" && len(calls) != 0 || tt.wantCall != "" && (len(calls) != 1 || calls[0].Endpoint != tt.wantCall) {
				t.Errorf("POST %s: handler calls %+v; want %q", tt.path, calls, tt.wantCall)
			}
		})
	}
}

// The downlink fields of §4, by their names in the original: what the
// platform sends arrives decoded.
func TestConformanceDownlinkFields(t *testing.T) {
	h := &cmbtest.Handler{}
	s, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode}, h)
	if err != nil {
		t.Fatal(err)
	}
	send := func(name string, v url.Values) cmb.Envelope {
		t.Helper()
		_, env, err := serve(s, "POST", "/cmbParking/"+name, form, platformForm(v))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return env
	}
	one := 1
	tests := []struct {
		name     string
		endpoint string
		form     url.Values
		want     any // the request the Handler gets; nil: refused
	}{
		{"calc exit scan", cmb.EpCalc, url.Values{"park_code": {"5201020001"}, "out_code": {"1"}},
			cmb.CalcRequest{ParkCode: parkCode, OutCode: &one}},
		{"calc plate query", cmb.EpCalc, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}},
			cmb.CalcRequest{ParkCode: parkCode, VplNumber: "京A12345"}},
		{"calc unlicensed exit scan", cmb.EpCalc, url.Values{"park_code": {"5201020001"}, "out_code": {"1"}, "vpl_number": {"临A0000000000001"}},
			cmb.CalcRequest{ParkCode: parkCode, OutCode: &one, VplNumber: "临A0000000000001"}},
		{"calc exit scan, empty plate sent", cmb.EpCalc, url.Values{"park_code": {"5201020001"}, "out_code": {"1"}, "vpl_number": {""}},
			cmb.CalcRequest{ParkCode: parkCode, OutCode: &one}},
		{"calc park_code only", cmb.EpCalc, url.Values{"park_code": {"5201020001"}}, nil},
		{"pay, order a number as in §4.2's example", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "record_id": {"r1"},
			"bill_id": {"b1"}, "pay_time": {"1537243165"}, "pay_list": {`[{"pay_type":99,"amount":1000,"order":12343535}]`}},
			cmb.PayRequest{ParkCode: parkCode, VplNumber: "京A12345", RecordID: "r1", BillID: "b1", PayTime: 1537243165,
				PayList: []cmb.PayItem{{PayType: cmb.PayCMB, Amount: 1000, Order: "12343535"}}}},
		{"pay without bill_id", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {`[{"pay_type":99,"amount":1000,"order":"o1"}]`}},
			cmb.PayRequest{ParkCode: parkCode, VplNumber: "京A12345", RecordID: "r1", PayTime: 1537243165,
				PayList: []cmb.PayItem{{PayType: cmb.PayCMB, Amount: 1000, Order: "o1"}}}},
		// Issue 11 item 9: calc answers an empty plate for "nothing at the
		// exit", so the notice may carry none; the record_id names the stay.
		{"pay without vpl_number", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {`[{"pay_type":99,"amount":1000,"order":"o1"}]`}},
			cmb.PayRequest{ParkCode: parkCode, RecordID: "r1", PayTime: 1537243165,
				PayList: []cmb.PayItem{{PayType: cmb.PayCMB, Amount: 1000, Order: "o1"}}}},
		{"pay with 51 items", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {payList(51, 1)}}, nil},
		{"pay with 50 items", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {payList(50, 1)}},
			cmb.PayRequest{ParkCode: parkCode, RecordID: "r1", PayTime: 1537243165, PayList: payItems(50, 1)}},
		{"pay amount beyond the bound", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {payList(1, cmb.MaxPayAmount+1)}}, nil},
		{"pay total beyond the bound", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {payList(2, cmb.MaxPayAmount)}}, nil},
		{"pay amounts that would wrap int64", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {`[{"pay_type":99,"amount":9223372036854775807,"order":"a"},{"pay_type":99,"amount":1,"order":"b"}]`}}, nil},
		{"pay without record_id", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"},
			"pay_time": {"1537243165"}, "pay_list": {`[{"pay_type":99,"amount":1000,"order":"o1"}]`}}, nil},
		{"pay without pay_time", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "record_id": {"r1"},
			"pay_list": {`[{"pay_type":99,"amount":1000,"order":"o1"}]`}}, nil},
		{"pay item without amount", cmb.EpPay, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "record_id": {"r1"},
			"pay_time": {"1537243165"}, "pay_list": {`[{"pay_type":99,"order":"o1"}]`}}, nil},
		{"bind as §4.3 writes it (limiter)", cmb.EpAutoPayBind, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"},
			"auto_pay_type": {"0"}, "limiter": {"5000"}, "serial_no": {"s1"}, "post_url": {"https://openmain.park.cmbchina.biz/api/AutoPay"}},
			cmb.AutoPayBindRequest{ParkCode: parkCode, VplNumber: "京A12345", AutoPayType: cmb.ChargeThenExit, Limit: 5000, SerialNo: "s1",
				PostURL: "https://openmain.park.cmbchina.biz/api/AutoPay"}},
		{"bind with limit (the English page's name)", cmb.EpAutoPayBind, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"},
			"auto_pay_type": {"0"}, "limit": {"5000"}},
			cmb.AutoPayBindRequest{ParkCode: parkCode, VplNumber: "京A12345", Limit: 5000}},
		{"bind without auto_pay_type (unused, default 0)", cmb.EpAutoPayBind, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"},
			"limiter": {"300"}},
			cmb.AutoPayBindRequest{ParkCode: parkCode, VplNumber: "京A12345", Limit: 300}},
		{"bind without a limit", cmb.EpAutoPayBind, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "auto_pay_type": {"0"}}, nil},
		{"bind without vpl_number", cmb.EpAutoPayBind, url.Values{"park_code": {"5201020001"}, "limiter": {"300"}}, nil},
		{"unbind", cmb.EpAutoPayUnbind, url.Values{"park_code": {"5201020001"}, "vpl_number": {"京A12345"}},
			cmb.AutoPayUnbindRequest{ParkCode: parkCode, VplNumber: "京A12345"}},
		{"unbind without vpl_number", cmb.EpAutoPayUnbind, url.Values{"park_code": {"5201020001"}}, nil},
		{"NoVpln", cmb.EpNoVpln, url.Values{"park_code": {"5201020001"}, "vpl_number": {"临A0000000000001"}, "in_code": {"2"}},
			cmb.NoVplnRequest{ParkCode: parkCode, VplNumber: "临A0000000000001", InCode: 2}},
		{"NoVpln without in_code", cmb.EpNoVpln, url.Values{"park_code": {"5201020001"}, "vpl_number": {"临A0000000000001"}}, nil},
		{"NoVpln without vpl_number", cmb.EpNoVpln, url.Values{"park_code": {"5201020001"}, "in_code": {"2"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(h.Calls())
			env := send(tt.endpoint, tt.form)
			calls := h.Calls()[n:]
			if tt.want == nil {
				if env.Status != cmb.StatusMalformed || len(calls) != 0 {
					t.Errorf("%s(%v) = %+v, calls %+v; want refused as malformed, no call", tt.endpoint, tt.form, env, calls)
				}
				return
			}
			if env.Status != 0 || len(calls) != 1 {
				t.Fatalf("%s(%v) = %+v, calls %+v; want status 0 and one call", tt.endpoint, tt.form, env, calls)
			}
			if got := calls[0].Request; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s(%v) decoded as %+v; want %+v", tt.endpoint, tt.form, got, tt.want)
			}
		})
	}
}

// decodeUseNumber parses a JSON object keeping numbers as json.Number, so
// that a number sent as a string shows.
func decodeUseNumber(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return m
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkNumbers fails unless every named member of m is a JSON number.
func checkNumbers(t *testing.T, where string, m map[string]any, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, ok := m[n].(json.Number); !ok {
			t.Errorf("%s.%s = %#v; want a JSON number", where, n, m[n])
		}
	}
}

// Our answers have the shape of §3.4 and of each endpoint's example: status
// a JSON number, message a string, data only when there is something to
// return; calc's data nested as §4.1's example, every number a JSON number;
// the business statuses of calc (0–5) and NoVpln (0–2) pass through.
func TestConformanceAnswerShape(t *testing.T) {
	order := cmb.CalcAnswer{VplNumber: "京A12345", RecordID: "r1", BillID: "b1", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
		Charge: cmb.Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}, Discount: []cmb.Discount{{Unit: cmb.DiscountTime, Name: "30 分钟", Value: 1800}}}
	var calcStatus, novplnStatus int
	h := &cmbtest.Handler{
		CalcFunc: func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			switch calcStatus {
			case 0:
				return order, nil
			case cmb.CalcNoRecord, cmb.CalcUnknownVehicle, cmb.CalcTariffError:
				return cmb.CalcAnswer{VplNumber: "京A12345"}, &cmb.AnswerError{Status: calcStatus, Message: "x"}
			}
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: calcStatus, Message: "x"}
		},
		NoVplnFunc: func(_ context.Context, r cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
			if novplnStatus != 0 {
				return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: novplnStatus, Message: "x"}
			}
			return cmb.NoVplnAnswer{VplNumber: r.VplNumber}, nil
		},
	}
	s, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode}, h)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(name string, v url.Values) (*http.Response, []byte) {
		t.Helper()
		req := httptest.NewRequest("POST", "/cmbParking/"+name, strings.NewReader(platformForm(v)))
		req.Header.Set("Content-Type", form)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Result(), rec.Body.Bytes()
	}

	for status := 0; status <= 5; status++ {
		calcStatus = status
		resp, b := raw(cmb.EpCalc, url.Values{"park_code": {"5201020001"}, "out_code": {"1"}})
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "application/json") {
			t.Errorf("calc status %d: HTTP %d %q; want 200 application/json", status, resp.StatusCode, ct)
		}
		m := decodeUseNumber(t, b)
		checkNumbers(t, "calc", m, "status")
		if st, _ := m["status"].(json.Number); st.String() != string(rune('0'+status)) {
			t.Errorf("calc answer %s; want status %d", b, status)
		}
		if _, ok := m["message"].(string); !ok {
			t.Errorf("calc answer %s: message is not a string", b)
		}
		data, hasData := m["data"].(map[string]any)
		switch status {
		case 0:
			if want := []string{"bill_id", "charge", "discount", "duration", "in_time", "out_time", "record_id", "vpl_number"}; !reflect.DeepEqual(keysOf(data), want) {
				t.Fatalf("calc data keys = %v; want %v (answer %s)", keysOf(data), want, b)
			}
			checkNumbers(t, "data", data, "in_time", "out_time", "duration")
			charge, _ := data["charge"].(map[string]any)
			if want := []string{"paid", "should_pay", "total_price"}; !reflect.DeepEqual(keysOf(charge), want) {
				t.Errorf("calc data.charge keys = %v; want %v", keysOf(charge), want)
			}
			checkNumbers(t, "data.charge", charge, "total_price", "should_pay", "paid")
			disc, _ := data["discount"].([]any)
			if len(disc) != 1 {
				t.Fatalf("calc data.discount = %#v; want one element", data["discount"])
			}
			d0, _ := disc[0].(map[string]any)
			if want := []string{"name", "unit", "value"}; !reflect.DeepEqual(keysOf(d0), want) {
				t.Errorf("calc data.discount[0] keys = %v; want %v", keysOf(d0), want)
			}
			checkNumbers(t, "data.discount[0]", d0, "unit", "value")
			for _, k := range []string{"vpl_number", "record_id", "bill_id"} {
				if _, ok := data[k].(string); !ok {
					t.Errorf("calc data.%s = %#v; want a string", k, data[k])
				}
			}
		case cmb.CalcNoRecord, cmb.CalcUnknownVehicle, cmb.CalcTariffError:
			if !hasData || data["vpl_number"] != "京A12345" {
				t.Errorf("calc status %d answer %s; want data.vpl_number (the plate is returned, order or not)", status, b)
			}
		default:
			if _, ok := m["data"]; ok {
				t.Errorf("calc status %d answer %s; want no data", status, b)
			}
		}
	}

	for status := 0; status <= 2; status++ {
		novplnStatus = status
		_, b := raw(cmb.EpNoVpln, url.Values{"park_code": {"5201020001"}, "vpl_number": {"临A0000000000001"}, "in_code": {"1"}})
		m := decodeUseNumber(t, b)
		checkNumbers(t, "NoVpln", m, "status")
		if st, _ := m["status"].(json.Number); st.String() != string(rune('0'+status)) {
			t.Errorf("NoVpln answer %s; want status %d", b, status)
		}
		data, hasData := m["data"].(map[string]any)
		if status == 0 && (!hasData || !reflect.DeepEqual(data, map[string]any{"vpl_number": "临A0000000000001"})) {
			t.Errorf("NoVpln answer %s; want data exactly {vpl_number}", b)
		}
	}

	for name, v := range map[string]url.Values{
		cmb.EpPay: {"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "record_id": {"r1"}, "pay_time": {"1537243165"},
			"pay_list": {`[{"pay_type":99,"amount":1000,"order":"o1"}]`}},
		cmb.EpAutoPayBind:   {"park_code": {"5201020001"}, "vpl_number": {"京A12345"}, "auto_pay_type": {"0"}, "limiter": {"5000"}},
		cmb.EpAutoPayUnbind: {"park_code": {"5201020001"}, "vpl_number": {"京A12345"}},
	} {
		_, b := raw(name, v)
		m := decodeUseNumber(t, b)
		if !reflect.DeepEqual(keysOf(m), []string{"message", "status"}) || m["status"] != json.Number("0") || m["message"] != "success" {
			t.Errorf("%s answer %s; want exactly {\"status\":0,\"message\":\"success\"}", name, b)
		}
	}
}

// wire is one captured uplink request.
type wire struct {
	method, path, ctype string
	body                string
	form                url.Values
}

// capture is a fake platform that keeps the raw requests and answers with
// answer(name).
func capture(t *testing.T, answer func(name string) string) (*httptest.Server, func() []wire) {
	t.Helper()
	var mu sync.Mutex
	var got []wire
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		v, err := url.ParseQuery(string(b))
		if err != nil {
			t.Errorf("body %q is not a form: %v", b, err)
		}
		mu.Lock()
		got = append(got, wire{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(b), v})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer(r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]))
	}))
	t.Cleanup(s.Close)
	return s, func() []wire {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// Every uplink of §5 on the wire: POST {base}/api/<Name> with exactly that
// name's case, a form body, exactly the fields of the original's table
// (required ones, the optional ones set, appid and sign), signed by §3.2
// (PicUpload without pic_con), times 10-digit, money integer fen, JSON
// texts with exactly the keys of the original's examples.
func TestConformanceUplinkWire(t *testing.T) {
	s, requests := capture(t, func(string) string { return `{"status":0,"message":"success"}` })
	c, err := cmb.NewClient(cmb.Config{BaseURL: s.URL + "/gw/", AppID: appID, Secret: secret, ParkCode: parkCode})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const pic = "iVBORw0KGgo+AAAA/w==" // base64 with + / =
	green := cmb.ColourGreen
	calls := []struct {
		name string
		do   func() error
		keys []string // besides appid and sign
		want map[string]string
	}{
		{cmb.EpIndata, func() error {
			_, err := c.Indata(ctx, cmb.Indata{InCode: 1, VplNumber: "京A12311", RecordID: "20180917113202192", InTime: 1537155122,
				CarType: cmb.CarSmall, PowerType: cmb.PowerNormal, PlateColor: &green, AuthType: cmb.AuthVIP})
			return err
		}, []string{"auth_type", "car_type", "in_code", "in_time", "model", "park_code", "plate_color", "power_type", "record_id", "vpl_number"},
			map[string]string{"park_code": "5201020001", "in_code": "1", "vpl_number": "京A12311", "record_id": "20180917113202192",
				"in_time": "1537155122", "car_type": "1", "power_type": "1", "plate_color": "4", "auth_type": "99", "model": "0"}},
		{cmb.EpOutdata, func() error {
			return c.Outdata(ctx, cmb.Outdata{InCode: 1, OutCode: 2, VplNumber: "浙C99999", RecordID: "2019213091030", InTime: 1550049030, OutTime: 1550562547,
				ChargeItems: []cmb.ChargeItem{{ShouldPay: 1, ActualPay: 1, PayType: cmb.PayCMB, TollCollector: "Doraemon", SeqNum: "520600NCcLjxR1550560951699014cmb", Time: 1550560954}}})
		}, []string{"charge_items", "in_code", "in_time", "out_code", "out_time", "park_code", "record_id", "vpl_number"},
			map[string]string{"in_code": "1", "out_code": "2", "in_time": "1550049030", "out_time": "1550562547",
				"charge_items": `[{"should_pay":1,"actual_pay":1,"pay_type":99,"toll_collector":"Doraemon","seq_num":"520600NCcLjxR1550560951699014cmb","time":1550560954}]`}},
		{cmb.EpAutoPay, func() error {
			_, err := c.AutoPay(ctx, cmb.AutoPay{VplNumber: "苏ZZ9871", RecordID: "9abcd6006b6b22d56d8c380f475590b3", Amount: 500, RequestOrder: "a8d74e464958612a4193a8edb9bf1556"})
			return err
		}, []string{"amount", "park_code", "record_id", "request_order", "vpl_number"},
			map[string]string{"amount": "500", "request_order": "a8d74e464958612a4193a8edb9bf1556", "vpl_number": "苏ZZ9871"}},
		{cmb.EpPayOrderStatus, func() error {
			_, err := c.PayOrderStatus(ctx, cmb.PayOrderStatus{RequestOrder: "a8d74e46495861"})
			return err
		}, []string{"park_code", "request_order"}, map[string]string{"request_order": "a8d74e46495861"}},
		{cmb.EpAutoPayStatus, func() error {
			_, err := c.AutoPayStatus(ctx, cmb.AutoPayStatus{VplNumber: "云Z00000"})
			return err
		}, []string{"park_code", "vpl_number"}, map[string]string{"vpl_number": "云Z00000"}},
		{cmb.EpSpaceInfo, func() error {
			return c.SpaceInfo(ctx, cmb.SpaceInfo{TotalEmpty: 700, VipEmpty: 600, TmpEmpty: 100})
		}, []string{"park_code", "tmp_empty", "total_empty", "vip_empty"},
			map[string]string{"total_empty": "700", "vip_empty": "600", "tmp_empty": "100"}},
		{cmb.EpPicUpload, func() error {
			return c.PicUpload(ctx, cmb.PicUpload{RecordID: "1234567", InOutFlag: cmb.FlagIn, PicCon: pic})
		}, []string{"in_out_flag", "park_code", "pic_con", "record_id"}, map[string]string{"in_out_flag": "1", "pic_con": pic}},
		{cmb.EpConfigUpload, func() error {
			return c.ConfigUpload(ctx, cmb.ConfigUpload{ConfigItems: cmb.ConfigItems{ReservedOutTime: 1800}})
		}, []string{"config_items", "park_code"}, map[string]string{"config_items": `{"reserved_out_time":1800}`}},
	}
	for i, call := range calls {
		t.Run(call.name, func(t *testing.T) {
			if err := call.do(); err != nil {
				t.Fatalf("%s = %v", call.name, err)
			}
			reqs := requests()
			if len(reqs) != i+1 {
				t.Fatalf("%d requests; want %d", len(reqs), i+1)
			}
			r := reqs[i]
			if r.method != "POST" || r.path != "/gw/api/"+call.name || r.ctype != "application/x-www-form-urlencoded" {
				t.Errorf("request %s %s (%s); want POST /gw/api/%s application/x-www-form-urlencoded", r.method, r.path, r.ctype, call.name)
			}
			var got []string
			for k := range r.form {
				got = append(got, k)
			}
			slices.Sort(got)
			want := append([]string{"appid", "sign"}, call.keys...)
			slices.Sort(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s fields = %v; want %v", call.name, got, want)
			}
			if r.form.Get("appid") != appID || r.form.Get("park_code") != "5201020001" {
				t.Errorf("%s appid %q park_code %q; want %q and the configured park", call.name, r.form.Get("appid"), r.form.Get("park_code"), appID)
			}
			for k, w := range call.want {
				if g := r.form.Get(k); g != w {
					t.Errorf("%s %s = %q; want %q", call.name, k, g, w)
				}
			}
			skip := ""
			if call.name == cmb.EpPicUpload {
				skip = "pic_con"
			}
			if got, want := r.form.Get("sign"), cmbtest.RefSign(r.form, secret, skip); got != want {
				t.Errorf("%s sign = %s; want %s by §3.2", call.name, got, want)
			}
			for _, k := range []string{"in_time", "out_time"} {
				if s := r.form.Get(k); s != "" && len(s) != 10 {
					t.Errorf("%s %s = %q; want 10-digit UNIX seconds", call.name, k, s)
				}
			}
		})
	}

	// §6.7: the base64 text is URL-encoded inside the body: no raw + / =
	// in pic_con's part of the body.
	for _, r := range requests() {
		if r.path != "/gw/api/PicUpload" {
			continue
		}
		for _, part := range strings.Split(r.body, "&") {
			if v, ok := strings.CutPrefix(part, "pic_con="); ok && strings.ContainsAny(v, "+/=") {
				t.Errorf("pic_con in the body = %q; want + / = percent-encoded", v)
			}
		}
	}
	// charge_items: exactly the keys of §5.4's example, in its order, with
	// numbers as numbers.
	for _, r := range requests() {
		if r.path != "/gw/api/Outdata" {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal([]byte(r.form.Get("charge_items")), &items); err != nil || len(items) != 1 {
			t.Fatalf("charge_items %q: %v", r.form.Get("charge_items"), err)
		}
		d := json.NewDecoder(bytes.NewReader(items[0]))
		d.UseNumber()
		var keys []string
		var kinds []string
		if _, err := d.Token(); err != nil { // {
			t.Fatal(err)
		}
		for d.More() {
			k, _ := d.Token()
			v, _ := d.Token()
			keys = append(keys, k.(string))
			kinds = append(kinds, reflect.TypeOf(v).Name())
		}
		if want := []string{"should_pay", "actual_pay", "pay_type", "toll_collector", "seq_num", "time"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("charge_items keys = %v; want %v", keys, want)
		}
		if want := []string{"Number", "Number", "Number", "string", "string", "Number"}; !reflect.DeepEqual(kinds, want) {
			t.Errorf("charge_items value kinds = %v; want %v", kinds, want)
		}
	}
}

// Answers are read leniently (spec §2): numbers or numeric strings, data
// absent, null or with members this version does not know.
func TestConformanceLenientAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		check  func(c *cmb.Client) (any, bool)
	}{
		{"Indata numbers as strings", `{"status":"0","message":"success","data":{"uid":"1","limit":"5000"}}`, func(c *cmb.Client) (any, bool) {
			a, err := c.Indata(context.Background(), cmb.Indata{InCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, CarType: 1, PowerType: 1})
			return a, err == nil && a == cmb.IndataAnswer{UID: 1, Limit: 5000}
		}},
		{"Indata without data", `{"status":0,"message":"success"}`, func(c *cmb.Client) (any, bool) {
			a, err := c.Indata(context.Background(), cmb.Indata{InCode: 1, VplNumber: "x", RecordID: "r", InTime: 1537155122, CarType: 1, PowerType: 1})
			return a, err == nil && !a.Contactless()
		}},
		{"AutoPayStatus data null", `{"status":0,"message":"success","data":null}`, func(c *cmb.Client) (any, bool) {
			a, err := c.AutoPayStatus(context.Background(), cmb.AutoPayStatus{VplNumber: "x"})
			return a, err == nil && !a.Contactless()
		}},
		{"AutoPay pay_time string, unknown member", `{"status":0,"message":"ok","data":{"vpl_number":"苏ZZ9871","pay_time":"1550560954","channel_order":"c1","extra":[1]}}`, func(c *cmb.Client) (any, bool) {
			a, err := c.AutoPay(context.Background(), cmb.AutoPay{VplNumber: "x", RecordID: "r", Amount: 1, RequestOrder: "o"})
			return a, err == nil && a == cmb.AutoPayAnswer{VplNumber: "苏ZZ9871", PayTime: 1550560954, ChannelOrder: "c1"}
		}},
		{"PayOrderStatus without vpl_number (optional)", `{"status":0,"message":"ok","data":{"amount":"500","parking_duration":7200,"channel_order":"c1"}}`, func(c *cmb.Client) (any, bool) {
			a, err := c.PayOrderStatus(context.Background(), cmb.PayOrderStatus{RequestOrder: "o"})
			return a, err == nil && a == cmb.PayOrderStatusAnswer{Amount: 500, ParkingDuration: 7200, ChannelOrder: "c1"}
		}},
		{"status as a string, non-zero", `{"status":"1","message":"无此订单"}`, func(c *cmb.Client) (any, bool) {
			_, err := c.PayOrderStatus(context.Background(), cmb.PayOrderStatus{RequestOrder: "o"})
			var re *cmb.RejectedError
			return err, errors.As(err, &re) && re.Status == 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := capture(t, func(string) string { return tt.answer })
			c, err := cmb.NewClient(cmb.Config{BaseURL: s.URL, AppID: appID, Secret: secret, ParkCode: parkCode})
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := tt.check(c); !ok {
				t.Errorf("answer %s read as %+v", tt.answer, got)
			}
		})
	}
}

// §3.5: https://{host}/ytc/login?type=1&park_code=…&vpl_number=…&berth_number=…
// with the host of each environment; the values survive the URL exactly.
func TestConformanceQR(t *testing.T) {
	hosts := map[cmb.Environment]string{cmb.EnvProd: "cmain.park.cmbchina.biz", cmb.EnvUAT: "cmain-uat.park.cmbchina.biz", cmb.EnvST: "cmain-st.park.cmbchina.biz"}
	for env, host := range hosts {
		for _, plate := range []string{"京A12345", "粤B0D12X", "临A 0&1=2+3%4#", ""} {
			raw := cmb.QRURL(cmb.QRHost(env), 5201020001, plate, "出口 2")
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("QRURL = %q: %v", raw, err)
			}
			if u.Scheme != "https" || u.Host != host || u.Path != "/ytc/login" || u.Fragment != "" {
				t.Errorf("QRURL(%s) = %q; want https://%s/ytc/login", env, raw, host)
			}
			q := u.Query()
			want := url.Values{"type": {"1"}, "park_code": {"5201020001"}, "vpl_number": {plate}, "berth_number": {"出口 2"}}
			if !reflect.DeepEqual(q, want) {
				t.Errorf("QRURL(%s, %q) query = %v; want %v", env, plate, q, want)
			}
			if !strings.HasPrefix(u.RawQuery, "type=1&park_code=5201020001&vpl_number=") {
				t.Errorf("QRURL query %q; want the document's order type, park_code, vpl_number, berth_number", u.RawQuery)
			}
		}
	}
}

// payList is a pay_list of n items of amount fen each, orders o0, o1, …
func payList(n int, amount int64) string {
	b, _ := json.Marshal(payItems(n, amount))
	return string(b)
}

func payItems(n int, amount int64) []cmb.PayItem {
	items := make([]cmb.PayItem, n)
	for i := range items {
		items[i] = cmb.PayItem{PayType: cmb.PayCMB, Amount: amount, Order: "o" + strconv.Itoa(i)}
	}
	return items
}
