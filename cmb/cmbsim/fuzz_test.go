package cmbsim_test

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// FuzzUplink signs arbitrary forms for each endpoint and checks that every
// one is answered with an envelope, recorded once, and that no order is
// ever charged twice. Seeds are the table tests' forms.
func FuzzUplink(f *testing.F) {
	seeds := []struct {
		ep   int
		body string
	}{
		{0, "park_code=5201020001&in_code=1&vpl_number=京A1&record_id=r1&in_time=1700000000&car_type=1&power_type=1"},
		{1, `park_code=5201020001&in_code=1&out_code=2&vpl_number=京A1&record_id=r1&in_time=1700000000&out_time=1700000100&charge_items=[{"should_pay":1,"actual_pay":1,"pay_type":99,"time":1700000100}]`},
		{1, "park_code=5201020001&charge_items=[{"},
		{2, "park_code=5201020001&vpl_number=京A1&record_id=r1&amount=500&request_order=ro"},
		{2, "park_code=5201020001&vpl_number=京A1&record_id=r1&amount=-1&request_order=ro"},
		{3, "park_code=5201020001&request_order=ro"},
		{4, "park_code=5201020001&vpl_number=京A1"},
		{5, "park_code=5201020001&total_empty=1&vip_empty=0&tmp_empty=1"},
		{6, "park_code=5201020001&record_id=r1&in_out_flag=2&pic_con=a+b/c=="},
		{7, `park_code=5201020001&config_items={"reserved_out_time":"900"}`},
		{7, "park_code=5201020001&config_items=null"},
		{0, "\x10&\x10"}, // a repeated control-character name, echoed in the message
	}
	for _, s := range seeds {
		f.Add(s.ep, s.body)
	}
	f.Fuzz(func(t *testing.T, ep int, body string) {
		if ep < 0 {
			ep = -ep
		}
		name := cmb.Uplinks[ep%len(cmb.Uplinks)]
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		sim := cmbsim.New(cmbsim.Config{AppID: appID, Secret: secret, ParkCode: park, Rand: rand.NewChaCha8([32]byte{})})
		sim.AddAgreement("京A1", 1000)
		h := sim.Handler()
		v.Set("appid", appID)
		v.Set("sign", cmb.SignFor(name, v, secret))
		for i := 0; i < 2; i++ { // twice: a retry must be harmless
			req := httptest.NewRequest(http.MethodPost, "/api/"+name, strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			if _, err := cmb.DecodeEnvelope(rr.Body.Bytes()); err != nil {
				t.Fatalf("POST %s %q answered %q: %v", name, body, rr.Body.String(), err)
			}
		}
		if n := len(sim.Received(cmbsim.Filter{})); n != 2 {
			t.Fatalf("Received() has %d uplinks; want 2", n)
		}
		for _, o := range sim.Orders() {
			if n := sim.ChargedCount(o.RequestOrder); n > 1 || o.Charged && o.Amount > 1000 {
				t.Fatalf("order %+v charged %d times", o, n)
			}
		}
		if dc := sim.DoubleCharges(); len(dc) != 0 {
			t.Fatalf("DoubleCharges() = %+v after one request_order twice", dc)
		}
	})
}
