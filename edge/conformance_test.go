package edge

// Conformance of the appliance with the original platform document
// (cmb-parking-open-platform.zh.txt), end to end through the simulator:
// what each uplink carries, how the callbacks are answered, and the money
// rules of the spec page (pay notices, AutoPay request orders).

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/cmb/cmbtest"
	"laned/store"
)

// uplinkValues are an uplink's parameters as the form they came in.
func uplinkValues(u cmbsim.Uplink) url.Values {
	v := url.Values{}
	for k, x := range u.Params {
		v.Set(k, x)
	}
	return v
}

// checkUplink checks an uplink as received: every required field of the
// original's table, nothing outside the table, appid, and the sign of
// §3.2.
func checkUplink(t *testing.T, u cmbsim.Uplink, required, optional []string) {
	t.Helper()
	allowed := append(append([]string{"appid", "sign"}, required...), optional...)
	for _, k := range append([]string{"appid", "sign"}, required...) {
		if u.Params[k] == "" {
			t.Errorf("%s #%d: required field %s missing (params %v)", u.Endpoint, u.Seq, k, u.Params)
		}
	}
	for k := range u.Params {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s #%d: field %s is not in the original's table", u.Endpoint, u.Seq, k)
		}
	}
	if u.Params["appid"] != testAppID {
		t.Errorf("%s #%d: appid = %q; want %q", u.Endpoint, u.Seq, u.Params["appid"], testAppID)
	}
	if u.Endpoint != cmb.EpPicUpload {
		if got, want := u.Params["sign"], cmbtest.RefSign(uplinkValues(u), testSecret, ""); got != want {
			t.Errorf("%s #%d: sign = %s; want %s", u.Endpoint, u.Seq, got, want)
		}
	}
	if u.Params["park_code"] != strconv.FormatInt(testPark, 10) {
		t.Errorf("%s #%d: park_code = %q", u.Endpoint, u.Seq, u.Params["park_code"])
	}
}

func unixParam(t *testing.T, u cmbsim.Uplink, k string) int64 {
	t.Helper()
	s := u.Params[k]
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || len(s) != 10 {
		t.Errorf("%s %s = %q; want 10-digit UNIX seconds", u.Endpoint, k, s)
	}
	return n
}

// Indata, Outdata, SpaceInfo and ConfigUpload of a licensed stay carry the
// fields of §5.2, §5.3, §5.4 and §5.7 and nothing else; times are UNIX
// seconds whatever the clock's zone (§6.4: the entry at 09:00 Shanghai time
// is 01:00 UTC).
func TestConformanceStayUplinks(t *testing.T) {
	h := newHarness(t)
	rec, _, before := h.atExitAfter("京A12345", 2*time.Hour)
	res, err := h.sim.ScanPay(context.Background(), 1)
	if err != nil || !res.Paid {
		t.Fatalf("ScanPay = %+v, %v", res, err)
	}
	outAt := h.clk.Now().Unix()
	h.leaveExit(before)
	h.drain()

	in := h.received(cmb.EpIndata, rec.ID)
	if len(in) != 1 {
		t.Fatalf("Indata received %d times; want 1", len(in))
	}
	checkUplink(t, in[0], []string{"park_code", "in_code", "vpl_number", "record_id", "in_time", "car_type", "power_type"},
		[]string{"body_color", "plate_color", "logo", "auth_type", "model", "owner"})
	if want := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC).Unix(); unixParam(t, in[0], "in_time") != want {
		t.Errorf("Indata in_time = %s; want %d (09:00 CST)", in[0].Params["in_time"], want)
	}
	if p := in[0].Params; p["in_code"] != "1" || p["vpl_number"] != "京A12345" || p["car_type"] != "1" || p["power_type"] != "1" {
		t.Errorf("Indata = %v; want in_code 1, the plate, car_type 1, power_type 1", p)
	}

	out := h.received(cmb.EpOutdata, rec.ID)
	if len(out) != 1 {
		t.Fatalf("Outdata received %d times; want 1", len(out))
	}
	o := out[0]
	checkUplink(t, o, []string{"park_code", "in_code", "out_code", "vpl_number", "record_id", "in_time", "out_time", "charge_items"}, nil)
	if unixParam(t, o, "in_time") != unixParam(t, in[0], "in_time") || unixParam(t, o, "out_time") != outAt {
		t.Errorf("Outdata in_time %s out_time %s; want Indata's and %d", o.Params["in_time"], o.Params["out_time"], outAt)
	}
	if o.Params["in_code"] != "1" || o.Params["out_code"] != "1" || o.Params["vpl_number"] != "京A12345" {
		t.Errorf("Outdata = %v", o.Params)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(o.Params["charge_items"]), &items); err != nil || len(items) != 1 {
		t.Fatalf("charge_items %q: %v; want one item", o.Params["charge_items"], err)
	}
	var keys []string
	for k := range items[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"actual_pay", "pay_type", "seq_num", "should_pay", "time", "toll_collector"}; !slices.Equal(keys, want) {
		t.Errorf("charge item keys = %v; want %v (§5.4)", keys, want)
	}
	if items[0]["actual_pay"] != 900.0 || items[0]["pay_type"] != 99.0 || items[0]["seq_num"] != res.Order {
		t.Errorf("charge item = %v; want 900 fen by CMB (99), seq_num the pay order %s", items[0], res.Order)
	}

	spaces := h.received(cmb.EpSpaceInfo, "")
	if len(spaces) == 0 {
		t.Fatal("no SpaceInfo sent")
	}
	for _, s := range spaces {
		checkUplink(t, s, []string{"park_code", "total_empty", "vip_empty", "tmp_empty"}, nil)
	}
	cfg := h.received(cmb.EpConfigUpload, "")
	if len(cfg) == 0 {
		t.Fatal("no ConfigUpload sent")
	}
	checkUplink(t, cfg[0], []string{"park_code", "config_items"}, nil)
	if got := cfg[0].Params["config_items"]; got != `{"reserved_out_time":900}` {
		t.Errorf("config_items = %s; want {\"reserved_out_time\":900} (15 min)", got)
	}
	h.checkPlatform()
}

// advanceUntilDrained moves the clock in steps until the outbox is empty:
// retries after a failure wait for the (fake) backoff. After each step it
// waits until the dispatcher has done what is due (its timer may have been
// armed just after the clock moved: the kick wakes it).
func (h *harness) advanceUntilDrained(step time.Duration, max int) {
	h.t.Helper()
	empty := func() bool {
		h.ctl.kick()
		st, err := h.db.OutboxStats(h.clk.Now())
		return err == nil && st.Count == 0
	}
	for range max {
		h.settle()
		if empty() {
			return
		}
		h.advance(step)
		h.eventually("dispatcher idle", func() bool { h.ctl.kick(); return h.dispatcherIdle() })
	}
	h.drain()
}

// §5.1 and spec §4: an AutoPay that does not get through is sent again
// with the same request_order, carrying exactly §5.1's fields; the
// platform charges it once.
func TestConformanceAutoPayRetriesKeepRequestOrder(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Guaranteed = true })
	rec := h.contactlessHour("沪C88888", 5000)
	h.setFault(cmb.EpAutoPay, cmbsim.Fault{Down: true, Times: 3})
	before := opens(h.exit)
	h.exit.Arrive("沪C88888")
	// Released on the answer (guaranteed mode too), once the retries got
	// through within the AutoPay wait.
	h.advanceUntil("exit barrier up", time.Second, 14, func() bool { return opens(h.exit) > before })
	h.leaveExit(before)
	h.advanceUntilDrained(time.Minute, 30)

	aps := h.received(cmb.EpAutoPay, rec.ID)
	if len(aps) != 4 {
		t.Fatalf("AutoPay received %d times; want 4 (3 refused by the fault, then accepted)", len(aps))
	}
	for _, u := range aps {
		checkUplink(t, u, []string{"park_code", "vpl_number", "record_id", "amount", "request_order"}, nil)
		if u.RequestOrder != aps[0].RequestOrder || u.Params["amount"] != "500" || u.Params["vpl_number"] != "沪C88888" {
			t.Errorf("AutoPay #%d = %v; want request_order %s, amount 500 each time", u.Seq, u.Params, aps[0].RequestOrder)
		}
	}
	if o := h.sim.Orders(); len(o) != 1 || !o[0].Charged || h.sim.RecordCharges(rec.ID) != 1 {
		t.Errorf("orders = %+v; want one charged order", o)
	}
	h.checkPlatform()
}

// §5.8 before any resend: an AutoPay whose answer was lost is looked up by
// PayOrderStatus (its fields exactly §5.8's, its request_order the lost
// one's); "no such order" leads to a resend with the same request_order.
func TestConformancePayOrderStatusBeforeResend(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	h.setFault(cmb.EpAutoPay, cmbsim.Fault{Cut: true, Times: 1})
	// The first PayOrderStatus is refused as "no such order" although the
	// order exists: the lane must resend the same request_order, which the
	// platform answers with the first outcome instead of charging again.
	h.setFault(cmb.EpPayOrderStatus, cmbsim.Fault{Status: cmbsim.StatusNoSuchOrder, Times: 1})
	before := opens(h.exit)
	h.exit.Arrive("沪C88888")
	h.eventually("the AutoPay was sent", func() bool { return len(h.received(cmb.EpAutoPay, rec.ID)) == 1 })
	h.advanceUntilDrained(10*time.Second, 30)
	h.leaveExit(before)
	h.drain()

	var seq []string
	order := ""
	for _, u := range h.sim.Received(cmbsim.Filter{}) {
		switch u.Endpoint {
		case cmb.EpAutoPay:
			if order == "" {
				order = u.RequestOrder
			}
			if u.RequestOrder != order {
				t.Errorf("AutoPay #%d request_order %s; want %s (one per payment)", u.Seq, u.RequestOrder, order)
			}
			seq = append(seq, "AutoPay")
		case cmb.EpPayOrderStatus:
			checkUplink(t, u, []string{"park_code", "request_order"}, nil)
			if u.RequestOrder != order {
				t.Errorf("PayOrderStatus request_order %s; want the lost AutoPay's %s", u.RequestOrder, order)
			}
			seq = append(seq, "PayOrderStatus")
		}
	}
	if len(seq) < 3 || seq[0] != "AutoPay" || seq[1] != "PayOrderStatus" || seq[2] != "AutoPay" {
		t.Errorf("sequence = %v; want AutoPay, PayOrderStatus, AutoPay (resent only after the lookup)", seq)
	}
	if h.sim.ChargedCount(order) != 1 || h.sim.RecordCharges(rec.ID) != 1 {
		t.Errorf("charged %d times; want once", h.sim.RecordCharges(rec.ID))
	}
	h.checkPaid(rec.ID, 500)
	h.checkPlatform()
}

func audited(t *testing.T, h *harness, kind string) bool {
	t.Helper()
	ev, err := h.db.RecentAudit(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// Spec §3.2: a pay notice whose amount differs from the quote is recorded
// (the money was taken) and audited; the vehicle at the exit leaves once
// nothing remains due, and not before.
func TestConformancePayAmountDiffers(t *testing.T) {
	t.Run("short", func(t *testing.T) {
		h := newHarness(t)
		rec, st, before := h.atExitAfter("京A12345", 2*time.Hour)
		if st.Due != 900 {
			t.Fatalf("due %d; want 900", st.Due)
		}
		if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 500}); err != nil {
			t.Fatalf("pay 500 = %v; want status 0", err)
		}
		if sum, _, _ := h.db.PaidFor(rec.ID); sum != 500 {
			t.Errorf("after paying 500 of 900: paid %d; want 500 recorded", sum)
		}
		if !audited(t, h, "pay_mismatch") {
			t.Error("no pay_mismatch audit for a short payment")
		}
		st = h.laneStatus(h.exit)
		if st.State != vWaitPay.String() || st.Due != 400 || opens(h.exit) != before {
			t.Fatalf("after paying 500 of 900: lane %+v, opens %d; want 400 still due, barrier down", st, opens(h.exit)-before)
		}
		if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 400}); err != nil {
			t.Fatalf("pay 400 = %v", err)
		}
		h.leaveExit(before)
		h.drain()
		h.checkPaid(rec.ID, 900)
		if items := chargeItems(t, h.received(cmb.EpOutdata, rec.ID)[0]); len(items) != 2 {
			t.Errorf("charge items = %+v; want the two payments", items)
		}
	})
	t.Run("over", func(t *testing.T) {
		h := newHarness(t)
		rec, _, before := h.atExitAfter("京A12345", 2*time.Hour)
		if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 1000}); err != nil {
			t.Fatalf("pay 1000 = %v; want status 0", err)
		}
		h.leaveExit(before)
		if sum, _, _ := h.db.PaidFor(rec.ID); sum != 1000 {
			t.Errorf("paid %d; want the 1000 taken recorded", sum)
		}
		if !audited(t, h, "pay_mismatch") {
			t.Error("no pay_mismatch audit for an overpayment")
		}
	})
}

// §4.2: a payment by plate (calc with vpl_number, then pay) for a vehicle
// already waiting at an exit opens that exit.
func TestConformancePlatePaymentReleasesWaitingVehicle(t *testing.T) {
	h := newHarness(t)
	rec, st, before := h.atExitAfter("京A12345", 2*time.Hour)
	if st.State != vWaitPay.String() {
		t.Fatalf("exit lane %+v; want waiting to pay", st)
	}
	res, err := h.sim.PayPlate(context.Background(), "京A12345")
	if err != nil || !res.Paid || res.Amount != 900 {
		t.Fatalf("PayPlate = %+v, %v", res, err)
	}
	h.leaveExit(before)
	h.drain()
	h.closed(rec.ID)
	h.checkPlatform()
}

// §4.2's pay_list is a list: several payments in one notice are each
// credited, and a replay of the notice credits nothing; a notice for a
// record already closed still counts, audited.
func TestConformancePayListAndLateNotice(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	notice := url.Values{
		"park_code": {strconv.FormatInt(testPark, 10)}, "vpl_number": {"京A12345"}, "record_id": {rec.ID},
		"pay_time": {strconv.FormatInt(h.clk.Now().Unix(), 10)},
		"pay_list": {`[{"pay_type":99,"amount":600,"order":88880001},{"pay_type":99,"amount":300,"order":"88880002"}]`},
	}
	for i := range 2 {
		if _, err := cmb.CallDownlink(ctx, nil, h.laneURL, testAppID, testSecret, cmb.EpPay, notice); err != nil {
			t.Fatalf("pay notice #%d = %v; want status 0", i+1, err)
		}
	}
	if sum, _, _ := h.db.PaidFor(rec.ID); sum != 900 {
		t.Errorf("PaidFor = %d; want 900 (600 + 300, once)", sum)
	}
	if _, err := h.db.PaymentByOrder("88880001"); err != nil {
		t.Errorf("numeric order 88880001 not recorded by its text: %v", err)
	}
	h.passExit("京A12345") // paid in advance: free within the grace
	h.drain()
	h.closed(rec.ID)
	if _, err := h.sim.Pay(ctx, cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 100, Order: "LATE-1"}); err != nil {
		t.Fatalf("late pay notice = %v; want status 0 (the money was taken)", err)
	}
	if sum, _, _ := h.db.PaidFor(rec.ID); sum != 1000 {
		t.Errorf("PaidFor after a late notice = %d; want 1000", sum)
	}
	if !audited(t, h, "late_payment") {
		t.Error("no late_payment audit")
	}
}

// §4.2 says pay notices are sent for contactless payments too. The notice
// for a payment the lane already recorded from the AutoPay answer must not
// credit it a second time, whether it names the payment by our
// request_order or by the bank's channel_order.
func TestConformanceContactlessPayNoticeCreditedOnce(t *testing.T) {
	for _, by := range []string{"request_order", "channel_order"} {
		t.Run(by, func(t *testing.T) {
			if by == "channel_order" {
			}
			h := newHarness(t, func(c *Config) { c.Guaranteed = true })
			rec := h.contactlessHour("沪C88888", 5000)
			h.passExit("沪C88888")
			h.drain()
			orders := h.sim.Orders()
			if len(orders) != 1 || !orders[0].Charged {
				t.Fatalf("orders = %+v; want one charged", orders)
			}
			order := orders[0].RequestOrder
			if by == "channel_order" {
				order = orders[0].ChannelOrder
			}
			if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "沪C88888", RecordID: rec.ID, Amount: 500, Order: order}); err != nil {
				t.Fatalf("pay notice = %v; want status 0", err)
			}
			if sum, _, _ := h.db.PaidFor(rec.ID); sum != 500 {
				t.Errorf("PaidFor = %d; want 500: one contactless payment, credited once", sum)
			}
		})
	}
}

// §4.5: NoVpln answers 1 when the entry sees a licensed vehicle and 2 when
// nothing (or no entry of that in_code) is there.
func TestConformanceNoVplnStatuses(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.db.PutVehicle(store.Vehicle{Plate: "京B44444", List: store.ListBlack}); err != nil {
		t.Fatal(err)
	}
	h.entry.Arrive("京B44444") // read, refused: it stays at the entry
	h.settle()
	if _, _, err := h.sim.NoVpln(ctx, "临A00000000000000001", 1); !isAnswer(err, cmb.NoVplnLicensed) {
		t.Errorf("NoVpln with a licensed vehicle at the entry = %v; want status 1", err)
	}
	if _, _, err := h.sim.NoVpln(ctx, "临A00000000000000001", 9); !isAnswer(err, cmb.NoVplnNoVehicle) {
		t.Errorf("NoVpln for in_code 9 (no such entry) = %v; want status 2", err)
	}
	if _, err := h.db.OpenByPlate("临A00000000000000001"); err == nil {
		t.Error("a refused NoVpln opened a record")
	}
	if n := opens(h.entry); n != 0 {
		t.Errorf("entry barrier opened %d times; want 0", n)
	}
}

// A NoVpln repeated for the vehicle it has just admitted (the driver taps
// twice, or the platform retries after a lost answer) is answered 0 again
// with the same plate, and opens nothing more.
func TestConformanceNoVplnRepeated(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const virtual = "临A00000000000000002"
	h.entry.Arrive("")
	h.settle()
	if _, a, err := h.sim.NoVpln(ctx, virtual, 1); err != nil || a.VplNumber != virtual {
		t.Fatalf("NoVpln = %+v, %v; want 0", a, err)
	}
	h.settle()
	if _, a, err := h.sim.NoVpln(ctx, virtual, 1); err != nil || a.VplNumber != virtual {
		t.Errorf("repeated NoVpln = %+v, %v; want 0 with the same plate", a, err)
	}
	if recs, _ := h.db.OpenRecords(); len(recs) != 1 {
		t.Errorf("open records %d; want 1", len(recs))
	}
}

// The rows of §4.1's table not covered by the flows, and the contents of
// an order: the plate always returned, a 0-fen order is an order.
func TestConformanceCalcTable(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	one := 1
	const virtual = "临A00000000000000003"

	// An unlicensed vehicle comes in by NoVpln.
	h.entry.Arrive("")
	h.settle()
	if _, _, err := h.sim.NoVpln(ctx, virtual, 1); err != nil {
		t.Fatalf("NoVpln = %v", err)
	}
	h.entry.PassThrough()
	h.settle()
	unl, err := h.db.OpenByPlate(virtual)
	if err != nil {
		t.Fatal(err)
	}
	lic := h.enter("京A12345")

	// A 0-fen order (within the free period) is an order: status 0.
	h.advance(5 * time.Minute)
	a, err := h.sim.Calc(ctx, nil, "京A12345")
	if err != nil || a.RecordID != lic.ID || a.VplNumber != "京A12345" || a.Charge.ShouldPay != 0 {
		t.Errorf("plate query in the free period = %+v, %v; want status 0, record %s, should_pay 0", a, err, lic.ID)
	}

	h.advance(2 * time.Hour)
	now := h.clk.Now().Unix()
	// Nothing at the exit, an unlicensed order exists: the order, vpl_number empty.
	a, err = h.sim.Calc(ctx, &one, virtual)
	if err != nil || a.RecordID != unl.ID || a.VplNumber != "" || a.Charge.ShouldPay == 0 {
		t.Errorf("unlicensed scan, nothing at the exit = %+v, %v; want order %s with an empty plate", a, err, unl.ID)
	}

	// A licensed vehicle at the exit: exit scan gives its order in full.
	h.exit.Arrive("京A12345")
	h.settle()
	a, err = h.sim.Calc(ctx, &one, "")
	want := cmb.CalcAnswer{VplNumber: "京A12345", RecordID: lic.ID, InTime: lic.InTime.Unix(), OutTime: now, Duration: now - lic.InTime.Unix(),
		Charge: cmb.Charge{TotalPrice: 1100, ShouldPay: 1100, Paid: 0}} // 2h05: 500 + 3×200
	if err != nil || a.VplNumber != want.VplNumber || a.RecordID != want.RecordID || a.InTime != want.InTime || a.OutTime != want.OutTime ||
		a.Duration != want.Duration || a.Charge != want.Charge {
		t.Errorf("exit scan = %+v, %v; want %+v", a, err, want)
	}
	h.exit.Back()
	h.settle()

	// A licensed vehicle without a record at the exit, unlicensed scan: no
	// order with its plate.
	h.exit.Arrive("京Q00000")
	h.settle()
	if a, err := h.sim.Calc(ctx, &one, virtual); !isAnswer(err, cmb.CalcNoRecord) || a.VplNumber != "京Q00000" {
		t.Errorf("unlicensed scan, unknown licensed vehicle at the exit = %+v, %v; want status 2 with 京Q00000", a, err)
	}
	h.exit.Back()
	h.settle()

	// An unlicensed vehicle at the exit whose virtual plate has no order: no
	// order with the virtual plate.
	h.exit.Arrive("")
	h.settle()
	if a, err := h.sim.Calc(ctx, &one, "临Z99999999999999999"); !isAnswer(err, cmb.CalcNoRecord) || a.VplNumber != "临Z99999999999999999" {
		t.Errorf("unlicensed scan, unlicensed vehicle without order = %+v, %v; want status 2 with the virtual plate", a, err)
	}
	// The same vehicle, its own virtual plate: its order, its plate.
	if a, err := h.sim.Calc(ctx, &one, virtual); err != nil || a.RecordID != unl.ID || a.VplNumber != virtual {
		t.Errorf("unlicensed scan, unlicensed vehicle with order = %+v, %v; want order %s with %s", a, err, unl.ID, virtual)
	}
}

// §4.3 names the bind limit "limiter"; a bind as the platform sends it
// (no auto_pay_type, only limiter) is kept, and lets the next exit pay
// contactless without any status query; the English page's "limit" is
// accepted too; unbinding a plate that has no binding is answered 0.
func TestConformanceBindAsSent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	park := strconv.FormatInt(testPark, 10)
	call := func(name string, v url.Values) error {
		_, err := cmb.CallDownlink(ctx, nil, h.laneURL, testAppID, testSecret, name, v)
		return err
	}
	rec := h.enter("沪C88888") // no agreement yet: Indata answers uid 0
	h.drain()
	if err := h.sim.AddAgreement("沪C88888", 5000); err != nil {
		t.Fatal(err)
	}
	if err := call(cmb.EpAutoPayBind, url.Values{"park_code": {park}, "vpl_number": {"沪C88888"}, "limiter": {"5000"}, "serial_no": {"S1"}}); err != nil {
		t.Fatalf("autoPayBind with limiter = %v", err)
	}
	if b, err := h.db.Binding("沪C88888"); err != nil || b.Limit != 5000 || b.SerialNo != "S1" {
		t.Fatalf("binding = %+v, %v; want limit 5000 serial S1", b, err)
	}
	if err := call(cmb.EpAutoPayBind, url.Values{"park_code": {park}, "vpl_number": {"京B11111"}, "auto_pay_type": {"0"}, "limit": {"3000"}}); err != nil {
		t.Fatalf("autoPayBind with limit = %v", err)
	}
	if b, err := h.db.Binding("京B11111"); err != nil || b.Limit != 3000 {
		t.Errorf("binding = %+v, %v; want limit 3000", b, err)
	}
	if err := call(cmb.EpAutoPayUnbind, url.Values{"park_code": {park}, "vpl_number": {"京Z00000"}}); err != nil {
		t.Errorf("autoPayUnbind of an unbound plate = %v; want status 0", err)
	}

	h.advance(time.Hour)
	h.passExit("沪C88888")
	h.drain()
	if n := len(h.received(cmb.EpAutoPayStatus, "")); n != 0 {
		t.Errorf("AutoPayStatus sent %d times at the exit; want none (the binding is local)", n)
	}
	if o := h.sim.Orders(); len(o) != 1 || !o[0].Charged || o[0].Amount != 500 {
		t.Errorf("orders = %+v; want one charged contactless payment of 500", o)
	}
	h.closed(rec.ID)
	h.checkPlatform()
}

// Every record reported by Indata is closed on the platform by an Outdata
// (§5.4): one closed as stale, because its plate entered again without
// being seen leaving, too.
func TestConformanceStaleRecordGetsOutdata(t *testing.T) {
	h := newHarness(t)
	first := h.enter("京A12345")
	h.advance(3 * time.Hour)
	second := h.enter("京A12345")
	h.drain()
	if first.ID == second.ID {
		t.Fatalf("the second entry reused record %s", first.ID)
	}
	h.closed(first.ID)
	if out := h.received(cmb.EpOutdata, first.ID); len(out) != 1 {
		t.Errorf("Outdata for the stale record %s received %d times; want 1", first.ID, len(out))
	}
	h.checkPlatform()
}

// §4.2 fixes a pay notice's pay_type at 99, but the notice is accepted
// with any pay_type (the money was taken): such a payment must not keep
// the paid vehicle from leaving, nor its exit from being reported.
func TestConformancePayNoticeOddPayType(t *testing.T) {
	h := newHarness(t)
	rec, _, before := h.atExitAfter("京A12345", 2*time.Hour)
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 900, PayType: 30}); err != nil {
		t.Fatalf("pay notice with pay_type 30 = %v; want status 0", err)
	}
	h.leaveExit(before)
	h.drain()
	h.closed(rec.ID)
	if out := h.received(cmb.EpOutdata, rec.ID); len(out) != 1 {
		t.Errorf("Outdata received %d times; want 1", len(out))
	}
}
