package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// rawPay sends a signed pay notice with the given pay_list text to the
// lane's callback server, as the platform would.
func (h *harness) rawPay(recordID, plate, payList string) cmb.Envelope {
	h.t.Helper()
	v := url.Values{"park_code": {strconv.FormatInt(testPark, 10)}, "record_id": {recordID},
		"pay_time": {strconv.FormatInt(h.clk.Now().Unix(), 10)}, "pay_list": {payList}}
	if plate != "" {
		v.Set("vpl_number", plate)
	}
	env, err := cmb.CallDownlink(context.Background(), http.DefaultClient, h.laneURL, testAppID, testSecret, cmb.EpPay, v)
	if err != nil && env.Status == 0 {
		var re *cmb.RejectedError
		if !errorsAs(err, &re) {
			h.t.Fatalf("pay: %v", err)
		}
		env.Status, env.Message = re.Status, re.Message
	}
	return env
}

func items(n int, amount int64, prefix string) string {
	list := make([]map[string]any, n)
	for i := range list {
		list[i] = map[string]any{"pay_type": 99, "amount": amount, "order": prefix + strconv.Itoa(i)}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// Issue 11 item 9 through the real callback server: bounds refuse a
// notice whole with a clear status and change nothing; 50 items and an
// empty plate are accepted.
func TestPayNoticeBounds(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	refused := []struct{ name, list string }{
		{"51 items", items(51, 1, "a")},
		{"an amount beyond the bound", items(1, cmb.MaxPayAmount+1, "b")},
		{"a total beyond the bound", items(2, cmb.MaxPayAmount, "c")},
		{"a total that would wrap int64", `[{"pay_type":99,"amount":9223372036854775807,"order":"d0"},{"pay_type":99,"amount":9223372036854775807,"order":"d1"}]`},
	}
	for _, tc := range refused {
		env := h.rawPay(rec.ID, rec.Plate, tc.list)
		if env.Status != cmb.StatusMalformed || env.Message == "" {
			t.Errorf("%s: answer %+v; want status %d with a message", tc.name, env, cmb.StatusMalformed)
		}
	}
	if ps, _ := h.db.Payments(rec.ID); len(ps) != 0 {
		t.Fatalf("payments after refused notices = %+v; want none", ps)
	}
	// 50 items of 18 fen = 900, without a plate: accepted, credited by
	// record_id, the waiting vehicle let out.
	st := h.arriveExit("京A12345")
	if st.Due != 900 {
		t.Fatalf("exit = %+v; want 900 due", st)
	}
	before := opens(h.exit)
	if env := h.rawPay(rec.ID, "", items(50, 18, "e")); env.Status != 0 {
		t.Fatalf("50 items without a plate: %+v; want status 0", env)
	}
	h.leaveExit(before)
	got := h.closed(rec.ID)
	if got.Fees.Paid != 900 {
		t.Errorf("fees = %+v; want 900 paid", got.Fees)
	}
	if ps, _ := h.db.Payments(rec.ID); len(ps) != 50 || ps[0].Plate != rec.Plate {
		t.Errorf("payments = %d (plate %q); want 50 under the record's plate", len(ps), ps[0].Plate)
	}
	// cmbsim sends an empty plate like the bank when calc answered one.
	rec2 := h.enter("京B22222")
	h.advance(2 * time.Hour)
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{RecordID: rec2.ID, Amount: 900}); err != nil {
		t.Fatalf("sim pay without a plate = %v", err)
	}
	if sum, _, _ := h.db.PaidFor(rec2.ID); sum != 900 {
		t.Errorf("PaidFor = %d; want 900", sum)
	}
}
