package cmbsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/internal/progress"
)

const (
	appID  = "ik45nfuz"
	secret = "vqhqr9vozoorivkc3lemrbicphgzx"
	park   = int64(5201020001)
	t0     = int64(1_700_000_000)
)

// fakeNow is a settable clock.
type fakeNow struct{ sec atomic.Int64 }

func (f *fakeNow) Now() time.Time { return time.Unix(f.sec.Load(), 0) }

type env struct {
	sim   *cmbsim.Sim
	srv   *httptest.Server
	cli   *cmb.Client
	clock *fakeNow
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newEnv(t *testing.T, mod func(*cmbsim.Config)) *env {
	t.Helper()
	clk := &fakeNow{}
	clk.sec.Store(t0)
	cfg := cmbsim.Config{AppID: appID, Secret: secret, ParkCode: park, Now: clk.Now,
		Rand: rand.NewChaCha8([32]byte{1}), Logger: testLogger(t)}
	if mod != nil {
		mod(&cfg)
	}
	sim := cmbsim.New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { sim.Close(); srv.Close() })
	cli, err := cmb.NewClient(cmb.Config{BaseURL: srv.URL, AppID: appID, Secret: secret, ParkCode: park, HTTP: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, srv: srv, cli: cli, clock: clk}
}

// autoPayChargedOnce sends req (what names it), which must succeed, and
// expects record r1 charged once in all.
func (e *env) autoPayChargedOnce(ctx context.Context, t *testing.T, req cmb.AutoPay, what string) {
	t.Helper()
	if _, err := e.cli.AutoPay(ctx, req); err != nil {
		t.Errorf("%s = %v; want success", what, err)
	}
	if n := e.sim.RecordCharges("r1"); n != 1 {
		t.Errorf("RecordCharges(r1) = %d; want 1", n)
	}
}

func indata(plate, record string) cmb.Indata {
	return cmb.Indata{InCode: 1, VplNumber: plate, RecordID: record, InTime: t0 - 3600, CarType: cmb.CarSmall, PowerType: cmb.PowerNormal}
}

func outdata(plate, record string) cmb.Outdata {
	return cmb.Outdata{InCode: 1, OutCode: 2, VplNumber: plate, RecordID: record, InTime: t0 - 3600, OutTime: t0,
		ChargeItems: []cmb.ChargeItem{{ShouldPay: 500, ActualPay: 500, PayType: cmb.PayCMB, SeqNum: "o1", Time: t0}}}
}

// postRaw posts a form as is and decodes the envelope.
func postRaw(t *testing.T, srv *httptest.Server, path string, form url.Values) (int, cmb.Envelope) {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+path, form)
	if err != nil {
		t.Fatalf("post %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	env, err := cmb.DecodeEnvelope(b)
	if err != nil {
		t.Fatalf("post %s: answer %q: %v", path, b, err)
	}
	return resp.StatusCode, env
}

// signed returns form with appid and sign set for endpoint.
func signed(endpoint string, form url.Values) url.Values {
	v := url.Values{}
	for k, vs := range form {
		v[k] = vs
	}
	if v.Get("appid") == "" {
		v.Set("appid", appID)
	}
	v.Set("sign", cmb.SignFor(endpoint, v, secret))
	return v
}

func TestContactlessAnswers(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.sim.AddAgreement("京A12345", 3000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		plate     string
		wantUID   int
		wantLimit int64
	}{
		{"京A12345", 1, 3000},
		{"京B99999", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.plate, func(t *testing.T) {
			got, err := e.cli.Indata(ctx, indata(tt.plate, "r-"+tt.plate))
			if err != nil {
				t.Fatalf("Indata(%s) error %v", tt.plate, err)
			}
			if got.UID != tt.wantUID || got.Limit != tt.wantLimit {
				t.Errorf("Indata(%s) = %+v; want uid %d limit %d", tt.plate, got, tt.wantUID, tt.wantLimit)
			}
			got, err = e.cli.AutoPayStatus(ctx, cmb.AutoPayStatus{VplNumber: tt.plate})
			if err != nil || got.UID != tt.wantUID || got.Limit != tt.wantLimit {
				t.Errorf("AutoPayStatus(%s) = %+v, %v; want uid %d limit %d", tt.plate, got, err, tt.wantUID, tt.wantLimit)
			}
		})
	}
	if !e.sim.RemoveAgreement("京A12345") {
		t.Errorf("RemoveAgreement = false; want true")
	}
	if got, _ := e.cli.AutoPayStatus(ctx, cmb.AutoPayStatus{VplNumber: "京A12345"}); got.UID != 0 {
		t.Errorf("AutoPayStatus after removal = %+v; want uid 0", got)
	}
}

func TestAutoPay(t *testing.T) {
	tests := []struct {
		name        string
		agreement   int64 // limit; <0 = none
		amount      int64
		guaranteed  bool
		failPay     bool
		wantStatus  int // 0 = success
		wantCharged bool
		wantCollect bool
	}{
		{"within limit", 3000, 3000, false, false, 0, true, true},
		{"above limit", 3000, 3001, false, false, cmbsim.StatusOverLimit, false, false},
		{"no agreement", -1, 100, false, false, cmbsim.StatusNoAgreement, false, false},
		{"non-guaranteed payment fails", 3000, 500, false, true, cmbsim.StatusPaymentFailed, false, false},
		{"guaranteed payment fails", 3000, 500, true, true, 0, true, false},
		{"guaranteed above limit", 3000, 5000, true, false, cmbsim.StatusOverLimit, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *cmbsim.Config) { c.Guaranteed = tt.guaranteed })
			ctx := context.Background()
			plate := "粤B0D12X"
			if tt.agreement >= 0 {
				e.sim.AddAgreement(plate, tt.agreement)
			}
			e.sim.FailPayments(plate, tt.failPay)
			if _, err := e.cli.Indata(ctx, indata(plate, "r1")); err != nil {
				t.Fatal(err)
			}
			req := cmb.AutoPay{VplNumber: plate, RecordID: "r1", Amount: tt.amount, RequestOrder: "ro-1"}
			got, err := e.cli.AutoPay(ctx, req)
			var rej *cmb.RejectedError
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Fatalf("AutoPay = %v; want success", err)
			case tt.wantStatus == 0:
				if got.VplNumber != plate || got.PayTime != t0 || !strings.HasPrefix(got.ChannelOrder, "CMB") {
					t.Errorf("AutoPay = %+v; want plate %s, pay_time %d, a CMB channel order", got, plate, t0)
				}
			case !errors.As(err, &rej) || rej.Status != tt.wantStatus:
				t.Fatalf("AutoPay = %v; want rejected with status %d", err, tt.wantStatus)
			}
			o, ok := e.sim.Order("ro-1")
			if !ok || o.Charged != tt.wantCharged || o.Collected != tt.wantCollect || o.Guaranteed != tt.guaranteed {
				t.Errorf("Order(ro-1) = %+v, %v; want charged %v collected %v guaranteed %v", o, ok, tt.wantCharged, tt.wantCollect, tt.guaranteed)
			}
			if tt.wantCharged && o.Duration != 3600 {
				t.Errorf("Order(ro-1).Duration = %d; want 3600", o.Duration)
			}
			// The repeat gets the first answer and charges nothing more.
			got2, err2 := e.cli.AutoPay(ctx, req)
			if (err == nil) != (err2 == nil) || got2 != got {
				t.Errorf("repeated AutoPay = %+v, %v; want %+v, %v", got2, err2, got, err)
			}
			want := 0
			if tt.wantCharged {
				want = 1
			}
			if n := e.sim.ChargedCount("ro-1"); n != want {
				t.Errorf("ChargedCount(ro-1) = %d; want %d", n, want)
			}
			if o, _ := e.sim.Order("ro-1"); o.Requests != 2 {
				t.Errorf("Order(ro-1).Requests = %d; want 2", o.Requests)
			}
			if v := e.sim.OrderViolations(); len(v) != 0 {
				t.Errorf("OrderViolations() = %+v; want none", v)
			}
		})
	}
}

func TestAutoPayRepeatAfterModeChange(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.sim.AddAgreement("京A1", 1000)
	e.sim.FailPayments("京A1", true)
	e.cli.Indata(ctx, indata("京A1", "r1"))
	req := cmb.AutoPay{VplNumber: "京A1", RecordID: "r1", Amount: 500, RequestOrder: "ro"}
	if _, err := e.cli.AutoPay(ctx, req); !errors.Is(err, cmb.ErrRejected) {
		t.Fatalf("AutoPay with a failing payment = %v; want rejected", err)
	}
	e.sim.FailPayments("京A1", false)
	e.sim.SetGuaranteed(true)
	if _, err := e.cli.AutoPay(ctx, req); !errors.Is(err, cmb.ErrRejected) {
		t.Errorf("repeated AutoPay = %v; want the first answer (rejected)", err)
	}
	// A new request_order is a new payment.
	req.RequestOrder = "ro-2"
	e.autoPayChargedOnce(ctx, t, req, "AutoPay(ro-2)")
}

func TestDoubleChargeAndReuse(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.sim.AddAgreement("京A1", 1000)
	e.cli.Indata(ctx, indata("京A1", "r1"))
	for _, ro := range []string{"a", "b"} {
		if _, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: "r1", Amount: 500, RequestOrder: ro}); err != nil {
			t.Fatal(err)
		}
	}
	dc := e.sim.DoubleCharges()
	if len(dc) != 1 || dc[0].RecordID != "r1" || len(dc[0].Orders) != 2 {
		t.Errorf("DoubleCharges() = %+v; want r1 charged by a and b", dc)
	}
	// The same request_order for a different amount: first answer, flagged.
	if _, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: "r1", Amount: 700, RequestOrder: "a"}); err != nil {
		t.Fatal(err)
	}
	v := e.sim.OrderViolations()
	if len(v) != 1 || !strings.Contains(v[0].Reason, "reused") {
		t.Errorf("OrderViolations() = %+v; want one request_order reuse", v)
	}
}

func TestPayOrderStatus(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.sim.AddAgreement("京A1", 1000)
	e.cli.Indata(ctx, indata("京A1", "r1"))
	pay, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: "r1", Amount: 800, RequestOrder: "paid"})
	if err != nil {
		t.Fatal(err)
	}
	e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: "r1", Amount: 1800, RequestOrder: "refused"})
	tests := []struct {
		order      string
		wantStatus int
	}{
		{"paid", 0},
		{"refused", cmbsim.StatusNoSuchOrder},
		{"never-sent", cmbsim.StatusNoSuchOrder},
	}
	for _, tt := range tests {
		t.Run(tt.order, func(t *testing.T) {
			got, err := e.cli.PayOrderStatus(ctx, cmb.PayOrderStatus{RequestOrder: tt.order})
			if tt.wantStatus != 0 {
				var rej *cmb.RejectedError
				if !errors.As(err, &rej) || rej.Status != tt.wantStatus {
					t.Errorf("PayOrderStatus(%s) = %+v, %v; want status %d", tt.order, got, err, tt.wantStatus)
				}
				return
			}
			want := cmb.PayOrderStatusAnswer{VplNumber: "京A1", Amount: 800, ParkingDuration: 3600, ChannelOrder: pay.ChannelOrder}
			if err != nil || got != want {
				t.Errorf("PayOrderStatus(%s) = %+v, %v; want %+v", tt.order, got, err, want)
			}
		})
	}
}

// TestFaults drives each fault through cmb.Client and checks the failure
// class the lane will see and whether the AutoPay took effect.
func TestFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       cmbsim.Fault
		giveUp      bool  // the client gives up once the platform has processed the request
		wantClass   error // nil = success
		wantCharged bool
		wantOutcome string
	}{
		{"none", cmbsim.Fault{}, false, nil, true, cmbsim.OutcomeAnswered},
		{"down", cmbsim.Fault{Down: true}, false, cmb.ErrNotDelivered, false, cmbsim.OutcomeDown},
		{"status", cmbsim.Fault{Status: 9, Message: "system busy"}, false, cmb.ErrRejected, false, cmbsim.OutcomeAnswered},
		{"cut", cmbsim.Fault{Cut: true}, false, cmb.ErrOutcomeUnknown, true, cmbsim.OutcomeCut},
		{"malformed", cmbsim.Fault{Malformed: true}, false, cmb.ErrOutcomeUnknown, true, cmbsim.OutcomeMalformed},
		{"short delay", cmbsim.Fault{Delay: time.Millisecond}, false, nil, true, cmbsim.OutcomeAnswered},
		{"delay past the client's patience", cmbsim.Fault{Delay: time.Hour}, true, cmb.ErrOutcomeUnknown, true, cmbsim.OutcomeGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			e.sim.AddAgreement("京A1", 1000)
			if _, err := e.cli.Indata(ctx, indata("京A1", "r1")); err != nil {
				t.Fatal(err)
			}
			if err := e.sim.SetFault(cmb.EpAutoPay, tt.fault); err != nil {
				t.Fatal(err)
			}
			actx := ctx
			if tt.giveUp {
				// The client leaves once the platform has charged (not
				// after a wall-clock timeout, which a busy machine could
				// hit before the request was even written).
				var cancel context.CancelFunc
				actx, cancel = context.WithCancel(ctx)
				defer cancel()
				go func() {
					defer cancel() // on a stall too: the checks below then fail
					for w := progress.NewWatch(nil); e.sim.ChargedCount("ro") != 1 && !w.Stalled(); {
						time.Sleep(time.Millisecond)
					}
				}()
			}
			req := cmb.AutoPay{VplNumber: "京A1", RecordID: "r1", Amount: 500, RequestOrder: "ro"}
			_, err := e.cli.AutoPay(actx, req)
			if tt.wantClass == nil && err != nil || tt.wantClass != nil && !errors.Is(err, tt.wantClass) {
				t.Fatalf("AutoPay under fault %v = %v; want %v", tt.fault, err, tt.wantClass)
			}
			if got := e.sim.ChargedCount("ro") == 1; got != tt.wantCharged {
				t.Errorf("charged = %v; want %v", got, tt.wantCharged)
			}
			// The outcome is recorded once the handler is done with the
			// request; a client that left may be ahead of it.
			var rec []cmbsim.Uplink
			progress.Until(t, "the AutoPay's outcome recorded", func() bool {
				rec = e.sim.Received(cmbsim.Filter{Endpoint: cmb.EpAutoPay})
				return len(rec) == 1 && rec[0].Outcome == tt.wantOutcome
			}, nil)
			if len(rec) != 1 || rec[0].Outcome != tt.wantOutcome {
				t.Errorf("Received(AutoPay) = %+v; want one with outcome %s", rec, tt.wantOutcome)
			}
			// Other endpoints are not affected.
			if _, err := e.cli.AutoPayStatus(ctx, cmb.AutoPayStatus{VplNumber: "京A1"}); err != nil {
				t.Errorf("AutoPayStatus under an AutoPay fault = %v; want success", err)
			}
			// The lane resolves an unknown outcome with PayOrderStatus
			// (after the faults are gone), and never gets charged twice.
			e.sim.ClearFaults()
			_, perr := e.cli.PayOrderStatus(ctx, cmb.PayOrderStatus{RequestOrder: "ro"})
			if (perr == nil) != tt.wantCharged {
				t.Errorf("PayOrderStatus = %v; want found %v", perr, tt.wantCharged)
			}
			e.autoPayChargedOnce(ctx, t, req, "AutoPay retry")
		})
	}
}

func TestFaultTimesAndWildcard(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true, Times: 2}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetFault("NoSuch", cmbsim.Fault{Down: true}); !errors.Is(err, cmbsim.ErrUnknownEndpoint) {
		t.Errorf("SetFault(NoSuch) = %v; want ErrUnknownEndpoint", err)
	}
	var classes []string
	for range 3 {
		err := e.cli.SpaceInfo(ctx, cmb.SpaceInfo{TotalEmpty: 10, VipEmpty: 2, TmpEmpty: 8})
		switch {
		case err == nil:
			classes = append(classes, "ok")
		case errors.Is(err, cmb.ErrNotDelivered):
			classes = append(classes, "down")
		default:
			classes = append(classes, err.Error())
		}
	}
	if got := strings.Join(classes, ","); got != "down,down,ok" {
		t.Errorf("three SpaceInfo under down×2 = %s; want down,down,ok", got)
	}
	if f := e.sim.Faults(); len(f) != 0 {
		t.Errorf("Faults() after use = %v; want none", f)
	}
	if p := e.sim.Park(); p.TotalEmpty != 10 || p.TmpEmpty != 8 || p.VIPEmpty != 2 {
		t.Errorf("Park() = %+v; want the SpaceInfo", p)
	}
}

// TestRefusals posts raw forms: each is answered with its status, recorded
// as refused, and changes nothing.
func TestRefusals(t *testing.T) {
	good := func() url.Values {
		v, _ := cmb.AutoPay{ParkCode: park, VplNumber: "京A1", RecordID: "r1", Amount: 500, RequestOrder: "ro"}.Values()
		return v
	}
	outdata := func() url.Values {
		m := outdata("京A1", "r1")
		m.ParkCode = park
		v, err := m.Values()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name       string
		endpoint   string
		form       url.Values
		wantStatus int
	}{
		{"bad sign", cmb.EpAutoPay, func() url.Values {
			v := signed(cmb.EpAutoPay, good())
			v.Set("sign", strings.Repeat("0", 32))
			return v
		}(), cmb.StatusUnauthorized},
		{"no appid", cmb.EpAutoPay, good(), cmb.StatusUnauthorized},
		{"wrong appid", cmb.EpAutoPay, func() url.Values { v := good(); v.Set("appid", "other"); return signed(cmb.EpAutoPay, v) }(), cmb.StatusUnauthorized},
		{"signed with another secret", cmb.EpAutoPay, func() url.Values {
			v := good()
			v.Set("appid", appID)
			v.Set("sign", cmb.Sign(v, "wrong"))
			return v
		}(), cmb.StatusUnauthorized},
		{"field changed after signing", cmb.EpAutoPay, func() url.Values { v := signed(cmb.EpAutoPay, good()); v.Set("amount", "1"); return v }(), cmb.StatusUnauthorized},
		{"wrong park", cmb.EpAutoPay, func() url.Values { v := good(); v.Set("park_code", "999"); return signed(cmb.EpAutoPay, v) }(), cmb.StatusWrongPark},
		{"zero amount", cmb.EpAutoPay, func() url.Values { v := good(); v.Set("amount", "0"); return signed(cmb.EpAutoPay, v) }(), cmb.StatusMalformed},
		{"malformed charge_items", cmb.EpOutdata, func() url.Values { v := outdata(); v.Set("charge_items", "[{"); return signed(cmb.EpOutdata, v) }(), cmb.StatusMalformed},
		{"charge_items not an array", cmb.EpOutdata, func() url.Values { v := outdata(); v.Set("charge_items", `{"a":1}`); return signed(cmb.EpOutdata, v) }(), cmb.StatusMalformed},
		{"charge_items missing", cmb.EpOutdata, func() url.Values { v := outdata(); v.Del("charge_items"); return signed(cmb.EpOutdata, v) }(), cmb.StatusMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.sim.AddAgreement("京A1", 1000)
			code, got := postRaw(t, e.srv, "/api/"+tt.endpoint, tt.form)
			if code != http.StatusOK || got.Status != tt.wantStatus || got.Message == "" {
				t.Errorf("POST %s = HTTP %d %+v; want HTTP 200 status %d with a message", tt.endpoint, code, got, tt.wantStatus)
			}
			rec := e.sim.Received(cmbsim.Filter{})
			if len(rec) != 1 || rec[0].Status != tt.wantStatus || rec[0].Accepted() {
				t.Errorf("Received() = %+v; want one refused with status %d", rec, tt.wantStatus)
			}
			if o := e.sim.Orders(); len(o) != 0 {
				t.Errorf("Orders() = %+v; want none", o)
			}
			if v := e.sim.OrderViolations(); len(v) != 0 {
				t.Errorf("OrderViolations() = %+v; want none (a refused uplink is not in any order)", v)
			}
		})
	}
}

func TestHTTPEdges(t *testing.T) {
	e := newEnv(t, func(c *cmbsim.Config) { c.MaxBody = 1024 })
	tests := []struct {
		name, method, path, body string
		wantStatus               int
	}{
		{"GET an uplink", http.MethodGet, "/api/Indata", "", cmb.StatusMethod},
		{"unknown uplink", http.MethodPost, "/api/Nope", "", cmb.StatusNotFound},
		{"lower-case uplink", http.MethodPost, "/api/indata", "", cmb.StatusNotFound},
		{"unknown path", http.MethodPost, "/other", "", cmb.StatusNotFound},
		{"too large", http.MethodPost, "/api/PicUpload", "pic_con=" + strings.Repeat("A", 2048), cmb.StatusTooLarge},
		{"empty form", http.MethodPost, "/api/Indata", "", cmb.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			env, err := cmb.DecodeEnvelope(b)
			if err != nil || env.Status != tt.wantStatus {
				t.Errorf("%s %s = %q, %v; want status %d", tt.method, tt.path, b, err, tt.wantStatus)
			}
		})
	}
}

func TestPicUploadNotSigned(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.cli.Indata(ctx, indata("京A1", "r1"))
	pic := strings.Repeat("iVBORw0KGgo+/=", 100) // base64 with + / =, must survive the form
	if err := e.cli.PicUpload(ctx, cmb.PicUpload{RecordID: "r1", InOutFlag: cmb.FlagIn, PicCon: pic}); err != nil {
		t.Fatalf("PicUpload = %v; want success", err)
	}
	rec := e.sim.Received(cmbsim.Filter{Endpoint: cmb.EpPicUpload})
	if len(rec) != 1 || !rec[0].Accepted() || !strings.Contains(rec[0].Params["pic_con"], "1400 bytes") {
		t.Errorf("Received(PicUpload) = %+v; want accepted with pic_con abbreviated to its size", rec)
	}
}

func TestOrderViolations(t *testing.T) {
	type step struct {
		ep     string
		record string
	}
	tests := []struct {
		name  string
		steps []step
		want  []string // reasons, in order
	}{
		{"in order", []step{{"in", "r1"}, {"picin", "r1"}, {"autopay", "r1"}, {"out", "r1"}, {"picout", "r1"}}, nil},
		{"Outdata first", []step{{"out", "r1"}, {"in", "r1"}}, []string{"Outdata before the record's Indata"}},
		{"retry of the same mistake counts once", []step{{"out", "r1"}, {"out", "r1"}}, []string{"Outdata before the record's Indata"}},
		{"AutoPay first", []step{{"autopay", "r1"}, {"in", "r1"}}, []string{"AutoPay before the record's Indata"}},
		{"pictures early", []step{{"picin", "r1"}, {"in", "r1"}, {"picout", "r1"}},
			[]string{"entry picture before the record's Indata", "exit picture before the record's Outdata"}},
		{"records are independent", []step{{"in", "r1"}, {"out", "r2"}, {"out", "r1"}}, []string{"Outdata before the record's Indata"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			e.sim.AddAgreement("京A1", 1000)
			for i, s := range tt.steps {
				var err error
				switch s.ep {
				case "in":
					_, err = e.cli.Indata(ctx, indata("京A1", s.record))
				case "out":
					err = e.cli.Outdata(ctx, outdata("京A1", s.record))
				case "autopay":
					_, err = e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: s.record, Amount: 100, RequestOrder: s.record + strconv.Itoa(i)})
				case "picin", "picout":
					flag := cmb.FlagIn
					if s.ep == "picout" {
						flag = cmb.FlagOut
					}
					err = e.cli.PicUpload(ctx, cmb.PicUpload{RecordID: s.record, InOutFlag: flag, PicCon: "http://cam/1.jpg"})
				}
				if err != nil {
					t.Fatalf("step %d %v: %v (accepted but flagged, never refused)", i, s, err)
				}
			}
			var got []string
			for _, v := range e.sim.OrderViolations() {
				got = append(got, v.Reason)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("OrderViolations() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestReceivedFilterAndReset(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.cli.Indata(ctx, indata("京A1", "r1"))
	e.clock.sec.Add(60)
	e.cli.Indata(ctx, indata("京B2", "r2"))
	e.cli.Outdata(ctx, outdata("京A1", "r1"))
	e.cli.ConfigUpload(ctx, cmb.ConfigUpload{ConfigItems: cmb.ConfigItems{ReservedOutTime: 900}})
	tests := []struct {
		f    cmbsim.Filter
		want []int64 // seqs
	}{
		{cmbsim.Filter{}, []int64{1, 2, 3, 4}},
		{cmbsim.Filter{Endpoint: "indata"}, []int64{1, 2}},
		{cmbsim.Filter{Plate: "京A1"}, []int64{1, 3}},
		{cmbsim.Filter{RecordID: "r2"}, []int64{2}},
		{cmbsim.Filter{Endpoint: cmb.EpOutdata, RecordID: "r2"}, nil},
	}
	for _, tt := range tests {
		var got []int64
		for _, u := range e.sim.Received(tt.f) {
			got = append(got, u.Seq)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Received(%+v) = %v; want %v", tt.f, got, tt.want)
		}
	}
	if u := e.sim.Received(cmbsim.Filter{RecordID: "r2"}); len(u) != 1 || u[0].Time != t0+60 || u[0].Params["vpl_number"] != "京B2" {
		t.Errorf("Received(r2) = %+v; want time %d and its params", u, t0+60)
	}
	if p := e.sim.Park(); p.ReservedOutTime != 900 {
		t.Errorf("Park().ReservedOutTime = %d; want 900", p.ReservedOutTime)
	}
	e.sim.AddAgreement("京A1", 5)
	e.sim.SetFault(cmb.EpIndata, cmbsim.Fault{Down: true})
	e.sim.SetGuaranteed(true)
	e.sim.Reset()
	if n := len(e.sim.Received(cmbsim.Filter{})) + len(e.sim.Agreements()) + len(e.sim.Faults()); n != 0 || e.sim.Guaranteed() {
		t.Errorf("after Reset: %d uplinks+agreements+faults, guaranteed %v; want nothing, false", n, e.sim.Guaranteed())
	}
}

func TestAgreementValidation(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.sim.AddAgreement("京A1", -1); !errors.Is(err, cmbsim.ErrBadLimit) {
		t.Errorf("AddAgreement(limit -1) = %v; want ErrBadLimit", err)
	}
	if err := e.sim.AddAgreement("", 1); err == nil {
		t.Errorf("AddAgreement(empty plate) = nil; want an error")
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, nil))
}

// decodeJSON is a helper for admin answers.
func decodeJSON(t *testing.T, r io.Reader, v any) {
	t.Helper()
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatalf("decode admin answer: %v", err)
	}
}

func TestMaxKept(t *testing.T) {
	e := newEnv(t, func(c *cmbsim.Config) { c.MaxKept = 2 })
	ctx := context.Background()
	for _, r := range []string{"r1", "r2", "r3"} {
		e.cli.Indata(ctx, indata("京A1", r))
	}
	var got []string
	for _, u := range e.sim.Received(cmbsim.Filter{}) {
		got = append(got, u.RecordID)
	}
	if strings.Join(got, ",") != "r2,r3" {
		t.Errorf("Received() with MaxKept 2 = %v; want r2,r3", got)
	}
}

// BenchmarkIndata is one signed Indata through cmb.Client over loopback.
func BenchmarkIndata(b *testing.B) {
	sim := cmbsim.New(cmbsim.Config{AppID: appID, Secret: secret, ParkCode: park, MaxKept: 1000})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cli, _ := cmb.NewClient(cmb.Config{BaseURL: srv.URL, AppID: appID, Secret: secret, ParkCode: park})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := cli.Indata(ctx, indata("京A1", "r"+strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestErrorPrefixOnce: the simulator's errors say "cmbsim: " once and match
// their sentinels.
func TestErrorPrefixOnce(t *testing.T) {
	s := cmbsim.New(cmbsim.Config{AppID: "a", Secret: "s", ParkCode: 1})
	_, calcErr := s.Calc(context.Background(), nil, "京A1")
	for _, tt := range []struct {
		err  error
		want error
	}{
		{s.SetFault("NoSuch", cmbsim.Fault{Down: true}), cmbsim.ErrUnknownEndpoint},
		{s.AddAgreement("京A1", -1), cmbsim.ErrBadLimit},
		{calcErr, cmbsim.ErrNoLane},
	} {
		if tt.err == nil || !errors.Is(tt.err, tt.want) || strings.Count(tt.err.Error(), "cmbsim: ") != 1 {
			t.Errorf("error %v; want %v with cmbsim: once", tt.err, tt.want)
		}
	}
}
