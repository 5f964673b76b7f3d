package cmbsim_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/internal/progress"
)

// Indata and AutoPayStatus answers in each of the bank's ways.
func TestContactlessAnswerModes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		mode             cmbsim.ContactlessAnswers
		indata, status   string // the answers' data for a bound plate
		indata0, status0 string // and for an unbound one
	}{
		{cmbsim.ContactlessFull, `{"uid":1,"limit":3000}`, `{"uid":1,"limit":3000}`, `{"uid":0,"limit":0}`, `{"uid":0,"limit":0}`},
		{cmbsim.ContactlessNoData, ``, ``, ``, ``},
		{cmbsim.ContactlessNoUID, `{"limit":3000}`, `{"limit":3000}`, `{}`, `{}`},
		{cmbsim.ContactlessIndataNoData, ``, `{"uid":1,"limit":3000}`, ``, `{"uid":0,"limit":0}`},
	} {
		t.Run("mode="+string(tc.mode), func(t *testing.T) {
			e := newEnv(t, func(c *cmbsim.Config) { c.Contactless = tc.mode })
			if err := e.sim.AddAgreement("京A12345", 3000); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct{ plate, indata, status string }{{"京A12345", tc.indata, tc.status}, {"京B1", tc.indata0, tc.status0}} {
				in := indata(p.plate, "r-"+p.plate)
				in.ParkCode = park
				v, _ := in.Values()
				env, err := e.cli.Send(ctx, cmb.EpIndata, v)
				if err != nil || string(env.Data) != p.indata {
					t.Errorf("Indata(%s) data = %s, %v; want %q", p.plate, env.Data, err, p.indata)
				}
				v, _ = cmb.AutoPayStatus{ParkCode: park, VplNumber: p.plate}.Values()
				env, err = e.cli.Send(ctx, cmb.EpAutoPayStatus, v)
				if err != nil || string(env.Data) != p.status {
					t.Errorf("AutoPayStatus(%s) data = %s, %v; want %q", p.plate, env.Data, err, p.status)
				}
			}
		})
	}
	if err := newEnv(t, nil).sim.SetContactlessAnswers("sometimes"); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// Non-guaranteed: answered after the charge (ChargeDelay); guaranteed: at
// once. A Hold fault keeps the answer until released, the order charged.
func TestAutoPayTimingAndHold(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *cmbsim.Config) { c.ChargeDelay = time.Hour })
	if err := e.sim.AddAgreement("沪C1", 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.Indata(ctx, indata("沪C1", "r1")); err != nil {
		t.Fatal(err)
	}
	// Non-guaranteed with an hour's charge: the client gives up first,
	// but the charge happened (outcome unknown).
	// (It gives up once the platform charged, not after a wall-clock
	// timeout a busy machine could hit before the request was written.)
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel() // on a stall too: the checks below then fail
		for w := progress.NewWatch(nil); e.sim.ChargedCount("o1") != 1 && !w.Stalled(); {
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := e.cli.AutoPay(sctx, cmb.AutoPay{VplNumber: "沪C1", RecordID: "r1", Amount: 500, RequestOrder: "o1"})
	cancel()
	if err == nil {
		t.Fatal("a non-guaranteed AutoPay answered before its charge delay")
	}
	if o, ok := e.sim.Order("o1"); !ok || !o.Charged || o.Guaranteed {
		t.Errorf("order o1 = %+v; want charged, non-guaranteed", o)
	}
	// Guaranteed: the charge delay does not apply.
	e.sim.SetGuaranteed(true)
	if _, err := e.cli.Indata(ctx, indata("沪C1", "r2")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "沪C1", RecordID: "r2", Amount: 500, RequestOrder: "o2"}); err != nil {
		t.Fatalf("guaranteed AutoPay = %v; want an answer at once", err)
	}
	// Hold: the request is processed, the answer waits for ReleaseHeld.
	if err := e.sim.SetFault(cmb.EpAutoPay, cmbsim.Fault{Hold: true, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.Indata(ctx, indata("沪C1", "r3")); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "沪C1", RecordID: "r3", Amount: 500, RequestOrder: "o3"})
		done <- err
	}()
	for {
		if o, ok := e.sim.Order("o3"); ok && o.Charged {
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("held AutoPay answered before release: %v", err)
	default:
	}
	e.sim.ReleaseHeld()
	if err := <-done; err != nil {
		t.Errorf("held AutoPay after release = %v", err)
	}
}

// A contactless payment's pay notice carries an order of its own; AutoPay
// is served at PostPath too, and a plate's post_url is checked.
func TestPayNoticeAndPostURL(t *testing.T) {
	ctx := context.Background()
	for _, when := range []cmbsim.NoticeTiming{cmbsim.NoticeBefore, cmbsim.NoticeAfter} {
		t.Run(string(when), func(t *testing.T) {
			e, lane := newLaneEnv(t)
			if err := e.sim.SetPayNotice(when); err != nil {
				t.Fatal(err)
			}
			e.sim.SetGuaranteed(true)
			if err := e.sim.AddAgreementURL("沪C1", 5000, e.srv.URL+cmbsim.PostPath); err != nil {
				t.Fatal(err)
			}
			if _, err := e.cli.Indata(ctx, indata("沪C1", "r1")); err != nil {
				t.Fatal(err)
			}
			v, _ := cmb.AutoPay{ParkCode: park, VplNumber: "沪C1", RecordID: "r1", Amount: 500, RequestOrder: "o1"}.Values()
			env, err := e.cli.SendTo(ctx, "https"+e.srv.URL[len("http"):]+cmbsim.PostPath, cmb.EpAutoPay, v)
			if err == nil {
				t.Fatalf("SendTo an http test server over https = %+v; want a failure", env)
			}
			// The sim's own test server is http: post to the path directly.
			if _, env := postRaw(t, e.srv, cmbsim.PostPath, signed(cmb.EpAutoPay, url.Values(v))); env.Status != 0 {
				t.Fatalf("AutoPay at %s = %+v", cmbsim.PostPath, env)
			}
			o, _ := e.sim.Order("o1")
			var notice cmbsim.Callback
			for _, cb := range e.sim.Sent() {
				if cb.Endpoint == cmb.EpPay {
					notice = cb
				}
			}
			if notice.Endpoint == "" || notice.Status != 0 {
				t.Fatalf("no pay notice answered 0 after the AutoPay: %+v", e.sim.Sent())
			}
			lane.mu.Lock()
			paid := lane.paid
			lane.mu.Unlock()
			if len(paid) != 1 || paid[o.ChannelOrder] != 0 || paid[o.RequestOrder] != 0 {
				t.Errorf("lane got %v; want one payment under an order of its own (not %s / %s)", paid, o.ChannelOrder, o.RequestOrder)
			}
			if vs := e.sim.OrderViolations(); len(vs) != 0 {
				t.Errorf("violations %+v; want none (AutoPay went to the post_url)", vs)
			}
			// At /api/AutoPay instead: a violation of the plate's post_url.
			v2, _ := cmb.AutoPay{ParkCode: park, VplNumber: "沪C1", RecordID: "r1", Amount: 500, RequestOrder: "o2"}.Values()
			if _, err := e.cli.Send(ctx, cmb.EpAutoPay, v2); err != nil {
				t.Fatal(err)
			}
			if vs := e.sim.OrderViolations(); len(vs) != 1 {
				t.Errorf("violations %+v; want the AutoPay off its post_url", vs)
			}
		})
	}
}

// The bank's ways on the admin API.
func TestAdminBank(t *testing.T) {
	e := newEnv(t, nil)
	put := func(body string) int {
		req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/_sim/bank", strings.NewReader(body))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(`{"charge_delay_ms":250,"contactless":"no-uid","pay_notice":"after"}`); code != http.StatusOK {
		t.Fatalf("PUT /_sim/bank = %d", code)
	}
	resp, err := e.srv.Client().Get(e.srv.URL + "/_sim/bank")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ChargeDelayMS float64 `json:"charge_delay_ms"`
		Contactless   string  `json:"contactless"`
		PayNotice     string  `json:"pay_notice"`
	}
	decodeJSON(t, resp.Body, &got)
	resp.Body.Close()
	if got.ChargeDelayMS != 250 || got.Contactless != "no-uid" || got.PayNotice != "after" {
		t.Errorf("GET /_sim/bank = %+v", got)
	}
	for _, bad := range []string{`{"contactless":"x"}`, `{"pay_notice":"x"}`, `{"charge_delay_ms":-1}`, `{"nope":1}`} {
		if code := put(bad); code != http.StatusBadRequest {
			t.Errorf("PUT /_sim/bank %s = %d; want 400", bad, code)
		}
	}
}
