package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/store"
	"laned/store/storetest"
)

// The no-entry rules of a site's box (noentry.go): exits whose entry is
// another box's record not visible here, matched when it arrives, settled
// alone past the hold limit; anti-passback on this box's records only.

const noEntryFee = 1000 // fen

func siteBox(c *Config) {
	c.Site = SiteRules{Enabled: true, Box: "b", NoEntryFee: noEntryFee}
}

// newSiteHarness is the harness of box b of a site.
func newSiteHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, harnessSetup{box: "b"}, siteBox)
}

// otherEntry is the record another box ("a") opened for plate at in,
// as its replication brings it: stored here, its Indata sent by box a.
func (h *harness) otherEntry(plate string, in time.Time, seq int) store.Record {
	h.t.Helper()
	rec := store.Record{
		ID: in.UTC().Format("20060102150405") + "a" + "003" + strings.Repeat("0", 8) + string(rune('0'+seq)), Plate: plate,
		PlateColor: int(cmb.ColourBlue), CarType: int(cmb.CarSmall), PowerType: int(cmb.PowerNormal),
		InCode: 3, InTime: in, State: store.StateInside,
	}
	if err := h.db.ImportOpen([]store.Record{rec}); err != nil {
		h.t.Fatal(err)
	}
	msgs, err := h.ctl.indata(rec)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.client.Send(context.Background(), cmb.EpIndata, params(msgs[0].Params)); err != nil {
		h.t.Fatalf("box a's Indata: %v", err)
	}
	return rec
}

// noEntryRecord is the pending no-entry record of plate.
func (h *harness) noEntryRecord(plate string) store.Record {
	h.t.Helper()
	pend, err := h.db.PendingNoEntries(plate)
	if err != nil || len(pend) != 1 {
		h.t.Fatalf("PendingNoEntries(%s) = %+v, %v; want one", plate, pend, err)
	}
	return pend[0]
}

// sent counts the uplinks of ep the platform received for record id.
func (h *harness) sent(ep, id string) int { return len(h.received(ep, id)) }

func TestRecordBox(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"20250301084512001000000042", ""},   // one box: digits only
		{"20250301084512a001000000042", "a"}, // site box a
		{"20250301084512gate12001000000042", "gate12"},
		{"2025030108451", ""},
		{"20250301084512A001000000042", ""},
	} {
		if got := recordBox(tc.id); got != tc.want {
			t.Errorf("recordBox(%q) = %q; want %q", tc.id, got, tc.want)
		}
	}
	r := SiteRules{Enabled: true, Box: "b"}
	if !r.otherBox("20250301084512a001000000042") || r.otherBox("20250301084512b001000000042") {
		t.Error("otherBox: a's record is another box's, b's is not")
	}
	if (SiteRules{}).otherBox("20250301084512a001000000042") {
		t.Error("otherBox outside a site: every record is this box's")
	}
}

// An exit without a visible record, by the three rules; nothing sent.
func TestNoEntryExitDecidesAlone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prep  func(h *harness, plate string)
		scan  bool // pays the no-entry fee by scanning
		held  bool
		items []int // pay_types of the no-entry record
	}{
		{"vip", func(h *harness, plate string) {
			if err := h.db.PutVehicle(store.Vehicle{Plate: plate, List: store.ListMonthly}); err != nil {
				t.Fatal(err)
			}
		}, false, false, []int{int(cmb.PayAuthorisedFree)}},
		{"contactless", func(h *harness, plate string) {
			if err := h.db.Bind(store.Binding{Plate: plate, Limit: 5000, Source: store.SourceBind, Updated: h.clk.Now()}); err != nil {
				t.Fatal(err)
			}
		}, false, true, nil},
		{"scan", func(*harness, string) {}, true, false, []int{int(cmb.PayCMB)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSiteHarness(t)
			plate := "粤B1234" + string(rune('5'+len(tc.name)%3))
			tc.prep(h, plate)
			before := opens(h.exit)
			if tc.scan {
				st := h.arriveExit(plate)
				if st.State != vWaitPay.String() || opens(h.exit) != before {
					t.Fatalf("exit lane = %+v; want waiting for the no-entry fee", st)
				}
				h.scanPayAndLeave(noEntryFee)
			} else {
				h.passExit(plate)
			}
			ne := h.noEntryRecord(plate)
			if ne.State != store.StateClosed || ne.NoEntry.Held != tc.held || ne.OutCode != 1 || !ne.InTime.Equal(ne.OutTime) {
				t.Errorf("no-entry record = %+v (%+v); want closed at exit 1, held %v", ne, ne.NoEntry, tc.held)
			}
			var pts []int
			for _, it := range ne.Items {
				pts = append(pts, it.PayType)
			}
			if len(pts) != len(tc.items) || (len(pts) > 0 && pts[0] != tc.items[0]) {
				t.Errorf("items = %+v; want pay_types %v", ne.Items, tc.items)
			}
			h.drain()
			for _, ep := range []string{cmb.EpIndata, cmb.EpOutdata, cmb.EpAutoPay} {
				if n := h.sent(ep, ne.ID); n != 0 {
					t.Errorf("%s of the no-entry record sent %d times; want none while it waits", ep, n)
				}
			}
			h.checkPlatform()
		})
	}
}

// One box, no [site]: an exit without a record still waits for a guard.
func TestNoEntryOutsideSiteWaits(t *testing.T) {
	h := newHarness(t)
	before := opens(h.exit)
	if st := h.arriveExit("粤B99999"); st.State != vUnknown.String() || opens(h.exit) != before {
		t.Fatalf("exit lane = %+v; want unknown, barrier down", st)
	}
	if pend, err := h.db.PendingNoEntries(""); err != nil || len(pend) != 0 {
		t.Errorf("PendingNoEntries = %+v, %v; want none", pend, err)
	}
}

// matchOnce matches the entry ids and expects want matches, then none on
// a repeat (the SiteApplied hook called twice).
func (h *harness) matchOnce(ids []string, want int) {
	h.t.Helper()
	if n := h.ctl.MatchEntries(ids); n != want {
		h.t.Fatalf("MatchEntries(%v) = %d; want %d", ids, n, want)
	}
	if n := h.ctl.MatchEntries(ids); n != 0 {
		h.t.Fatalf("MatchEntries(%v) again = %d; want 0", ids, n)
	}
}

// The entry arrives after the exit: the real record is closed with the
// exit's data, priced for the real stay, with the exit's payments; one
// Outdata (after the held AutoPay's outcome for a contactless exit); an
// overcharge in the day's report. Nothing twice, across a restart too.
func TestNoEntryMatched(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stay      time.Duration // entry before the exit
		prep      func(h *harness, plate string)
		scan      bool
		due, paid int64 // the real record's total and paid
		items     []int // its pay_types
		over      int64 // overcharge listed
	}{
		{"scan, overcharged", time.Hour, func(*harness, string) {}, true, 500, noEntryFee, []int{int(cmb.PayCMB)}, noEntryFee - 500},
		{"scan, underpaid waived", 5 * time.Hour, func(*harness, string) {}, true, 2100, noEntryFee, []int{int(cmb.PayCMB)}, 0},
		{"contactless held", 2 * time.Hour, func(h *harness, plate string) {
			if err := h.sim.AddAgreement(plate, 5000); err != nil {
				t.Fatal(err)
			}
			if err := h.db.Bind(store.Binding{Plate: plate, Limit: 5000, Source: store.SourceBind, Updated: h.clk.Now()}); err != nil {
				t.Fatal(err)
			}
		}, false, 900, 900, []int{int(cmb.PayCMB)}, 0},
		{"monthly", 3 * time.Hour, func(h *harness, plate string) {
			if err := h.db.PutVehicle(store.Vehicle{Plate: plate, List: store.ListMonthly}); err != nil {
				t.Fatal(err)
			}
		}, false, 0, 0, []int{int(cmb.PayAuthorisedFree)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSiteHarness(t)
			plate := "粤B54321"
			tc.prep(h, plate)
			exitAt := h.clk.Now()
			if tc.scan {
				h.arriveExit(plate)
				h.scanPayAndLeave(noEntryFee)
			} else {
				h.passExit(plate)
			}
			ne := h.noEntryRecord(plate)
			h.drain()

			late := h.otherEntry("粤B54320", exitAt.Add(time.Minute), 1) // another plate: not its entry
			after := h.otherEntry(plate, exitAt.Add(time.Second), 2)    // entered after the exit: not its entry
			h.matchOnce([]string{late.ID, after.ID}, 0)
			// The plate's real entry replaces the one after the exit (in
			// the store, the newer keeps the plate; here: closed by hand).
			if _, err := h.db.CloseRecord(after.ID, store.Exit{OutCode: 3, OutTime: exitAt.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			real := h.otherEntry(plate, exitAt.Add(-tc.stay), 3)
			h.matchOnce([]string{real.ID}, 1)
			h.drain()
			h.restartSettled()
			if n := h.ctl.MatchEntries([]string{real.ID}); n != 0 {
				t.Errorf("MatchEntries after a restart = %d; want 0", n)
			}
			h.ctl.settleNoEntries(h.clk.Now().Add(48 * time.Hour)) // the upkeep, past the hold: nothing more
			h.drain()

			got := h.closed(real.ID)
			if got.OutCode != 1 || !got.OutTime.Equal(exitAt) || got.Fees.Total != tc.due || got.Fees.Paid != tc.paid || got.Fees.Due != 0 || got.AwaitOrder != "" {
				t.Errorf("real record = %+v; want closed at exit 1 at %s, %d due, %d paid", got, exitAt, tc.due, tc.paid)
			}
			var pts []int
			for _, it := range got.Items {
				pts = append(pts, it.PayType)
			}
			if len(pts) != len(tc.items) || (len(pts) > 0 && pts[0] != tc.items[0]) {
				t.Errorf("real record's items = %+v; want pay_types %v", got.Items, tc.items)
			}
			if n := h.sent(cmb.EpOutdata, real.ID); n != 1 {
				t.Errorf("Outdata of the real record sent %d times; want 1", n)
			}
			for _, ep := range []string{cmb.EpIndata, cmb.EpOutdata, cmb.EpAutoPay} {
				if n := h.sent(ep, ne.ID); n != 0 {
					t.Errorf("%s of the no-entry record sent %d times; want none", ep, n)
				}
			}
			order := noEntryOrder(ne.ID)
			if wantCharged := tc.name == "contactless held"; (h.sim.ChargedCount(order) == 1) != wantCharged {
				t.Errorf("ChargedCount(%s) = %d; want charged: %v", order, h.sim.ChargedCount(order), wantCharged)
			}
			if n := len(h.received(cmb.EpAutoPay, real.ID)); n > 1 {
				t.Errorf("AutoPay sent %d times", n)
			}
			mark := h.closed(ne.ID).NoEntry
			if mark.Matched != real.ID || mark.Overcharge != tc.over || mark.Pending() {
				t.Errorf("no-entry mark = %+v; want matched to %s, overcharge %d", mark, real.ID, tc.over)
			}
			h.checkPlatform()

			r, err := h.ctl.DayReport("", nil)
			if err != nil {
				t.Fatal(err)
			}
			var listed int64
			for _, l := range r.Lines {
				if l.Section == secNoEntry && strings.Contains(l.Item, "refund by hand") && strings.Contains(l.Item, real.ID) {
					listed += l.Fen
				}
			}
			if listed != tc.over {
				t.Errorf("report lists %d fen to refund; want %d (lines %+v)", listed, tc.over, r.Lines)
			}
			if !r.AddsUp() {
				t.Errorf("report does not add up: %+v", r)
			}
		})
	}
}

// Past NoEntryHold a no-entry exit is settled alone by the upkeep: its own
// Indata and Outdata (a held contactless one with the AutoPay of the
// no-entry fee), each once; a late entry is then not matched.
func TestNoEntryHoldLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		prep  func(h *harness, plate string)
		scan  bool
		paid  int64
		order bool // the no-entry fee charged contactless
	}{
		{"contactless", func(h *harness, plate string) {
			if err := h.sim.AddAgreement(plate, 5000); err != nil {
				t.Fatal(err)
			}
			if err := h.db.Bind(store.Binding{Plate: plate, Limit: 5000, Source: store.SourceBind, Updated: h.clk.Now()}); err != nil {
				t.Fatal(err)
			}
		}, false, noEntryFee, true},
		{"scan", func(*harness, string) {}, true, noEntryFee, false},
		{"monthly", func(h *harness, plate string) {
			if err := h.db.PutVehicle(store.Vehicle{Plate: plate, List: store.ListVIP}); err != nil {
				t.Fatal(err)
			}
		}, false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSiteHarness(t)
			plate := "粤B67890"
			tc.prep(h, plate)
			if tc.scan {
				h.arriveExit(plate)
				h.scanPayAndLeave(noEntryFee)
			} else {
				h.passExit(plate)
			}
			ne := h.noEntryRecord(plate)
			h.drain()
			h.advance(23 * time.Hour) // the upkeep runs: within the hold, nothing
			h.drain()
			if h.sent(cmb.EpIndata, ne.ID) != 0 || len(h.sim.Orders()) != 0 {
				t.Fatalf("within the hold: Indata %d, orders %+v; want nothing sent", h.sent(cmb.EpIndata, ne.ID), h.sim.Orders())
			}
			h.advance(2 * time.Hour)
			h.eventually("no-entry record settled alone", func() bool {
				r, err := h.db.RecordByID(ne.ID)
				return err == nil && !r.NoEntry.Settled.IsZero()
			})
			h.drain()
			h.eventually("Outdata of the no-entry record", func() bool {
				h.ctl.kick()
				return h.sent(cmb.EpOutdata, ne.ID) > 0
			})
			h.drain()
			late := h.otherEntry(plate, ne.OutTime.Add(-time.Hour), 1)
			if n := h.ctl.MatchEntries([]string{late.ID}); n != 0 {
				t.Errorf("MatchEntries after the hold = %d; want 0", n)
			}
			h.ctl.settleNoEntries(h.clk.Now().Add(24 * time.Hour))
			h.drain()
			if a, b := h.sent(cmb.EpIndata, ne.ID), h.sent(cmb.EpOutdata, ne.ID); a != 1 || b != 1 {
				t.Errorf("Indata sent %d, Outdata %d times; want each once", a, b)
			}
			got := h.closed(ne.ID)
			if got.Fees.Paid != tc.paid || got.Fees.Due != 0 || got.AwaitOrder != "" {
				t.Errorf("no-entry record = %+v; want %d paid, nothing owed", got, tc.paid)
			}
			if c := h.sim.ChargedCount(noEntryOrder(ne.ID)); (c == 1) != tc.order || c > 1 {
				t.Errorf("ChargedCount = %d; want charged once: %v", c, tc.order)
			}
			if r, err := h.db.RecordByID(late.ID); err != nil || r.State != store.StateInside {
				t.Errorf("late entry = %+v, %v; want left inside", r, err)
			}
			h.checkPlatform()
		})
	}
}

// Anti-passback (replace_stale off) refuses an entry for this box's own
// open record only: another box's is closed as stale and the entry
// admitted.
func TestNoEntryAntiPassbackOtherBox(t *testing.T) {
	noReplace := func(c *Config) { c.ReplaceStale = false }
	for _, tc := range []struct {
		name  string
		opts  []harnessOpt
		box0  string // this box's, in the store ("": no site)
		box   string // the box in the open record's id
		admit bool
	}{
		{"site, another box's record", []harnessOpt{siteBox, noReplace}, "b", "a", true},
		{"site, this box's record", []harnessOpt{siteBox, noReplace}, "b", "b", false},
		{"one box", []harnessOpt{noReplace}, "", "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessWith(t, harnessSetup{box: tc.box0}, tc.opts...)
			plate := "粤B24680"
			in := h.clk.Now().Add(-time.Hour)
			old := store.Record{ID: in.UTC().Format("20060102150405") + tc.box + "003000000001", Plate: plate, InCode: 3, InTime: in, State: store.StateInside}
			if err := h.db.ImportOpen([]store.Record{old}); err != nil {
				t.Fatal(err)
			}
			before := opens(h.entry)
			h.entry.Arrive(plate)
			h.settle()
			if got := opens(h.entry) > before; got != tc.admit {
				t.Fatalf("entry barrier up = %v; want %v (lane %+v)", got, tc.admit, h.laneStatus(h.entry))
			}
			cur, err := h.db.OpenByPlate(plate)
			if err != nil {
				t.Fatal(err)
			}
			if tc.admit {
				if cur.ID == old.ID || h.closed(old.ID).State != store.StateClosed {
					t.Errorf("open record = %s; want a new one, %s closed as stale", cur.ID, old.ID)
				}
			} else if cur.ID != old.ID {
				t.Errorf("open record = %s; want %s kept (refused)", cur.ID, old.ID)
			}
		})
	}
}

// A driver asked for the no-entry fee backs off and enters again: the
// no-entry record is closed as stale without an Outdata (it was never
// announced) and still settled once at the hold limit.
func TestNoEntryBackedOffThenEntered(t *testing.T) {
	h := newSiteHarness(t)
	plate := "粤B13579"
	if st := h.arriveExit(plate); st.State != vWaitPay.String() {
		t.Fatalf("exit lane = %+v; want waiting for the no-entry fee", st)
	}
	h.exit.Back()
	h.settle()
	ne, err := h.db.OpenByPlate(plate)
	if err != nil || ne.NoEntry == nil {
		t.Fatalf("OpenByPlate = %+v, %v; want the no-entry record", ne, err)
	}
	h.advance(time.Hour)
	rec := h.enter(plate)
	if rec.ID == ne.ID {
		t.Fatalf("entry kept the no-entry record %s open", ne.ID)
	}
	h.closed(ne.ID)
	h.drain()
	if n := h.sent(cmb.EpOutdata, ne.ID); n != 0 {
		t.Errorf("Outdata of the no-entry record sent %d times at the entry; want none", n)
	}
	h.advance(24 * time.Hour)
	h.eventually("no-entry record settled alone", func() bool {
		r, err := h.db.RecordByID(ne.ID)
		return err == nil && !r.NoEntry.Settled.IsZero()
	})
	h.drain()
	if a, b := h.sent(cmb.EpIndata, ne.ID), h.sent(cmb.EpOutdata, ne.ID); a != 1 || b != 1 {
		t.Errorf("Indata sent %d, Outdata %d times; want each once", a, b)
	}
	h.checkPlatform()
}

func TestSiteRulesValidate(t *testing.T) {
	base := Config{ParkCode: testPark, Spaces: Spaces{Total: 10}, Retention: DefaultRetention, TollCollector: "x", SendTimeout: DefaultSendTimeout}
	for _, tc := range []struct {
		site SiteRules
		bad  string
	}{
		{SiteRules{Enabled: true, Box: "a", NoEntryFee: 4000, NoEntryHold: 48 * time.Hour}, ""},
		{SiteRules{Enabled: true, Box: "a"}, ""},
		{SiteRules{NoEntryFee: -1}, "Site.NoEntryFee"},
		{SiteRules{NoEntryFee: MaxNoEntryFee + 1}, "Site.NoEntryFee"},
		{SiteRules{NoEntryHold: time.Minute}, "Site.NoEntryHold"},
		{SiteRules{NoEntryHold: 31 * 24 * time.Hour}, "Site.NoEntryHold"},
	} {
		c := base
		c.Site = tc.site
		err := c.Validate()
		if got := err != nil && strings.Contains(err.Error(), tc.bad); tc.bad != "" && !got || tc.bad == "" && err != nil {
			t.Errorf("Validate(%+v) = %v; want a problem with %q", tc.site, err, tc.bad)
		}
	}
}

// A contactless vehicle let out without a visible entry that comes back
// to the exit at once (it never passed) is left to a guard: a second
// no-entry exit would charge it twice.
func TestNoEntryBackAtOnce(t *testing.T) {
	h := newSiteHarness(t)
	plate := "粤B11223"
	if err := h.db.Bind(store.Binding{Plate: plate, Limit: 5000, Source: store.SourceBind, Updated: h.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	h.passExit(plate)
	h.advance(20 * time.Second) // past the dedupe window
	before := opens(h.exit)
	if st := h.arriveExit(plate); st.State != vUnknown.String() || opens(h.exit) != before {
		t.Fatalf("exit lane = %+v; want left to a guard", st)
	}
	if pend, err := h.db.PendingNoEntries(plate); err != nil || len(pend) != 1 {
		t.Errorf("PendingNoEntries = %d records, %v; want 1", len(pend), err)
	}
}

// The whole way in a site: box b's exit decides alone; box a's entry
// arrives through the replication log (store.ApplyRepl, as the site's
// consumer applies it) and SiteApplied matches the records it changed.
func TestNoEntryMatchedFromReplication(t *testing.T) {
	h := newHarnessWith(t, harnessSetup{box: "b"}, siteBox)
	a, _ := storetest.Open(t, store.Options{Now: h.clk.Now, Box: "a"})
	plate := "粤B97531"
	exitAt := h.clk.Now()
	h.arriveExit(plate)
	h.scanPayAndLeave(noEntryFee)
	ne := h.noEntryRecord(plate)
	if recordBox(ne.ID) != "b" {
		t.Errorf("no-entry record id %s; want box b's", ne.ID)
	}

	in := exitAt.Add(-3 * time.Hour)
	real, err := a.OpenRecord(store.Record{ID: a.NewRecordID(in, 3), Plate: plate, PlateColor: int(cmb.ColourBlue), CarType: int(cmb.CarSmall), PowerType: int(cmb.PowerNormal), InCode: 3, InTime: in})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := h.ctl.indata(real)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.Send(context.Background(), cmb.EpIndata, params(msgs[0].Params)); err != nil {
		t.Fatalf("box a's Indata: %v", err)
	}
	es, err := a.ReplOwn(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // delivered twice: applied once, matched once
		res, err := h.db.ApplyRepl("a", es)
		if err != nil {
			t.Fatal(err)
		}
		h.ctl.SiteApplied(res.Records, res.Paid) // the site's OnApplied hook
	}
	h.drain()
	got := h.closed(real.ID)
	if got.OutCode != 1 || !got.OutTime.Equal(exitAt) || got.Fees.Total != 1300 || got.Fees.Paid != noEntryFee || got.Fees.Discount != 300 {
		t.Errorf("real record = %+v; want closed at exit 1, 1300 due, 1000 paid, 300 waived", got)
	}
	if n := h.sent(cmb.EpOutdata, real.ID); n != 1 {
		t.Errorf("Outdata of the real record sent %d times; want 1", n)
	}
	if n := h.sent(cmb.EpOutdata, ne.ID) + h.sent(cmb.EpIndata, ne.ID); n != 0 {
		t.Errorf("uplinks of the no-entry record: %d; want none", n)
	}
	h.checkPlatform()
}

// A guard opens for a vehicle asked the no-entry fee: the no-entry record
// closes with the manual opening (pay_type 8), sends nothing, and its
// entry's record carries the opening when matched.
func TestNoEntryGuardOpens(t *testing.T) {
	h := newSiteHarness(t)
	plate := "粤B86420"
	exitAt := h.clk.Now()
	if st := h.arriveExit(plate); st.State != vWaitPay.String() {
		t.Fatalf("exit lane = %+v; want waiting for the no-entry fee", st)
	}
	before := opens(h.exit)
	if err := h.ctl.ManualOpen(context.Background(), "exit1", "guard", "driver has no phone"); err != nil {
		t.Fatal(err)
	}
	h.leaveExit(before)
	ne := h.closed(h.noEntryRecord(plate).ID)
	if len(ne.Items) != 1 || ne.Items[0].PayType != int(cmb.PayManualFree) || ne.Items[0].ShouldPay != noEntryFee {
		t.Errorf("no-entry items = %+v; want the manual opening of the no-entry fee", ne.Items)
	}
	h.drain()
	if n := h.sent(cmb.EpOutdata, ne.ID); n != 0 {
		t.Errorf("Outdata of the no-entry record sent %d times; want none", n)
	}
	real := h.otherEntry(plate, exitAt.Add(-time.Hour), 1)
	h.matchOnce([]string{real.ID}, 1)
	h.drain()
	got := h.closed(real.ID)
	var manual bool
	for _, it := range got.Items {
		manual = manual || it.PayType == int(cmb.PayManualFree) && it.ShouldPay == 500
	}
	if !manual || got.Fees.Paid != 0 || got.Fees.Total != 500 || got.Fees.Discount != 500 {
		t.Errorf("real record = %+v; want 500 due, waived, with the guard's opening", got)
	}
	if n := h.sent(cmb.EpOutdata, real.ID); n != 1 {
		t.Errorf("Outdata of the real record sent %d times; want 1", n)
	}
	h.checkPlatform()
}
