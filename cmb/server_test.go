package cmb_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbtest"
	"laned/internal/syncbuf"
)

type refusalLog struct {
	mu  sync.Mutex
	got []string
}

func (r *refusalLog) add(endpoint, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, endpoint+": "+reason)
}

func (r *refusalLog) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// newServer returns a Server with prefix "/a/b/" over h, its refusals and a
// check that its log never holds the secret.
func newServer(t *testing.T, h cmb.Handler, maxBody int64) (*cmb.Server, *refusalLog) {
	t.Helper()
	var logs syncbuf.Buffer
	refused := &refusalLog{}
	s, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode, Prefix: "/a/b/", MaxBody: maxBody,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), OnRefused: refused.add}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out := logs.String()
		t.Logf("server log:\n%s", out)
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the secret")
		}
	})
	return s, refused
}

// signedForm is a valid signed calc form with changes applied (del removes),
// signed after the changes unless resign is false.
func signedForm(changes map[string]string, resign bool) url.Values {
	v := url.Values{"appid": {appID}, "park_code": {"5201020001"}, "out_code": {"2"}}
	apply := func() {
		for k, x := range changes {
			if x == "\x00delete" {
				v.Del(k)
			} else {
				v.Set(k, x)
			}
		}
	}
	if resign {
		apply()
		v.Set("sign", cmb.Sign(v, secret))
	} else {
		v.Set("sign", cmb.Sign(v, secret))
		apply()
	}
	return v
}

func serve(s http.Handler, method, path, ctype, body string) (*http.Response, cmb.Envelope, error) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	env, err := cmb.DecodeEnvelope(b)
	return resp, env, err
}

const form = "application/x-www-form-urlencoded"

func TestServerRefusals(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		ctype      string
		body       string
		maxBody    int64
		wantHTTP   int
		wantStatus int
		wantMsg    string
	}{
		{"bad sign", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"out_code": "3"}, false).Encode(), 0, 200, cmb.StatusUnauthorized, "bad sign"},
		{"sign missing", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"sign": "\x00delete"}, false).Encode(), 0, 200, cmb.StatusUnauthorized, "sign missing"},
		{"wrong secret", "POST", "/a/b/cmbParking/pay", form, func() string {
			v := url.Values{"appid": {appID}, "park_code": {"5201020001"}}
			v.Set("sign", cmb.Sign(v, "other"))
			return v.Encode()
		}(), 0, 200, cmb.StatusUnauthorized, "bad sign"},
		{"wrong appid", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"appid": "other"}, true).Encode(), 0, 200, cmb.StatusUnauthorized, "wrong appid"},
		{"appid missing", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"appid": "\x00delete"}, true).Encode(), 0, 200, cmb.StatusUnauthorized, "appid 不能为空"},
		{"wrong park_code", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"park_code": "5201020002"}, true).Encode(), 0, 200, cmb.StatusWrongPark, "wrong park_code"},
		{"park_code text", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"park_code": "x"}, true).Encode(), 0, 200, cmb.StatusWrongPark, "wrong park_code"},
		{"park_code missing", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"park_code": "\x00delete"}, true).Encode(), 0, 200, cmb.StatusMalformed, "park_code: missing"},
		{"field missing", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"out_code": "\x00delete"}, true).Encode(), 0, 200, cmb.StatusMalformed, "out_code: missing"},
		{"field malformed", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"out_code": "-1"}, true).Encode(), 0, 200, cmb.StatusMalformed, "out_code: must be"},
		{"pay field missing", "POST", "/a/b/cmbParking/pay", form, func() string {
			v := url.Values{"appid": {appID}, "park_code": {"5201020001"}, "vpl_number": {"x"}, "record_id": {"r"}, "pay_time": {"1537243165"}}
			v.Set("sign", cmb.Sign(v, secret))
			return v.Encode()
		}(), 0, 200, cmb.StatusMalformed, "pay_list: missing"},
		{"repeated parameter", "POST", "/a/b/cmbParking/calc", form, signedForm(nil, true).Encode() + "&out_code=3", 0, 200, cmb.StatusMalformed, "out_code: repeated"},
		{"GET", "GET", "/a/b/cmbParking/calc?" + signedForm(nil, true).Encode(), "", "", 0, 405, cmb.StatusMethod, "use POST"},
		{"PUT", "PUT", "/a/b/cmbParking/pay", form, signedForm(nil, true).Encode(), 0, 405, cmb.StatusMethod, "use POST"},
		{"unknown endpoint", "POST", "/a/b/cmbParking/refund", form, signedForm(nil, true).Encode(), 0, 404, cmb.StatusNotFound, "unknown path"},
		{"wrong prefix", "POST", "/cmbParking/calc", form, signedForm(nil, true).Encode(), 0, 404, cmb.StatusNotFound, "unknown path"},
		{"case differs", "POST", "/a/b/cmbParking/Calc", form, signedForm(nil, true).Encode(), 0, 404, cmb.StatusNotFound, "unknown path"},
		{"big body", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"pad": strings.Repeat("x", 70<<10)}, true).Encode(), 0, 413, cmb.StatusTooLarge, "body over 65536 bytes"},
		{"body over a small limit", "POST", "/a/b/cmbParking/calc", form, signedForm(map[string]string{"pad": strings.Repeat("x", 200)}, true).Encode(), 128, 413, cmb.StatusTooLarge, "body over 128 bytes"},
		{"JSON body", "POST", "/a/b/cmbParking/calc", "application/json", `{"appid":"ik45nfuz","park_code":5201020001,"out_code":2}`, 0, 200, cmb.StatusMalformed, "appid 不能为空"},
		{"empty multipart", "POST", "/a/b/cmbParking/calc", "multipart/form-data; boundary=x", "--x--", 0, 200, cmb.StatusUnauthorized, "appid 不能为空"},
		{"multipart without boundary", "POST", "/a/b/cmbParking/calc", "multipart/form-data", "--x--", 0, 200, cmb.StatusMalformed, "appid 不能为空"},
		{"multipart file part", "POST", "/a/b/cmbParking/calc", "multipart/form-data; boundary=x",
			"--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhi\r\n--x--\r\n", 0, 200, cmb.StatusMalformed, "file parts"},
		{"text/plain", "POST", "/a/b/cmbParking/calc", "text/plain", signedForm(nil, true).Encode(), 0, 200, cmb.StatusMalformed, "appid 不能为空"},
		{"bad escape", "POST", "/a/b/cmbParking/calc", form, "appid=%zz", 0, 200, cmb.StatusMalformed, "not a form"},
		{"query only", "POST", "/a/b/cmbParking/calc?" + signedForm(nil, true).Encode(), form, "", 0, 200, cmb.StatusUnauthorized, "appid 不能为空"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &cmbtest.Handler{}
			s, refused := newServer(t, h, tt.maxBody)
			resp, env, err := serve(s, tt.method, tt.path, tt.ctype, tt.body)
			if err != nil {
				t.Fatalf("answer is not an envelope: %v", err)
			}
			if resp.StatusCode != tt.wantHTTP || env.Status != tt.wantStatus || !strings.Contains(env.Message, tt.wantMsg) {
				t.Errorf("%s %s = HTTP %d %+v; want HTTP %d status %d message with %q", tt.method, tt.path, resp.StatusCode, env, tt.wantHTTP, tt.wantStatus, tt.wantMsg)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q; want application/json", ct)
			}
			if calls := h.Calls(); len(calls) != 0 {
				t.Errorf("Handler called %v; want not called", calls)
			}
			if r := refused.list(); len(r) != 1 || !strings.Contains(r[0], tt.wantMsg) {
				t.Errorf("OnRefused calls = %q; want one with %q", r, tt.wantMsg)
			}
		})
	}
}

// A chunked body over the limit (no Content-Length) is refused too.
func TestServerChunkedTooBig(t *testing.T) {
	h := &cmbtest.Handler{}
	s, _ := newServer(t, h, 1024)
	ts := httptest.NewServer(s)
	defer ts.Close()
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(signedForm(nil, true).Encode() + "&pad="))
		for range 64 {
			if _, err := pw.Write([]byte(strings.Repeat("x", 64))); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", ts.URL+"/a/b/cmbParking/calc", pr)
	req.Header.Set("Content-Type", form)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pr.Close()
	b, _ := io.ReadAll(resp.Body)
	env, err := cmb.DecodeEnvelope(b)
	if resp.StatusCode != 413 || err != nil || env.Status != cmb.StatusTooLarge || len(h.Calls()) != 0 {
		t.Errorf("chunked big body = HTTP %d %+v %v, %d calls; want 413 StatusTooLarge, no call", resp.StatusCode, env, err, len(h.Calls()))
	}
}

func TestServerHandlerAnswers(t *testing.T) {
	noOrder := cmb.CalcAnswer{VplNumber: "京A12345"}
	order := cmb.CalcAnswer{VplNumber: "京A12345", RecordID: "r1", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
		Charge: cmb.Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}}
	tests := []struct {
		name       string
		calc       func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error)
		wantStatus int
		wantMsg    string
		wantData   string
	}{
		{"order", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) { return order, nil }, 0, "success",
			`{"vpl_number":"京A12345","record_id":"r1","bill_id":"","in_time":1537243165,"out_time":1537250365,"duration":7200,"charge":{"total_price":1000,"should_pay":600,"paid":400},"discount":[]}`},
		{"no order carries the plate", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			return noOrder, &cmb.AnswerError{Status: cmb.CalcNoRecord, Message: "no record"}
		}, cmb.CalcNoRecord, "no record", `{"vpl_number":"京A12345","record_id":"","bill_id":"","in_time":0,"out_time":0,"duration":0,"charge":{"total_price":0,"should_pay":0,"paid":0},"discount":[]}`},
		{"no plate, no data", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcNoPlate, Message: "no vehicle at the exit"}
		}, cmb.CalcNoPlate, "no vehicle at the exit", ""},
		{"wrapped AnswerError", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			return cmb.CalcAnswer{}, errors.Join(errors.New("x"), &cmb.AnswerError{Status: cmb.CalcTariffError, Message: "tariff"})
		}, cmb.CalcTariffError, "tariff", ""},
		{"AnswerError status 0", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: 0, Message: "oops"}
		}, cmb.StatusInternal, "internal error", ""},
		{"plain error hides its text", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			return cmb.CalcAnswer{}, errors.New("store: disk full at /var/lib/laned")
		}, cmb.StatusInternal, "internal error", ""},
		{"invalid answer", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
			return cmb.CalcAnswer{VplNumber: "x", Charge: cmb.Charge{ShouldPay: -1}}, nil
		}, cmb.StatusInternal, "internal error", ""},
		{"panic", func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) { panic("lane exploded") }, cmb.StatusInternal, "internal error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &cmbtest.Handler{CalcFunc: tt.calc}
			s, refused := newServer(t, h, 0)
			resp, env, err := serve(s, "POST", "/a/b/cmbParking/calc", form, signedForm(nil, true).Encode())
			if err != nil || resp.StatusCode != 200 || env.Status != tt.wantStatus || env.Message != tt.wantMsg || string(env.Data) != tt.wantData {
				t.Errorf("calc = HTTP %d %+v (data %s), %v; want status %d %q data %s", resp.StatusCode, env, env.Data, err, tt.wantStatus, tt.wantMsg, tt.wantData)
			}
			if len(h.Calls()) != 1 || len(refused.list()) != 0 {
				t.Errorf("calls %v, refusals %v; want one call, no refusal", h.Calls(), refused.list())
			}
			// The server lives on after a panic.
			if _, env, _ := serve(s, "POST", "/a/b/cmbParking/autoPayUnbind", form, func() string {
				v := url.Values{"appid": {appID}, "park_code": {"5201020001"}, "vpl_number": {"京A12345"}}
				v.Set("sign", cmb.Sign(v, secret))
				return v.Encode()
			}()); env.Status != 0 {
				t.Errorf("unbind after %s = %+v; want status 0", tt.name, env)
			}
		})
	}
}

func TestNewServerErrors(t *testing.T) {
	h := &cmbtest.Handler{}
	for _, tt := range []struct {
		cfg cmb.ServerConfig
		h   cmb.Handler
	}{
		{cmb.ServerConfig{Secret: "s", ParkCode: 1}, h},
		{cmb.ServerConfig{AppID: "a", ParkCode: 1}, h},
		{cmb.ServerConfig{AppID: "a", Secret: "s"}, h},
		{cmb.ServerConfig{AppID: "a", Secret: "s", ParkCode: 1}, nil},
	} {
		if _, err := cmb.NewServer(tt.cfg, tt.h); err == nil {
			t.Errorf("NewServer(%+v, %v) = nil error", tt.cfg, tt.h)
		}
	}
}

// CallDownlink → Server → Handler → answer, over real HTTP, for all five
// downlinks, with the prefix of §6.10.
func TestDownlinkRoundTrip(t *testing.T) {
	h := &cmbtest.Handler{
		CalcFunc: func(_ context.Context, r cmb.CalcRequest) (cmb.CalcAnswer, error) {
			if r.Mode() == cmb.CalcPlateQuery && r.VplNumber == "京A00000" {
				return cmb.CalcAnswer{VplNumber: r.VplNumber}, &cmb.AnswerError{Status: cmb.CalcNoRecord, Message: "no record"}
			}
			return cmb.CalcAnswer{VplNumber: r.VplNumber, RecordID: "r1", BillID: "b1", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
				Charge: cmb.Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}, Discount: []cmb.Discount{{Unit: cmb.DiscountTime, Name: "30 分钟", Value: 1800}}}, nil
		},
		NoVplnFunc: func(_ context.Context, r cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
			if r.InCode == 9 {
				return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: cmb.NoVplnNoVehicle, Message: "no vehicle"}
			}
			return cmb.NoVplnAnswer{}, nil // keep the platform's plate
		},
	}
	s, refused := newServer(t, h, 0)
	ts := httptest.NewServer(s)
	defer ts.Close()
	ctx := context.Background()
	base := ts.URL + "/a/b/"

	call := func(name string, m interface{ Values() (url.Values, error) }) (cmb.Envelope, error) {
		v, err := m.Values()
		if err != nil {
			t.Fatalf("%s Values: %v", name, err)
		}
		return cmb.CallDownlink(ctx, nil, base, appID, secret, name, v)
	}

	env, err := call(cmb.EpCalc, cmb.CalcRequest{ParkCode: parkCode, VplNumber: "京A12345"})
	ca, derr := cmb.DecodeCalcAnswer(env.Data)
	want := cmb.CalcAnswer{VplNumber: "京A12345", RecordID: "r1", BillID: "b1", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
		Charge: cmb.Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}, Discount: []cmb.Discount{{Unit: cmb.DiscountTime, Name: "30 分钟", Value: 1800}}}
	if err != nil || derr != nil || !reflect.DeepEqual(ca, want) {
		t.Errorf("calc = %+v, %v, %v; want %+v", ca, err, derr, want)
	}

	_, err = call(cmb.EpCalc, cmb.CalcRequest{ParkCode: parkCode, VplNumber: "京A00000"})
	var re *cmb.RejectedError
	if !errors.As(err, &re) || re.Status != cmb.CalcNoRecord {
		t.Fatalf("calc no order = %v; want RejectedError status 2", err)
	}
	if ca, err := cmb.DecodeCalcAnswer(re.Data); err != nil || ca.VplNumber != "京A00000" {
		t.Errorf("calc no order data = %+v, %v; want the plate", ca, err)
	}

	pay := cmb.PayRequest{ParkCode: parkCode, VplNumber: "京A12345", RecordID: "r1", BillID: "b1", PayTime: 1537250000,
		PayList: []cmb.PayItem{{PayType: cmb.PayCMB, Amount: 600, Order: "o1"}}}
	if _, err := call(cmb.EpPay, pay); err != nil {
		t.Errorf("pay = %v", err)
	}
	bind := cmb.AutoPayBindRequest{ParkCode: parkCode, VplNumber: "粤B0D12X", Limit: 20000, SerialNo: "s1"}
	if _, err := call(cmb.EpAutoPayBind, bind); err != nil {
		t.Errorf("autoPayBind = %v", err)
	}
	unbind := cmb.AutoPayUnbindRequest{ParkCode: parkCode, VplNumber: "粤B0D12X"}
	if _, err := call(cmb.EpAutoPayUnbind, unbind); err != nil {
		t.Errorf("autoPayUnbind = %v", err)
	}
	nv := cmb.NoVplnRequest{ParkCode: parkCode, VplNumber: "临A00000000000001", InCode: 1}
	env, err = call(cmb.EpNoVpln, nv)
	if a, derr := cmb.DecodeNoVplnAnswer(env.Data); err != nil || derr != nil || a.VplNumber != nv.VplNumber {
		t.Errorf("NoVpln = %+v %v %v; want the platform's plate", a, err, derr)
	}
	_, err = call(cmb.EpNoVpln, cmb.NoVplnRequest{ParkCode: parkCode, VplNumber: "临A1", InCode: 9})
	if !errors.As(err, &re) || re.Status != cmb.NoVplnNoVehicle {
		t.Errorf("NoVpln at an empty entry = %v; want status 2", err)
	}

	// What the Handler got is what was sent.
	calls := h.Calls()
	wantCalls := []cmbtest.Call{
		{Endpoint: cmb.EpCalc, Request: cmb.CalcRequest{ParkCode: parkCode, VplNumber: "京A12345"}},
		{Endpoint: cmb.EpCalc, Request: cmb.CalcRequest{ParkCode: parkCode, VplNumber: "京A00000"}},
		{Endpoint: cmb.EpPay, Request: pay},
		{Endpoint: cmb.EpAutoPayBind, Request: bind},
		{Endpoint: cmb.EpAutoPayUnbind, Request: unbind},
		{Endpoint: cmb.EpNoVpln, Request: nv},
		{Endpoint: cmb.EpNoVpln, Request: cmb.NoVplnRequest{ParkCode: parkCode, VplNumber: "临A1", InCode: 9}},
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("Handler calls:\n%+v\nwant\n%+v", calls, wantCalls)
	}
	if r := refused.list(); len(r) != 0 {
		t.Errorf("refusals %v; want none", r)
	}

	// A downlink signed with another secret is refused, and the caller sees
	// a rejection.
	v, _ := unbind.Values()
	_, err = cmb.CallDownlink(ctx, nil, base, appID, "wrong", cmb.EpAutoPayUnbind, v)
	if !errors.As(err, &re) || re.Status != cmb.StatusUnauthorized || len(h.Calls()) != len(wantCalls) {
		t.Errorf("CallDownlink(wrong secret) = %v; want rejected 401, handler not called", err)
	}
	// Over the size limit: 413 with an envelope, a rejection for the caller.
	v.Set("pad", strings.Repeat("x", 70<<10))
	_, err = cmb.CallDownlink(ctx, nil, base, appID, secret, cmb.EpAutoPayUnbind, v)
	if !errors.As(err, &re) || re.Status != cmb.StatusTooLarge {
		t.Errorf("CallDownlink(big) = %v; want rejected 413", err)
	}
}

// Our answers are plain JSON numbers, never strings.
func TestServerAnswerJSON(t *testing.T) {
	h := &cmbtest.Handler{}
	s, _ := newServer(t, h, 0)
	req := httptest.NewRequest("POST", "/a/b/cmbParking/calc", strings.NewReader(signedForm(nil, true).Encode()))
	req.Header.Set("Content-Type", form+"; charset=UTF-8")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["status"].(float64); !ok || m["message"] != "success" {
		t.Errorf("answer %s; want numeric status and message success", rec.Body)
	}
	if _, ok := m["data"]; ok {
		t.Errorf("answer %s; want no data for an empty calc answer", rec.Body)
	}
}
