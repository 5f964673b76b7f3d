package edge

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"laned/cmb"
)

// Issue 11 item 11, end to end: cmbsim sends its callbacks in each body
// encoding the bank uses; the lane takes them all, verifies them over
// every field and acts the same.
func TestCallbackBodiesAsTheBankSendsThem(t *testing.T) {
	for i, enc := range []cmb.BodyEncoding{cmb.BodyForm, cmb.BodyFormCharset, cmb.BodyNoType, cmb.BodyMultipart} {
		t.Run(enc.String(), func(t *testing.T) {
			h := newHarness(t)
			h.sim.SetCallbackBody(enc)
			plate := "京A1234" + strconv.Itoa(i)
			rec := h.enter(plate)
			h.advance(2 * time.Hour)
			before := opens(h.exit)
			h.arriveExit(plate)
			res, err := h.sim.ScanPay(context.Background(), 1)
			if err != nil || !res.Paid || res.Amount != 900 || res.Calc.RecordID != rec.ID {
				t.Fatalf("ScanPay as %s = %+v, %v; want 900 paid for %s", enc, res, err, rec.ID)
			}
			h.leaveExit(before)
			h.checkPaid(rec.ID, 900)
			if sent := h.sim.Sent(); len(sent) == 0 || sent[len(sent)-1].Status != 0 {
				t.Errorf("last callback = %+v; want answered 0", sent)
			}
		})
	}
}

// Issue 11 item 11: lane codes beyond 255 are answered, not refused (calc:
// status 1 "cannot access" for an exit we do not have), and any integer
// auto_pay_type is kept.
func TestCallbackLaneCodesAndAutoPayType(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	code := 1065
	if _, err := h.sim.Calc(ctx, &code, ""); !isAnswer(err, cmb.CalcUnavailable) {
		t.Errorf("calc out_code 1065 = %v; want status %d", err, cmb.CalcUnavailable)
	}
	if env, _, err := h.sim.NoVpln(ctx, "临A0000000000001", 1000); !isAnswer(err, cmb.NoVplnNoVehicle) {
		t.Errorf("NoVpln in_code 1000 = %+v, %v; want status %d", env, err, cmb.NoVplnNoVehicle)
	}
	for _, apt := range []string{"1", "2", "-3"} {
		v := url.Values{"park_code": {strconv.FormatInt(testPark, 10)}, "vpl_number": {"京B" + apt}, "auto_pay_type": {apt}, "limiter": {"5000"}}
		if _, err := cmb.CallDownlinkAs(ctx, http.DefaultClient, cmb.BodyMultipart, h.laneURL, testAppID, testSecret, cmb.EpAutoPayBind, v); err != nil {
			t.Fatalf("bind auto_pay_type %s = %v; want status 0", apt, err)
		}
		b, err := h.db.Binding("京B" + apt)
		if want, _ := strconv.Atoi(apt); err != nil || b.AutoPayType != want || b.Limit != 5000 {
			t.Errorf("binding = %+v, %v; want auto_pay_type %s kept, limit 5000", b, err, apt)
		}
	}
}
