package edge

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge/console"
	"laned/store"
)

// Contactless (无感) exits against the simulator configured like the real
// bank, end to end through the callback server and the dispatcher.

func modeName(guaranteed bool) string {
	if guaranteed {
		return "guaranteed"
	}
	return "non-guaranteed"
}

// cmbItems lists the pay_type 99 charge items of a record's delivered
// Outdata.
func cmbItems(t *testing.T, h *harness, recordID string) []cmb.ChargeItem {
	t.Helper()
	outs := h.received(cmb.EpOutdata, recordID)
	if len(outs) != 1 {
		t.Fatalf("record %s: %d Outdata delivered; want 1", recordID, len(outs))
	}
	var out []cmb.ChargeItem
	for _, it := range chargeItems(t, outs[0]) {
		if it.PayType == cmb.PayCMB {
			out = append(out, it)
		}
	}
	return out
}

// Item 1: released on the answer status 0 in both modes, never on the
// request; the pay_type 99 charge item exists only after that success.
func TestContactlessReleasedOnAnswer(t *testing.T) {
	for _, guaranteed := range []bool{true, false} {
		t.Run(modeName(guaranteed), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Guaranteed = guaranteed })
			rec := h.contactlessHour("沪C88888", 5000)
			h.setFault(cmb.EpAutoPay, cmbsim.Fault{Hold: true})
			before := opens(h.exit)
			h.exit.Arrive("沪C88888")
			h.eventually("the AutoPay at the platform", func() bool { return len(h.received(cmb.EpAutoPay, rec.ID)) == 1 })
			// The platform has the request (and charged it) but its answer
			// has not come: the barrier stays down, nothing is recorded.
			st := h.laneStatus(h.exit)
			if opens(h.exit) != before || st.State != vAutoPay.String() {
				t.Fatalf("before the answer: lane %+v, %d opens; want contactless paying, barrier down", st, opens(h.exit)-before)
			}
			if pays, _ := h.db.Payments(rec.ID); len(pays) != 0 {
				t.Fatalf("before the answer: payments %+v; want none", pays)
			}
			if r, _ := h.db.RecordByID(rec.ID); !r.State.Open() || len(r.Items) != 0 {
				t.Fatalf("before the answer: record %+v; want open, no charge item", r)
			}
			h.sim.ReleaseHeld()
			h.leaveExit(before)
			h.drain()
			got := h.closed(rec.ID)
			if got.Fees.Paid != 500 || got.Fees.Due != 0 {
				t.Errorf("fees = %+v; want 500 paid", got.Fees)
			}
			items := cmbItems(t, h, rec.ID)
			if len(items) != 1 || items[0].ActualPay != 500 {
				t.Errorf("Outdata pay_type 99 items = %+v; want one of 500", items)
			}
			h.checkPlatform()
		})
	}
}

// Item 1: non-guaranteed, the bank answers only after the charge, slowly.
func TestContactlessNonGuaranteedSlowCharge(t *testing.T) {
	h := newHarness(t)
	h.sim.SetChargeDelay(300 * time.Millisecond)
	rec := h.contactlessHour("沪C88888", 5000)
	h.passExit("沪C88888")
	h.drain()
	h.checkPaid(rec.ID, 500)
	if o := h.sim.Orders(); len(o) != 1 || !o[0].Charged || o[0].Guaranteed {
		t.Errorf("orders = %+v; want one non-guaranteed charged order", o)
	}
	h.checkPlatform()
}

// Item 1: a refusal, in either mode, falls back to scan-to-pay at the lane;
// so does a platform that does not answer (offline_release off).
func TestContactlessRefusalScanToPay(t *testing.T) {
	for _, tc := range []struct {
		name       string
		guaranteed bool
		down       bool
	}{
		{"guaranteed refused", true, false},
		{"non-guaranteed refused", false, false},
		{"guaranteed platform down", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Guaranteed = tc.guaranteed })
			rec := h.contactlessHour("沪C88888", 5000)
			if tc.down {
				h.setFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true})
			} else {
				h.sim.RemoveAgreement("沪C88888") // the bank no longer charges it
			}
			before := opens(h.exit)
			h.exit.Arrive("沪C88888")
			h.advanceUntil("scan-to-pay", 5*time.Second, 10, func() bool { return h.laneStatus(h.exit).State == vWaitPay.String() })
			if opens(h.exit) != before {
				t.Fatal("the barrier rose without a successful answer")
			}
			h.sim.ClearFaults()
			h.scanPay(500)
			h.leaveExit(before)
			h.advanceUntilDrained(time.Minute, 20)
			h.checkScanPaidOnly(rec.ID, 500)
		})
	}
}

// Item 2: offline_release lets a bound vehicle out owing; its Outdata waits
// for the AutoPay; paid later, the record shows it paid.
func TestOfflineReleaseOwedThenPaid(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OfflineRelease = true })
	rec := h.contactlessHour("沪C88888", 5000)
	h.releasedOwing("沪C88888")
	got := h.closed(rec.ID)
	if got.Fees.Due != 500 || got.Fees.Paid != 0 || got.AwaitOrder == "" {
		t.Fatalf("record released owing = %+v, awaiting %q; want 500 due, an AutoPay awaited", got.Fees, got.AwaitOrder)
	}
	if st, _ := h.db.OutboxStats(h.clk.Now()); st.ByKind[store.KindOutdata] != 0 || st.ByKind[store.KindAutoPay] != 1 {
		t.Fatalf("outbox %v; want the AutoPay queued and no Outdata yet", st.ByKind)
	}
	if !audited(t, h, "offline_release") {
		t.Error("no offline_release audit")
	}
	h.sim.ClearFaults()
	h.advanceUntilDrained(time.Minute, 30)
	got = h.closed(rec.ID)
	if got.Fees.Paid != 500 || got.Fees.Due != 0 || got.AwaitOrder != "" || got.Arrears != 0 {
		t.Errorf("after the platform came back: %+v awaiting %q arrears %d; want 500 paid", got.Fees, got.AwaitOrder, got.Arrears)
	}
	if items := cmbItems(t, h, rec.ID); len(items) != 1 || items[0].ActualPay != 500 {
		t.Errorf("Outdata pay_type 99 items = %+v; want one of 500", items)
	}
	if n := len(h.received(cmb.EpAutoPay, rec.ID)); n == 0 {
		t.Error("the AutoPay never reached the platform")
	}
	h.checkPlatform()
}

// Item 2: refused after an offline release, the fee is an arrears of the
// plate, shown, and collected at its next exit with a charge item of its
// own.
func TestOfflineReleaseRefusedArrearsCollected(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OfflineRelease = true })
	first := h.contactlessHour("沪C88888", 5000)
	h.releasedOwing("沪C88888")
	h.sim.RemoveAgreement("沪C88888") // the bank refuses the charge when it comes
	h.sim.ClearFaults()
	h.advanceUntilDrained(time.Minute, 30)
	got := h.closed(first.ID)
	if got.Arrears != 500 || got.Fees.Due != 500 || got.AwaitOrder != "" {
		t.Fatalf("record after the refusal = %+v arrears %d awaiting %q; want 500 in arrears", got.Fees, got.Arrears, got.AwaitOrder)
	}
	as, err := h.db.Arrears("沪C88888")
	if err != nil || len(as) != 1 || as[0].Amount != 500 || as[0].RecordID != first.ID {
		t.Fatalf("Arrears = %+v, %v; want 500 of record %s", as, err, first.ID)
	}
	if items := cmbItems(t, h, first.ID); len(items) != 0 {
		t.Errorf("Outdata of the refused stay has pay_type 99 items %+v; want none", items)
	}
	if !audited(t, h, "arrears") {
		t.Error("no arrears audit")
	}
	// The console shows it: arrears, records, record.
	con := console.New(console.Options{Backend: (&Console{Ctl: h.ctl, Who: "test"}).Roles(), Clock: h.clk})
	for cmd, want := range map[string]string{
		"arrears 沪C88888":    first.ID,
		"records 沪C88888":    "5.00 arrears (欠费)",
		"record " + first.ID: "owed   5.00 arrears (欠费)",
	} {
		var out strings.Builder
		if err := con.Exec(context.Background(), strings.Fields(cmd), &out); err != nil || !strings.Contains(out.String(), want) {
			t.Errorf("console %q = %v:\n%s\nwant %q", cmd, err, out.String(), want)
		}
	}

	// Next visit: the plate no longer has an agreement at the bank; Indata
	// says so; the driver scans and pays fee and arrears together.
	second := h.enter("沪C88888")
	h.drain()
	h.advance(time.Hour)
	st := h.arriveExit("沪C88888")
	if st.State != vWaitPay.String() || st.Due != 1000 {
		t.Fatalf("next exit: %+v; want waiting to pay 1000 (500 + 500 arrears)", st)
	}
	h.scanPayAndLeave(1000)
	h.drain()
	closed := h.closed(second.ID)
	if len(closed.Collected) != 1 || closed.Collected[0].RecordID != first.ID {
		t.Errorf("collected = %+v; want the arrears of %s", closed.Collected, first.ID)
	}
	if as, _ := h.db.Arrears("沪C88888"); len(as) != 0 {
		t.Errorf("arrears left after collection: %+v", as)
	}
	var own, total int64
	for _, it := range chargeItems(t, h.received(cmb.EpOutdata, second.ID)[0]) {
		total += it.ActualPay
		if it.SeqNum == first.ID+"A" {
			own += it.ActualPay
		}
	}
	if own != 500 || total != 1000 {
		t.Errorf("Outdata of the next stay: arrears item %d, total %d; want 500 of 1000", own, total)
	}
	h.checkPlatform()
}

// Item 3: an answer without data or without uid never removes a binding;
// uid present and 0 does.
func TestBindingSurvivesSilentAnswers(t *testing.T) {
	for _, tc := range []struct {
		mode cmbsim.ContactlessAnswers
		kept bool
	}{
		{cmbsim.ContactlessNoData, true},
		{cmbsim.ContactlessNoUID, true},
		{cmbsim.ContactlessFull, false}, // uid 0: the bank has no agreement
	} {
		t.Run("answers="+string(tc.mode), func(t *testing.T) {
			h := newHarness(t)
			if err := h.sim.SetContactlessAnswers(tc.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := h.sim.Bind(context.Background(), cmbsim.BindRequest{Plate: "沪C88888", Limit: 5000, SerialNo: "S1"}); err != nil {
				t.Fatal(err)
			}
			h.advance(time.Second) // the Indata's question is newer than the bind
			h.enter("沪C88888")
			h.drain()
			_, err := h.db.Binding("沪C88888")
			if kept := err == nil; kept != tc.kept {
				t.Errorf("binding kept = %v (%v); want %v", kept, err, tc.kept)
			}
		})
	}
}

// Item 3: nothing known at entry (and Indata silent): AutoPayStatus is
// asked, queued without delaying the barrier, and its answer kept.
func TestStatusQueryAtEntry(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.SetContactlessAnswers(cmbsim.ContactlessIndataNoData); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddAgreement("沪C88888", 5000); err != nil {
		t.Fatal(err)
	}
	// The platform is down: the entry does not wait for it.
	h.setFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true})
	rec := h.enter("沪C88888")
	if st, _ := h.db.OutboxStats(h.clk.Now()); st.ByKind[store.KindAutoPayStatus] != 1 {
		t.Fatalf("outbox after the entry: %v; want one AutoPayStatus queued", st.ByKind)
	}
	h.sim.ClearFaults()
	h.advanceUntilDrained(time.Minute, 20)
	if n := len(h.received(cmb.EpAutoPayStatus, "")); n != 1 {
		t.Fatalf("AutoPayStatus received %d times; want 1", n)
	}
	b, err := h.db.Binding("沪C88888")
	if err != nil || b.Limit != 5000 || b.Source != store.SourceStatus {
		t.Fatalf("binding = %+v, %v; want limit 5000 from AutoPayStatus", b, err)
	}
	// A plate whose Indata answered (uid 0 or 1) is not asked again.
	if err := h.sim.SetContactlessAnswers(cmbsim.ContactlessFull); err != nil {
		t.Fatal(err)
	}
	h.enter("京A12345")
	h.drain()
	if n := len(h.received(cmb.EpAutoPayStatus, "")); n != 1 {
		t.Errorf("AutoPayStatus received %d times; want still 1 (Indata answered)", n)
	}
	h.advance(time.Hour)
	h.passExit("沪C88888")
	h.drain()
	o := h.sim.Orders()
	if got := h.closed(rec.ID); len(o) != 1 || !o[0].Charged || got.Fees.Paid != o[0].Amount || got.Fees.Due != 0 {
		t.Errorf("fees = %+v, orders %+v; want paid contactless by the one order", got.Fees, o)
	}
	h.checkPlatform()
}

// Item 4: the bank's pay notice for a contactless payment, with an order of
// its own, is the same money: recorded once, whether it comes before or
// after the AutoPay answer, in either mode.
func TestContactlessPayNoticeOwnOrder(t *testing.T) {
	for _, guaranteed := range []bool{true, false} {
		for _, when := range []cmbsim.NoticeTiming{cmbsim.NoticeBefore, cmbsim.NoticeAfter} {
			t.Run(modeName(guaranteed)+"/"+string(when), func(t *testing.T) {
				h := newHarness(t, func(c *Config) { c.Guaranteed = guaranteed })
				if err := h.sim.SetPayNotice(when); err != nil {
					t.Fatal(err)
				}
				rec := h.contactlessHour("沪C88888", 5000)
				h.passExit("沪C88888")
				h.eventually("the bank's pay notice answered", func() bool {
					for _, cb := range h.sim.Sent() {
						if cb.Endpoint == cmb.EpPay && cb.Err == "" && cb.Status == 0 {
							return true
						}
					}
					return false
				})
				h.drain()
				if sum, _, _ := h.db.PaidFor(rec.ID); sum != 500 {
					t.Errorf("PaidFor = %d; want 500 (one payment)", sum)
				}
				if pays, _ := h.db.Payments(rec.ID); len(pays) != 1 || pays[0].BankNotice == "" {
					t.Errorf("payments = %+v; want one, with the notice's order noted", pays)
				}
				h.checkPaid(rec.ID, 500)
				h.checkPlatform()
			})
		}
	}
}

// Item 4: across a restart, while the AutoPay is still on the wire and
// after it succeeded, a notice of the same amount is the same money; a
// second, different notice is new money.
func TestContactlessPayNoticeAcrossRestart(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	h.setFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true})
	h.exit.Arrive("沪C88888")
	h.settle()
	if q, _ := h.db.QueuedAutoPays(rec.ID); len(q) != 1 {
		t.Fatalf("queued AutoPays = %+v; want one", q)
	}
	h.restartSettled() // the waiting lane is gone; the AutoPay is still queued
	h.sim.ClearFaults()
	ctx := context.Background()
	if _, err := h.sim.Pay(ctx, cmbsim.PayNotice{Plate: "沪C88888", RecordID: rec.ID, Amount: 500, Order: "BANK-1"}); err != nil {
		t.Fatalf("notice while the AutoPay is queued = %v", err)
	}
	h.advanceUntilDrained(time.Minute, 20)
	if n := h.sim.RecordCharges(rec.ID); n != 1 {
		t.Fatalf("platform charges = %d; want the AutoPay charged", n)
	}
	h.restartSettled()
	if _, err := h.sim.Pay(ctx, cmbsim.PayNotice{Plate: "沪C88888", RecordID: rec.ID, Amount: 500, Order: "BANK-1"}); err != nil {
		t.Fatalf("repeated notice = %v", err)
	}
	if sum, _, _ := h.db.PaidFor(rec.ID); sum != 500 {
		t.Fatalf("PaidFor = %d; want 500: notice and AutoPay are one payment", sum)
	}
	if _, err := h.sim.Pay(ctx, cmbsim.PayNotice{Plate: "沪C88888", RecordID: rec.ID, Amount: 500, Order: "BANK-2"}); err != nil {
		t.Fatalf("second notice = %v", err)
	}
	if sum, _, _ := h.db.PaidFor(rec.ID); sum != 1000 {
		pays, _ := h.db.Payments(rec.ID)
		t.Errorf("PaidFor = %d (%+v); want 1000: a second notice is money of its own", sum, pays)
	}
}

// Item 5: a binding's post_url is where its plate's AutoPay goes (https
// only); an http one is refused at bind time.
func TestPostURL(t *testing.T) {
	h := newHarness(t)
	post := h.simTLS.URL + cmbsim.PostPath
	if err := h.sim.AddAgreementURL("沪C88888", 5000, post); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.sim.Bind(ctx, cmbsim.BindRequest{Plate: "沪C88888", Limit: 5000, PostURL: post}); err != nil {
		t.Fatalf("bind with an https post_url = %v", err)
	}
	_, err := h.sim.Bind(ctx, cmbsim.BindRequest{Plate: "京A12345", Limit: 5000, PostURL: strings.Replace(post, "https:", "http:", 1)})
	var re *cmb.RejectedError
	if !isAnswer(err, cmb.StatusMalformed) || !asRejected(err, &re) || !strings.Contains(re.Message, "https") {
		t.Fatalf("bind with an http post_url = %v; want status %d naming https", err, cmb.StatusMalformed)
	}
	if _, err := h.db.Binding("京A12345"); err == nil {
		t.Error("the refused bind was kept")
	}
	if !audited(t, h, "bind_refused") {
		t.Error("no bind_refused audit")
	}
	rec := h.enter("沪C88888")
	h.drain()
	h.advance(time.Hour)
	h.passExit("沪C88888")
	h.drain()
	aps := h.received(cmb.EpAutoPay, rec.ID)
	if len(aps) != 1 || aps[0].Path != cmbsim.PostPath {
		t.Fatalf("AutoPay = %+v; want one at %s", aps, cmbsim.PostPath)
	}
	h.checkPaid(rec.ID, 500)
	h.checkPlatform()
}

// Item 6: every bind and unbind audited; a bind that repeats one a later
// unbind undid (same serial_no, or same limit and post_url) is refused.
func TestBindReplayRefused(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	park := strconv.FormatInt(testPark, 10)
	bind := func(plate, limit, serial string) error {
		v := url.Values{"park_code": {park}, "vpl_number": {plate}, "auto_pay_type": {"0"}, "limiter": {limit}}
		if serial != "" {
			v.Set("serial_no", serial)
		}
		_, err := cmb.CallDownlink(ctx, nil, h.laneURL, testAppID, testSecret, cmb.EpAutoPayBind, v)
		return err
	}
	unbind := func(plate string) {
		if _, err := h.sim.Unbind(ctx, plate); err != nil {
			t.Fatal(err)
		}
	}
	if err := bind("沪C88888", "5000", "S1"); err != nil {
		t.Fatal(err)
	}
	unbind("沪C88888")
	if err := bind("沪C88888", "5000", "S1"); !isAnswer(err, cmb.StatusReplayed) {
		t.Errorf("replayed bind S1 = %v; want status %d", err, cmb.StatusReplayed)
	}
	if _, err := h.db.Binding("沪C88888"); err == nil {
		t.Error("a replayed bind was kept")
	}
	if err := bind("沪C88888", "5000", "S2"); err != nil {
		t.Errorf("a new bind (S2) = %v; want status 0", err)
	}
	if err := bind("京A12345", "3000", ""); err != nil {
		t.Fatal(err)
	}
	unbind("京A12345")
	if err := bind("京A12345", "3000", ""); !isAnswer(err, cmb.StatusReplayed) {
		t.Errorf("replayed bind (same limit, no serial) = %v; want status %d", err, cmb.StatusReplayed)
	}
	if err := bind("京A12345", "4000", ""); err != nil {
		t.Errorf("a bind with another limit = %v; want status 0", err)
	}
	ev, err := h.db.RecentAudit(100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range ev {
		count[e.Kind]++
	}
	if count["bind"] != 4 || count["unbind"] != 2 || count["bind_refused"] != 2 {
		t.Errorf("audit = %v; want 4 bind, 2 unbind, 2 bind_refused", count)
	}
}

// Item 4: the AutoPay succeeded and the vehicle left; after a restart the
// bank's notice for it, with an order of its own, is still the same money.
func TestContactlessPayNoticeAfterRestart(t *testing.T) {
	h := newHarness(t)
	rec := h.contactlessHour("沪C88888", 5000)
	h.passExit("沪C88888")
	h.drain()
	h.restartSettled()
	if _, err := h.sim.Pay(context.Background(), cmbsim.PayNotice{Plate: "沪C88888", RecordID: rec.ID, Amount: 500, Order: "BANK-9"}); err != nil {
		t.Fatalf("notice after the restart = %v", err)
	}
	pays, _ := h.db.Payments(rec.ID)
	if len(pays) != 1 || pays[0].Amount != 500 || pays[0].BankNotice != "BANK-9" {
		t.Errorf("payments = %+v; want the AutoPay's one, the notice's order noted", pays)
	}
	h.checkPaid(rec.ID, 500)
}
