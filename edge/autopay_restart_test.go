package edge

import (
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/hal/sim"
)

// A contactless exit whose AutoPay is queued (and charged at the bank)
// when the controller restarts, the vehicle still at the barrier: the new
// process waits for that AutoPay — sent again with its request_order and
// answered idempotently — instead of queuing a second one, which the bank
// would charge again. The same holds for a vehicle that backed off while
// its AutoPay was under way and came back.
func TestQueuedAutoPayAwaitedNotRepeated(t *testing.T) {
	for _, tc := range []struct {
		name    string
		restart bool
	}{
		{"restart with the vehicle at the exit", true},
		{"vehicle backed off and came back", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.contactlessHour("沪C88888", 5000)
			h.setFault(cmb.EpAutoPay, cmbsim.Fault{Hold: true}) // charged, the answer held
			before := opens(h.exit)
			h.exit.Arrive("沪C88888")
			h.eventually("the AutoPay charged at the platform", func() bool { return h.sim.RecordCharges(rec.ID) == 1 })
			if tc.restart {
				h.stop()
				h.sim.ClearFaults()
				h.sim.ReleaseHeld() // to a process that is gone
				before = 0
				h.start(func(_, exit *sim.Lane) { exit.Arrive("沪C88888") })
			} else {
				h.exit.Back()
				h.advance(DefaultDedupeWindow + time.Second) // it comes back a while later
				h.sim.ClearFaults()
				h.exit.Arrive("沪C88888")
				h.sim.ReleaseHeld()
			}
			h.advanceUntil("released on the AutoPay's answer", 5*time.Second, 60, func() bool { return opens(h.exit) > before })
			h.leaveExit(before)
			h.drain()
			if orders := h.sim.Orders(); len(orders) != 1 {
				t.Fatalf("platform AutoPay orders = %+v; want one", orders)
			}
			if n := h.sim.RecordCharges(rec.ID); n != 1 {
				t.Errorf("platform charges for the stay = %d; want 1", n)
			}
			h.checkPaid(rec.ID, 500)
			h.checkPlatform()
		})
	}
}
