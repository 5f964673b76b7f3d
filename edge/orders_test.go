package edge

import (
	"context"
	"fmt"
	"testing"

	"laned/store"
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

// TestWithdrawnOrderKeptThroughItsBatch: a withdrawn order is kept while
// a batch the dispatcher read before the withdrawal may still hold it, so
// that the batch drops it instead of sending it, and forgotten at the read
// after.
func TestWithdrawnOrderKeptThroughItsBatch(t *testing.T) {
	h := newHarness(t)
	d := newDispatcher(h.db, nil, h.clk, h.ctl.log, dispatchRules{}, nil, h.ctl) // not running: the test reads for it
	ctx := context.Background()
	d.nextPass() // a batch is read: it may hold the order
	d.awaitAutoPay("R1P1", "R1", h.ctl.lanes[1])
	if cancelled, _ := d.cancelAutoPay(ctx, "R1P1"); !cancelled {
		t.Fatal("cancelAutoPay = false; want true")
	}
	d.forgetAutoPay("R1P1")
	if got := d.onWire(store.Message{Kind: store.KindAutoPay, RequestOrder: "R1P1"}); got != orderCancelled {
		t.Errorf("the batch read before the withdrawal sees the order %v; want cancelled (dropped, not sent)", got)
	}
	d.nextPass() // that batch is done
	d.mu.Lock()
	n := len(d.orders)
	d.mu.Unlock()
	if n != 0 {
		t.Errorf("%d orders after the next read; want 0", n)
	}
}
