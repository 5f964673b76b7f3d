package edge

import (
	"context"
	"fmt"
	"testing"
)

// TestWithdrawnAutoPaysForgotten: the AutoPay orders are one bounded map.
// An order withdrawn undelivered is kept only until the dispatcher's next
// outbox read (no batch read before can still send it), so that a lane
// withdrawing AutoPay after AutoPay for days does not grow it (the old
// cancelled set never shrank). An order a lane still waits for, or one
// sent with an unknown outcome, stays.
func TestWithdrawnAutoPaysForgotten(t *testing.T) {
	h := newHarness(t)
	h.drain()
	d, exit := h.ctl.out, h.ctl.lanes[1]
	size := func() int {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.orders)
	}
	ctx := context.Background()
	const n = 500
	for i := range n {
		order := fmt.Sprintf("R%dP%d", i, i)
		d.awaitAutoPay(order, fmt.Sprintf("R%d", i), exit)
		if cancelled, busy := d.cancelAutoPay(ctx, order); !cancelled || busy {
			t.Fatalf("cancelAutoPay(%s) = %v, %v; want true, false (never queued)", order, cancelled, busy)
		}
		d.forgetAutoPay(order) // as the lane does once withdrawn
	}
	d.awaitAutoPay("WAITING", "RW", exit) // a lane waits for this one
	d.mu.Lock()
	d.order("UNKNOWN").state = orderUnresolved // sent with an unknown outcome
	d.mu.Unlock()
	if got := size(); got != n+2 {
		t.Fatalf("%d orders before the dispatcher's next read; want %d (withdrawn ones kept till then)", got, n+2)
	}
	h.ctl.Kick()
	h.eventually("the withdrawn orders forgotten", func() bool { return size() == 2 })
	if !d.autoPaying("RW") {
		t.Error("autoPaying(RW) = false; want true: a lane still waits for its order")
	}
	d.mu.Lock()
	o := d.orders["UNKNOWN"]
	d.mu.Unlock()
	if o == nil || o.state != orderUnresolved {
		t.Errorf("the unresolved order = %+v; want kept, unresolved (never withdrawn)", o)
	}
}
