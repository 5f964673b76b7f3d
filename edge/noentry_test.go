package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/store"
)

// The no-entry rules of a site's box (noentry.go): exits whose entry is
// another box's record not visible here, matched when it arrives, settled
// alone past the hold limit; anti-passback on this box's records only.

const noEntryFee = 1000 // fen

func siteBox(c *Config) {
	c.Site = SiteRules{Enabled: true, Box: "b", NoEntryFee: noEntryFee}
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
		{"20250301084512001000000042", ""},          // one box: digits only
		{"20250301084512a001000000042", "a"},        // site box a
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
			h := newHarness(t, siteBox)
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
