package edge

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/hal"
	"laned/store"
)

// Issue 11 item 12: a grace after a payment is explained by a discount
// entry (unit 0) in calc's answer.
func TestCalcExplainsTheGrace(t *testing.T) {
	h := newHarness(t)
	h.enter("京A12345")
	h.advance(2 * time.Hour)
	if res, err := h.sim.PayPlate(context.Background(), "京A12345"); err != nil || res.Amount != 900 {
		t.Fatalf("PayPlate = %+v, %v", res, err)
	}
	h.advance(5 * time.Minute) // 2h05m costs 1100; 900 paid, within the grace
	a, err := h.sim.Calc(context.Background(), nil, "京A12345")
	if err != nil || a.Charge.ShouldPay != 0 || a.Charge.TotalPrice != 1100 || a.Charge.Paid != 900 ||
		len(a.Discount) != 1 || a.Discount[0].Unit != cmb.DiscountAmount || a.Discount[0].Value != 200 {
		t.Errorf("calc within the grace = %+v, %v; want total 1100, paid 900, 0 due, a 200-fen discount", a, err)
	}
}

// Issue 11 item 12: a plate read without a colour is reported without
// plate_color, never as blue.
func TestUnknownPlateColourLeftOut(t *testing.T) {
	h := newHarness(t)
	n := opens(h.entry)
	h.entry.ArriveUnread("京A12345")
	h.entry.Camera.Show("京A12345", hal.ColourUnknown, 95)
	h.eventually("entry barrier up", func() bool { return opens(h.entry) > n })
	h.entry.PassThrough()
	rec, err := h.db.OpenByPlate("京A12345")
	if err != nil {
		t.Fatal(err)
	}
	h.drain()
	in := h.received(cmb.EpIndata, rec.ID)
	if len(in) != 1 {
		t.Fatalf("Indata = %d; want 1", len(in))
	}
	if c, ok := in[0].Params["plate_color"]; ok {
		t.Errorf("Indata plate_color = %q; want it left out for an unknown colour", c)
	}
	// A known colour is still sent.
	rec2 := h.enter("京B22222")
	h.drain()
	if c := h.received(cmb.EpIndata, rec2.ID)[0].Params["plate_color"]; c != "0" {
		t.Errorf("Indata plate_color for a blue plate = %q; want 0", c)
	}
}

// Issue 11 item 12: NoVpln that cannot admit (car park full) answers a
// status that is neither 1 (licensed vehicle) nor 2 (no vehicle).
func TestNoVplnCannotAdmitStatus(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Spaces = Spaces{Total: 1} })
	h.enter("京A12345")
	h.entry.Arrive("")
	h.settle()
	env, _, err := h.sim.NoVpln(context.Background(), "临A0000000000001", 1)
	if !isAnswer(err, cmb.NoVplnCannotAdmit) {
		t.Fatalf("NoVpln into a full car park = %+v, %v; want status %d", env, err, cmb.NoVplnCannotAdmit)
	}
	if _, err := h.db.OpenByPlate("临A0000000000001"); err == nil {
		t.Error("a refused unlicensed vehicle got a record")
	}
}

// Issue 11 item 12: free spaces add up (total = vip + tmp) when VIP cars
// overflow their spaces into the temporary ones, and the other way round.
func TestSpaceCountsAddUp(t *testing.T) {
	tests := []struct {
		cap                     Spaces
		open, openVIP           int
		wantTotal, wantV, wantT int
	}{
		{Spaces{100, 10}, 0, 0, 100, 10, 90},
		{Spaces{100, 10}, 20, 5, 80, 5, 75},
		{Spaces{100, 10}, 20, 15, 80, 0, 80}, // 5 VIP cars in temporary spaces
		{Spaces{100, 10}, 100, 15, 0, 0, 0},
		{Spaces{100, 10}, 95, 0, 5, 5, 0}, // 5 temporary cars in VIP spaces
		{Spaces{100, 10}, 120, 30, 0, 0, 0},
	}
	for _, tt := range tests {
		sc := countSpaces(tt.cap, tt.open, tt.openVIP)
		if sc.TotalEmpty != sc.VIPEmpty+sc.TmpEmpty || sc.TotalEmpty != tt.wantTotal || sc.VIPEmpty != tt.wantV || sc.TmpEmpty != tt.wantT {
			t.Errorf("countSpaces(%+v, open %d, vip %d) = total %d vip %d tmp %d; want %d = %d + %d",
				tt.cap, tt.open, tt.openVIP, sc.TotalEmpty, sc.VIPEmpty, sc.TmpEmpty, tt.wantTotal, tt.wantV, tt.wantT)
		}
	}
	// End to end: a VIP car beyond the VIP spaces; SpaceInfo adds up.
	h := newHarness(t, func(c *Config) { c.Spaces = Spaces{Total: 10, VIP: 1} })
	for _, p := range []string{"京V00001", "京V00002"} {
		if err := h.db.PutVehicle(vipVehicle(p)); err != nil {
			t.Fatal(err)
		}
		h.enter(p)
	}
	h.advance(10 * time.Minute) // past the SpaceInfo gap
	// The SpaceInfo of the change is queued by the space timer, which the
	// advance fires: wait until one that counts both cars has arrived.
	var last map[string]string
	h.eventually("a SpaceInfo counting both cars", func() bool {
		si := h.sim.Received(cmbsimFilter(cmb.EpSpaceInfo))
		if len(si) == 0 {
			return false
		}
		last = si[len(si)-1].Params
		// One sent between the two entries counts one car (9): not yet.
		n, err := strconv.Atoi(last["total_empty"])
		return err != nil || n <= 8
	})
	if last["total_empty"] != "8" || last["vip_empty"] != "0" || last["tmp_empty"] != "8" {
		t.Errorf("SpaceInfo = %v; want total 8 = vip 0 + tmp 8", last)
	}
}

// Issue 11 item 12: calc's "no order" with nothing at the exit answers
// data with an empty plate.
func TestCalcNoOrderAnswersEmptyPlate(t *testing.T) {
	h := newHarness(t)
	one := 1
	a, err := h.sim.Calc(context.Background(), &one, "临A0000000000009")
	if !isAnswer(err, cmb.CalcNoRecord) || a.VplNumber != "" {
		t.Fatalf("calc = %+v, %v; want status 2", a, err)
	}
	sent := h.sim.Sent()
	if d := string(sent[len(sent)-1].Data); !strings.Contains(d, `"vpl_number":""`) {
		t.Errorf("calc data = %s; want data with an empty vpl_number", d)
	}
}

func vipVehicle(plate string) store.Vehicle { return store.Vehicle{Plate: plate, List: store.ListVIP} }

func cmbsimFilter(ep string) cmbsim.Filter { return cmbsim.Filter{Endpoint: ep} }
