package edge

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/store"
)

// The platform is unreachable for a simulated day while 1,000 vehicles
// come and go (and contactless ones are released in guaranteed mode); when
// it is back every uplink is delivered, in order per record, and every
// AutoPay is charged exactly once.
func TestPlatformDownForADay(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 vehicles: not in -short")
	}
	h := newHarness(t, func(c *Config) { c.Guaranteed = true; c.OfflineRelease = true; c.Spaces = Spaces{Total: 2000} })
	ctx := context.Background()
	const contactless = 20
	for i := range contactless {
		plate := fmt.Sprintf("沪K%05d", i)
		if err := h.sim.AddAgreement(plate, 10000); err != nil {
			t.Fatal(err)
		}
		if _, err := h.sim.Bind(ctx, cmbsim.BindRequest{Plate: plate, Limit: 10000}); err != nil {
			t.Fatal(err)
		}
	}
	h.drain()
	if err := h.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}

	// Round 0: the contactless cars stay under an hour and owe 5 yuan each,
	// released owing once the AutoPay wait ran out (offline_release). Then 19 rounds of 52 temporary cars
	// staying 10 minutes (free): 1,008 vehicles over 24 h.
	const rounds, perRound = 20, 52
	var ids []string
	for r := range rounds {
		var plates []string
		stay := 10 * time.Minute
		if r == 0 {
			stay = 45 * time.Minute // each waits out the AutoPay wait: all leave within the first hour
			for i := range contactless {
				plates = append(plates, fmt.Sprintf("沪K%05d", i))
			}
		} else {
			for i := range perRound {
				plates = append(plates, fmt.Sprintf("京D%05d", r*perRound+i))
			}
		}
		for _, p := range plates {
			ids = append(ids, h.enter(p).ID)
		}
		h.advance(stay)
		for _, p := range plates {
			before := opens(h.exit)
			h.exit.Arrive(p)
			if r == 0 {
				h.advanceUntil("released owing", 5*time.Second, 10, func() bool { return opens(h.exit) > before })
			}
			h.leaveExit(before)
		}
		h.advance(72*time.Minute - stay)
	}
	if len(ids) < 1000 {
		t.Fatalf("only %d vehicles", len(ids))
	}
	if st, _ := h.db.OutboxStats(h.clk.Now()); st.Count < 2*len(ids) {
		t.Fatalf("outbox holds %d messages after a day offline; want ≥ %d", st.Count, 2*len(ids))
	}
	if got := len(h.received(cmb.EpOutdata, "")); got != 0 {
		t.Fatalf("platform got %d Outdata while down", got)
	}

	h.sim.ClearFaults()
	h.advance(10 * time.Minute) // past the longest backoff
	h.drain()

	for _, id := range ids {
		if in, out := h.received(cmb.EpIndata, id), h.received(cmb.EpOutdata, id); len(in) == 0 || len(out) == 0 {
			t.Fatalf("record %s: %d Indata, %d Outdata delivered; want both", id, len(in), len(out))
		}
		h.closed(id)
	}
	orders := h.sim.Orders()
	if len(orders) != contactless {
		t.Fatalf("platform has %d AutoPay orders; want %d", len(orders), contactless)
	}
	for _, o := range orders {
		if n := h.sim.ChargedCount(o.RequestOrder); n != 1 || o.Amount != 500 {
			t.Errorf("order %+v charged %d times; want 500 fen once", o, n)
		}
	}
	for _, id := range ids[:contactless] {
		if got := h.closed(id); got.Fees.Paid != 500 || got.Fees.Due != 0 || got.AwaitOrder != "" {
			t.Errorf("record %s released owing: %+v, awaiting %q after the platform came back; want 500 paid, nothing owed", id, got.Fees, got.AwaitOrder)
		}
	}
	h.checkPlatform()
}

// A property: whatever vehicles and pedestrians do, the barrier is never
// commanded down on an occupied safety loop, and a vehicle under a
// closing arm re-opens it (the sim barrier reports either as a fault,
// which the harness turns into a test failure).
func TestSafetyProperty(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := newHarness(t)
			if err := h.db.PutVehicle(store.Vehicle{Plate: "京B00000", List: store.ListBlack}); err != nil {
				t.Fatal(err)
			}
			rnd := rand.New(rand.NewPCG(seed, 99))
			plates := []string{"京A00001", "京A00002", "京B00000", "京A00003", ""}
			l := h.entry
			for range 150 {
				switch rnd.IntN(8) {
				case 0, 1:
					if !l.Arming.Occupied() {
						l.Arrive(plates[rnd.IntN(len(plates))])
					}
				case 2:
					l.PassThrough()
				case 3:
					l.Enter()
				case 4:
					l.Leave()
				case 5:
					l.Back()
				case 6:
					l.Safety.Set(!l.Safety.Occupied()) // a pedestrian, a trolley
				case 7:
					if rnd.IntN(3) == 0 {
						_ = h.ctl.ManualClose(context.Background(), "entry1", "test", "random close")
					}
				}
				h.advance(time.Duration(rnd.IntN(3000)) * time.Millisecond)
			}
			l.Safety.Set(false)
			h.advance(5 * time.Second)
		})
	}
}
