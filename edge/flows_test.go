package edge

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge/tariff"
	"laned/store"
)

func chargeItems(t *testing.T, u cmbsim.Uplink) []cmb.ChargeItem {
	t.Helper()
	var items []cmb.ChargeItem
	if err := json.Unmarshal([]byte(u.Params["charge_items"]), &items); err != nil {
		t.Fatalf("charge_items %q: %v", u.Params["charge_items"], err)
	}
	return items
}

// The licensed flow of spec §5: entry, Indata, a two-hour stay, the exit
// waits, the driver scans the exit QR code and pays, the barrier rises,
// Outdata carries the payment.
func TestScanToPayExit(t *testing.T) {
	h := newHarness(t)
	rec, st, before := h.atExitAfter("京A12345", 2*time.Hour)
	if st.State != vWaitPay.String() || st.Due != 900 {
		t.Fatalf("exit lane = %+v; want waiting to pay 900 fen (500 first hour + 2×200)", st)
	}
	if opens(h.exit) != before {
		t.Fatal("exit barrier rose before payment")
	}
	res, err := h.sim.ScanPay(context.Background(), 1)
	if err != nil {
		t.Fatalf("ScanPay = %v", err)
	}
	if !res.Paid || res.Amount != 900 || res.Calc.RecordID != rec.ID || res.Calc.Charge.TotalPrice != 900 {
		t.Fatalf("ScanPay = %+v; want 900 fen paid for record %s", res, rec.ID)
	}
	h.leaveExit(before)
	h.drain()
	got := h.closed(rec.ID)
	if got.Fees.Paid != 900 || got.Fees.Total != 900 || got.OutCode != 1 {
		t.Errorf("closed record fees = %+v out_code %d; want total 900 paid 900 at exit 1", got.Fees, got.OutCode)
	}
	in, out := h.received(cmb.EpIndata, rec.ID), h.received(cmb.EpOutdata, rec.ID)
	if len(in) != 1 || len(out) != 1 {
		t.Fatalf("platform got %d Indata, %d Outdata for %s; want 1 each", len(in), len(out), rec.ID)
	}
	items := chargeItems(t, out[0])
	if len(items) != 1 || items[0].ActualPay != 900 || items[0].PayType != cmb.PayCMB || items[0].SeqNum != res.Order {
		t.Errorf("Outdata charge items = %+v; want one CMB payment of 900 with seq_num %s", items, res.Order)
	}
	h.checkPlatform()
}

func TestFreePeriodExit(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("粤B12345")
	h.advance(14 * time.Minute)
	h.passExit("粤B12345")
	h.drain()
	got := h.closed(rec.ID)
	if got.Fees.Total != 0 {
		t.Errorf("fees = %+v; want free", got.Fees)
	}
	items := chargeItems(t, h.received(cmb.EpOutdata, rec.ID)[0])
	if len(items) != 1 || items[0].PayType != cmb.PayShortStayFree {
		t.Errorf("charge items = %+v; want one short-stay free item", items)
	}
	h.checkPlatform()
}

func TestContactlessGuaranteed(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Guaranteed = true })
	rec := h.contactlessEntry("沪C88888", 5000) // the Indata answer teaches the lane the binding
	h.eventually("binding from the Indata answer", func() bool {
		b, err := h.db.Binding("沪C88888")
		return err == nil && b.Limit == 5000 && b.Source == store.SourceIndata
	})
	h.advance(3 * time.Hour)
	h.passExit("沪C88888") // released on the answer, which guaranteed mode gives at once
	h.drain()
	orders := h.sim.Orders()
	if len(orders) != 1 || orders[0].Amount != 1300 || !orders[0].Charged {
		t.Fatalf("platform orders = %+v; want one charged order of 1300 fen", orders)
	}
	if n := h.sim.ChargedCount(orders[0].RequestOrder); n != 1 {
		t.Errorf("ChargedCount = %d; want 1", n)
	}
	got := h.closed(rec.ID)
	if got.Fees.Paid != 1300 {
		t.Errorf("fees = %+v; want paid 1300", got.Fees)
	}
	h.checkPlatform()
}

func TestContactlessNonGuaranteed(t *testing.T) {
	h := newHarness(t)
	h.contactlessHour("沪C88888", 5000)
	h.passExit("沪C88888") // after the AutoPay succeeded
	h.drain()
	if o := h.sim.Orders(); len(o) != 1 || !o[0].Charged || o[0].Amount != 500 {
		t.Fatalf("orders = %+v; want one charged 500", o)
	}
	h.checkPlatform()
}

func TestContactlessFailedFallsBackToScan(t *testing.T) {
	h := newHarness(t)
	h.sim.FailPayments("沪C88888", true)
	rec := h.contactlessHour("沪C88888", 5000)
	before := opens(h.exit)
	h.exit.Arrive("沪C88888")
	h.drain()
	// The refusal reaches the lane after the outbox let go of the AutoPay.
	var st laneStatus
	h.eventually("the refusal handled", func() bool {
		st = h.laneStatus(h.exit)
		return st.State != vAutoPay.String()
	})
	if st.State != vWaitPay.String() || opens(h.exit) != before {
		t.Fatalf("after a failed AutoPay the lane is %+v; want waiting to pay, barrier down", st)
	}
	h.scanPay(500)
	h.leaveExit(before)
	h.drain()
	h.checkScanPaidOnly(rec.ID, 500)
}

func TestContactlessOverLimitScans(t *testing.T) {
	h := newHarness(t)
	h.contactlessHour("沪C88888", 100)
	st := h.arriveExit("沪C88888")
	if st.State != vWaitPay.String() {
		t.Fatalf("lane = %+v; want scan-to-pay when the fee exceeds the limit", st)
	}
	if o := h.sim.Orders(); len(o) != 0 {
		t.Errorf("AutoPay sent above the limit: %+v", o)
	}
}

// An AutoPay whose answer is lost is resolved with PayOrderStatus before
// anything is sent again: charged exactly once.
func TestAutoPayLostAnswerChargedOnce(t *testing.T) {
	for _, guaranteed := range []bool{false, true} {
		t.Run("guaranteed="+strconv.FormatBool(guaranteed), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Guaranteed = guaranteed })
			rec := h.contactlessHour("沪C88888", 5000)
			h.setFault(cmb.EpAutoPay, cmbsim.Fault{Cut: true, Times: 1})
			before := opens(h.exit)
			h.exit.Arrive("沪C88888")
			h.eventually("the AutoPay was sent", func() bool { return len(h.received(cmb.EpAutoPay, rec.ID)) == 1 })
			h.eventually("the AutoPay marked unresolved", func() bool {
				ms, _ := h.db.Messages(0, 10)
				for _, m := range ms {
					if m.Kind == store.KindAutoPay && m.Unresolved {
						return true
					}
				}
				return false
			})
			h.advance(10 * time.Second) // past the backoff
			h.drain()
			h.leaveExit(before)
			h.drain()
			orders := h.sim.Orders()
			if len(orders) != 1 || h.sim.ChargedCount(orders[0].RequestOrder) != 1 {
				t.Fatalf("orders = %+v; want one order charged once", orders)
			}
			if n := len(h.received(cmb.EpPayOrderStatus, "")); n < 1 {
				t.Errorf("PayOrderStatus sent %d times; want ≥ 1 before any resend", n)
			}
			if n := len(h.received(cmb.EpAutoPay, rec.ID)); n != 1 {
				t.Errorf("AutoPay sent %d times; want 1 (resolved, not resent)", n)
			}
			h.checkPaid(rec.ID, 500)
			h.checkPlatform()
		})
	}
}

// Prepaid by plate inside the car park (calc by vpl_number, then pay):
// free within the reserved grace; after it only the extra time is due.
func TestPrepaidByPlate(t *testing.T) {
	h := newHarness(t)
	a := h.enter("京A11111")
	b := h.enter("京B22222")
	h.advance(2 * time.Hour)
	for _, p := range []string{"京A11111", "京B22222"} {
		res, err := h.sim.PayPlate(context.Background(), p)
		if err != nil || !res.Paid || res.Amount != 900 {
			t.Fatalf("PayPlate(%s) = %+v, %v; want 900 paid", p, res, err)
		}
	}
	h.advance(10 * time.Minute)
	h.passExit("京A11111") // within the 15 min grace: free
	if got := h.closed(a.ID); got.Fees.Paid != 900 {
		t.Errorf("A fees = %+v; want paid 900", got.Fees)
	}
	h.advance(25 * time.Minute) // B leaves 35 min after paying: 2h35m
	st := h.arriveExit("京B22222")
	// 2h35m: 500 + 4 periods × 200 = 1300, 900 paid: 400 due.
	if st.State != vWaitPay.String() || st.Due != 400 {
		t.Fatalf("B at the exit = %+v; want 400 fen due for the extra time", st)
	}
	h.scanPayAndLeave(400)
	h.drain()
	if got := h.closed(b.ID); got.Fees.Paid != 1300 {
		t.Errorf("B fees = %+v; want paid 1300", got.Fees)
	}
	h.checkPlatform()
}

// The unlicensed flow of spec §2.3: NoVpln at the entry, scan to pay as
// unlicensed at the exit.
func TestUnlicensedInAndOut(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const virtual = "临A00000000000000001"

	// Nothing at the entry: status 2.
	env, _, err := h.sim.NoVpln(ctx, virtual, 1)
	if !isAnswer(err, cmb.NoVplnNoVehicle) {
		t.Fatalf("NoVpln with an empty entry = %+v, %v; want status 2", env, err)
	}
	// A licensed car at the entry, refused: status 1.
	h.entry.Arrive("")
	h.settle()
	if st := h.laneStatus(h.entry); st.State != vNoPlate.String() {
		t.Fatalf("entry after a no-plate read = %+v; want no plate", st)
	}
	before := opens(h.entry)
	_, ans, err := h.sim.NoVpln(ctx, virtual, 1)
	if err != nil || ans.VplNumber != virtual {
		t.Fatalf("NoVpln = %+v, %v; want 0 with the virtual plate", ans, err)
	}
	h.eventually("entry barrier up", func() bool { return opens(h.entry) > before })
	h.entry.PassThrough()
	rec, err := h.db.OpenByPlate(virtual)
	if err != nil || !rec.Unlicensed {
		t.Fatalf("record of the virtual plate = %+v, %v; want an unlicensed record", rec, err)
	}
	h.advance(90 * time.Minute)
	h.exit.Arrive("")
	h.settle()
	before = opens(h.exit)
	res, err := h.sim.ScanPayUnlicensed(ctx, 1, virtual)
	if err != nil || !res.Paid || res.Amount != 700 || res.Calc.VplNumber != virtual {
		t.Fatalf("ScanPayUnlicensed = %+v, %v; want 700 paid for %s", res, err, virtual)
	}
	h.leaveExit(before)
	h.drain()
	h.closed(rec.ID)
	h.checkPlatform()
}

// The licensed-vehicle and empty-exit rows of the unlicensed calc table.
func TestCalcUnlicensedTable(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	one := 1
	rec := h.enter("京A12345")
	h.advance(time.Hour)
	// Nothing at the exit, the virtual plate unknown: no order, no plate.
	a, err := h.sim.Calc(ctx, &one, "临X")
	if !isAnswer(err, cmb.CalcNoRecord) || a.VplNumber != "" {
		t.Errorf("calc(out 1, unknown virtual) = %+v, %v; want status 2 with an empty plate", a, err)
	}
	// A licensed car at the exit: its order whatever the virtual plate.
	h.exit.Arrive("京A12345")
	h.settle()
	a, err = h.sim.Calc(ctx, &one, "临X")
	if err != nil || a.RecordID != rec.ID || a.VplNumber != "京A12345" || a.Charge.ShouldPay != 500 {
		t.Errorf("calc(out 1 + virtual) with a licensed car = %+v, %v; want its order", a, err)
	}
	// Plate query from inside for an unknown plate: status 2 with the plate.
	a, err = h.sim.Calc(ctx, nil, "京Z99999")
	if !isAnswer(err, cmb.CalcNoRecord) || a.VplNumber != "京Z99999" {
		t.Errorf("calc(plate unknown) = %+v, %v; want status 2 with the plate", a, err)
	}
	// Exit scan at an exit of another code.
	two := 2
	if _, err := h.sim.Calc(ctx, &two, ""); !isAnswer(err, cmb.CalcUnavailable) {
		t.Errorf("calc(out 2) = %v; want status 1", err)
	}
}

func TestExitScanEmptyAndUnknown(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	one := 1
	if _, err := h.sim.Calc(ctx, &one, ""); !isAnswer(err, cmb.CalcNoPlate) {
		t.Errorf("exit scan with nothing at the exit = %v; want status 3", err)
	}
	h.exit.Arrive("京Q00000")
	h.settle()
	a, err := h.sim.Calc(ctx, &one, "")
	if !isAnswer(err, cmb.CalcNoRecord) || a.VplNumber != "京Q00000" {
		t.Errorf("exit scan of a car without a record = %+v, %v; want status 2 with its plate", a, err)
	}
}

func TestVIPFree(t *testing.T) {
	h := newHarness(t)
	if err := h.db.PutVehicle(store.Vehicle{Plate: "京V00001", List: store.ListVIP}); err != nil {
		t.Fatal(err)
	}
	rec := h.enter("京V00001")
	if rec.AuthType != store.AuthVIP {
		t.Errorf("auth type = %d; want VIP", rec.AuthType)
	}
	h.advance(5 * time.Hour)
	// Issue 11 item 12: calc explains the waiver with a discount entry.
	a, err := h.sim.Calc(context.Background(), nil, "京V00001")
	if err != nil || a.Charge.ShouldPay != 0 || a.Charge.TotalPrice != 2100 || len(a.Discount) != 1 ||
		a.Discount[0].Unit != cmb.DiscountAmount || a.Discount[0].Value != 2100 || a.Discount[0].Name == "" {
		t.Errorf("calc for a VIP = %+v, %v; want total 2100, 0 to pay, one discount of 2100 fen", a, err)
	}
	h.passExit("京V00001")
	h.drain()
	items := chargeItems(t, h.received(cmb.EpOutdata, rec.ID)[0])
	// Issue 11 item 12: pay_type 7 (授权车免费) for VIP and monthly.
	if len(items) != 1 || items[0].PayType != cmb.PayAuthorisedFree || items[0].ActualPay != 0 || items[0].ShouldPay != 2100 {
		t.Errorf("VIP charge items = %+v; want one pay_type 7 item waiving 2100 (5 h: 500 + 8×200)", items)
	}
	h.checkPlatform()
}

func TestBlacklistAndLotFull(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Spaces = Spaces{Total: 2, VIP: 1} })
	if err := h.db.PutVehicle(store.Vehicle{Plate: "京B44444", List: store.ListBlack}); err != nil {
		t.Fatal(err)
	}
	h.entry.Arrive("京B44444")
	if st := h.laneStatus(h.entry); st.State != vRefused.String() || opens(h.entry) != 0 {
		t.Fatalf("blacklisted entry = %+v, opens %d; want refused", st, opens(h.entry))
	}
	h.entry.Back()
	h.settle()
	h.enter("京A00001") // the one temporary space
	h.entry.Arrive("京A00002")
	if st := h.laneStatus(h.entry); st.State != vRefused.String() || st.Reason != "car park full" {
		t.Fatalf("entry into a full car park = %+v; want refused as full", st)
	}
	if _, err := h.db.OpenByPlate("京A00002"); err == nil {
		t.Error("a refused vehicle got a record")
	}
	// A guard lets it in anyway: audited, recorded, charged on exit.
	if err := h.ctl.ManualOpen(context.Background(), "entry1", "guard", "resident's visitor"); err != nil {
		t.Fatalf("ManualOpen = %v", err)
	}
	h.eventually("manual entry record", func() bool { _, err := h.db.OpenByPlate("京A00002"); return err == nil })
	ev, _ := h.db.RecentAudit(20)
	found := false
	for _, e := range ev {
		found = found || e.Kind == "manual_open"
	}
	if !found {
		t.Errorf("no manual_open in the audit log: %+v", ev)
	}
}

func TestReplayedPayNotice(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	pay := cmbsim.PayNotice{Plate: "京A12345", RecordID: rec.ID, Amount: 900, Order: "ORDER-1"}
	for i := range 3 {
		if _, err := h.sim.Pay(context.Background(), pay); err != nil {
			t.Fatalf("pay notice #%d = %v; want status 0", i+1, err)
		}
	}
	sum, _, err := h.db.PaidFor(rec.ID)
	if err != nil || sum != 900 {
		t.Errorf("PaidFor = %d, %v; want 900 credited once", sum, err)
	}
	// An unknown record is refused.
	pay.RecordID, pay.Order = "no-such-record", "ORDER-2"
	if _, err := h.sim.Pay(context.Background(), pay); err == nil {
		t.Error("pay notice for an unknown record_id answered 0")
	}
}

// Bad signatures and another car park's callbacks are refused and change
// nothing.
func TestRefusedCallbacksChangeNothing(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	srvURL := h.laneURL
	form := func(park int64) url.Values {
		return url.Values{
			"park_code": {strconv.FormatInt(park, 10)}, "vpl_number": {"京A12345"}, "record_id": {rec.ID},
			"pay_time": {strconv.FormatInt(h.clk.Now().Unix(), 10)},
			"pay_list": {`[{"pay_type":99,"amount":900,"order":"EVIL-1"}]`},
		}
	}
	ctx := context.Background()
	doer := cmb.NewHTTPClient()
	if _, err := cmb.CallDownlink(ctx, doer, srvURL, testAppID, "wrong-secret", cmb.EpPay, form(testPark)); !isAnswer(err, cmb.StatusUnauthorized) {
		t.Errorf("pay with a bad sign = %v; want status 401", err)
	}
	if _, err := cmb.CallDownlink(ctx, doer, srvURL, testAppID, testSecret, cmb.EpPay, form(testPark+1)); !isAnswer(err, cmb.StatusWrongPark) {
		t.Errorf("pay for another park = %v; want status 403", err)
	}
	if _, err := cmb.CallDownlink(ctx, doer, srvURL, "otherapp", testSecret, cmb.EpPay, form(testPark)); !isAnswer(err, cmb.StatusUnauthorized) {
		t.Errorf("pay from another appid = %v; want status 401", err)
	}
	if sum, _, _ := h.db.PaidFor(rec.ID); sum != 0 {
		t.Errorf("refused notices credited %d fen", sum)
	}
	if _, err := h.db.PaymentByOrder("EVIL-1"); err == nil {
		t.Error("a refused notice's order was recorded")
	}
}

func TestBindUnbindCallbacks(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.sim.Bind(ctx, cmbsim.BindRequest{Plate: "京A12345", Limit: 3000}); err != nil {
		t.Fatalf("bind = %v", err)
	}
	b, err := h.db.Binding("京A12345")
	if err != nil || b.Limit != 3000 || b.Source != store.SourceBind {
		t.Fatalf("binding = %+v, %v; want limit 3000 from bind", b, err)
	}
	if _, err := h.sim.Unbind(ctx, "京A12345"); err != nil {
		t.Fatalf("unbind = %v", err)
	}
	if _, err := h.db.Binding("京A12345"); err == nil {
		t.Error("binding still there after unbind")
	}
}

func TestLookAlikePlateAtExit(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(10 * time.Minute)
	before := opens(h.exit)
	h.exit.Arrive("京A1234S") // 5 read as S
	h.leaveExit(before)
	h.closed(rec.ID)
}

// A misread exit plate is matched to its one look-alike inside, and two
// look-alikes are never guessed between: the lane asks for a scan or a
// guard and says why.
func TestLookAlikeExits(t *testing.T) {
	tests := []struct {
		name    string
		inside  []string
		read    string
		conf    int
		match   string   // the plate whose record the exit closes
		ambig   []string // else: the candidates the lane names
		unknown bool     // else: no match at all
	}{
		{"0/O", []string{"京A10345"}, "京A1O345", 95, "京A10345", nil, false},
		{"D/Q", []string{"京AD2345"}, "京AQ2345", 95, "京AD2345", nil, false},
		{"8/B", []string{"京A12348"}, "京A1234B", 95, "京A12348", nil, false},
		{"1/I", []string{"京A12345"}, "京AI2345", 95, "京A12345", nil, false},
		{"2/Z", []string{"京A12345"}, "京A1Z345", 95, "京A12345", nil, false},
		{"5/S", []string{"京A12345"}, "京A1234S", 95, "京A12345", nil, false},
		{"6/G", []string{"京A12346"}, "京A1234G", 95, "京A12346", nil, false},
		{"province", []string{"京A12345"}, "津A12345", 95, "京A12345", nil, false},
		{"missing char", []string{"京A12345", "沪C99999"}, "京A1245", 95, "京A12345", nil, false},
		{"extra char", []string{"京A12345", "沪C99999"}, "京A123445", 95, "京A12345", nil, false},
		{"two edits, unsure camera", []string{"京A12345"}, "京A1Z34S", 50, "京A12345", nil, false},
		{"two edits, sure camera", []string{"京A12345"}, "京A1Z34S", 95, "", nil, true},
		{"ambiguous", []string{"京A12345", "津A1234S"}, "京A1234S", 95, "", []string{"京A12345", "津A1234S"}, false},
		{"ambiguous by a missing char", []string{"京A12345", "京A1234B"}, "京A1234", 95, "", []string{"京A12345", "京A1234B"}, false},
		{"unknown", []string{"京A12345"}, "沪C12345", 95, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			recs := map[string]store.Record{}
			for _, p := range tt.inside {
				recs[p] = h.enter(p)
			}
			h.advance(10 * time.Minute)
			before := opens(h.exit)
			h.exit.Camera.SetVehicleRead(tt.read, 0, tt.conf)
			h.exit.Arming.Set(true)
			h.exit.Camera.Show(tt.read, 0, tt.conf)
			if tt.match != "" {
				h.leaveExit(before)
				h.closed(recs[tt.match].ID)
				for p, r := range recs {
					if got, _ := h.db.RecordByID(r.ID); p != tt.match && !got.State.Open() {
						t.Errorf("record of %s closed too", p)
					}
				}
				return
			}
			st := h.laneStatus(h.exit)
			if st.State != vUnknown.String() || opens(h.exit) != before {
				t.Fatalf("exit lane = %+v, %d opens; want unknown, barrier down", st, opens(h.exit)-before)
			}
			for _, p := range tt.ambig {
				if !strings.Contains(st.Reason, p) || !strings.Contains(st.Reason, "guard") {
					t.Errorf("lane reason %q; want it to name %s and ask for a guard or a scan", st.Reason, p)
				}
			}
			if tt.unknown && st.Reason != "no open record for this plate" {
				t.Errorf("lane reason %q; want no open record", st.Reason)
			}
			for p, r := range recs {
				if got, _ := h.db.RecordByID(r.ID); !got.State.Open() {
					t.Errorf("record of %s closed; want every record open", p)
				}
			}
		})
	}
}

func TestVehicleUnderClosingBarrierReopens(t *testing.T) {
	h := newHarness(t)
	h.entry.Arrive("京A12345")
	h.eventually("entry up", func() bool { return opens(h.entry) == 1 })
	h.advance(3 * time.Second) // fully up
	h.entry.PassThrough()
	h.eventually("entry closing", func() bool { return lastOp(h.entry) == "close" })
	h.entry.Safety.Set(true) // a second car creeps under the closing arm
	h.eventually("re-opened", func() bool { return opens(h.entry) == 2 })
	h.entry.Safety.Set(false)
	h.advance(3 * time.Second)
}

// While a non-guaranteed AutoPay is on its way, calc does not invite the
// driver to pay the same stay again by scan.
func TestCalcDuringAutoPay(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	h.setFault(cmb.EpAutoPay, cmbsim.Fault{Down: true})
	h.exit.Arrive("沪C88888")
	h.settle()
	if st := h.laneStatus(h.exit); st.State != vAutoPay.String() {
		t.Fatalf("lane = %+v; want a contactless payment under way", st)
	}
	one := 1
	if _, err := h.sim.Calc(context.Background(), &one, ""); !isAnswer(err, cmb.CalcUnavailable) {
		t.Errorf("exit scan during an AutoPay = %v; want status 1", err)
	}
	if _, err := h.sim.Calc(context.Background(), nil, "沪C88888"); !isAnswer(err, cmb.CalcUnavailable) {
		t.Errorf("plate query during an AutoPay = %v; want status 1", err)
	}
	// The platform stays away past the wait: the AutoPay, never delivered,
	// is withdrawn and the driver may scan.
	// Simulated time runs on; a send in flight takes real time, so the
	// lane asks again until the AutoPay is off the wire. Each step waits
	// for the dispatcher to finish what is due, so the bound is simulated
	// time, not the machine's speed.
	for i := 0; h.laneStatus(h.exit).State != vWaitPay.String(); i++ {
		if i == 120 {
			t.Fatalf("no fallback to scan-to-pay after %d simulated seconds: lane %+v", 5*i, h.laneStatus(h.exit))
		}
		h.advance(5 * time.Second)
		h.eventually("dispatcher idle", func() bool { h.ctl.kick(); return h.dispatcherIdle() })
	}
	h.sim.ClearFaults()
	h.scanPayAndLeave(500)
	// The dispatcher still holds off after the refused AutoPays (it
	// cannot know the platform is back): simulated time runs past it.
	h.advanceUntilDrained(time.Minute, 20)
	for _, u := range h.received(cmb.EpAutoPay, rec.ID) {
		if u.Outcome != cmbsim.OutcomeDown {
			t.Errorf("the withdrawn AutoPay was processed by the platform: %+v", u)
		}
	}
	h.checkPaid(rec.ID, 500)
	h.checkPlatform()
}

// Retention: closed records past it are deleted by the hourly maintenance;
// open ones stay whatever their age.
func TestRetention(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Retention = 48 * time.Hour })
	old := h.enter("京A00001")
	inside := h.enter("京A00002")
	h.advance(10 * time.Minute)
	h.passExit("京A00001")
	h.drain()
	h.advance(49 * time.Hour) // the maintenance timer fires on the way
	h.eventually("the old record deleted", func() bool {
		_, err := h.db.RecordByID(old.ID)
		return err != nil
	})
	if _, err := h.db.RecordByID(inside.ID); err != nil {
		t.Errorf("an open record was deleted: %v", err)
	}
}

func TestSetTariffUploadsConfigOnlyOnChange(t *testing.T) {
	h := newHarness(t)
	h.drain()
	n := len(h.received(cmb.EpConfigUpload, ""))
	same, _ := tariff.New(shenzhen())
	h.ctl.SetTariff(same)
	h.drain()
	if got := len(h.received(cmb.EpConfigUpload, "")); got != n {
		t.Errorf("ConfigUpload after a reload with the same grace: %d; want %d", got, n)
	}
	cfg := shenzhen()
	cfg.ReservedOutTime = tariff.Duration(30 * time.Minute)
	longer, _ := tariff.New(cfg)
	h.ctl.SetTariff(longer)
	h.drain()
	got := h.received(cmb.EpConfigUpload, "")
	if len(got) != n+1 || got[len(got)-1].Params["config_items"] != `{"reserved_out_time":1800}` {
		t.Errorf("ConfigUpload after the grace changed = %+v; want one with 1800 s", got)
	}
}

// A late frame of the car just let in must not become the next car's
// plate (it would open the barrier for the wrong vehicle and replace the
// first car's record as stale).
func TestLateFrameOfPreviousCar(t *testing.T) {
	h := newHarness(t)
	a := h.enter("京A00001")
	h.entry.Camera.SetAnswerTriggers(false) // the next car is read only when we say so
	h.entry.ArriveUnread("京A00002")
	h.settle()
	before := opens(h.entry)
	h.entry.Camera.Show("京A00001", 0, 90) // a late frame of the first car
	h.settle()
	if opens(h.entry) != before {
		t.Fatal("a late frame of the previous car opened the barrier")
	}
	if got, err := h.db.RecordByID(a.ID); err != nil || got.State != store.StateInside {
		t.Fatalf("the first car's record = %+v, %v; want it still inside", got, err)
	}
	h.entry.Camera.Show("京A00002", 0, 95)
	h.eventually("the second car admitted", func() bool { return opens(h.entry) > before })
	if _, err := h.db.OpenByPlate("京A00002"); err != nil {
		t.Fatalf("second car: %v", err)
	}
}
