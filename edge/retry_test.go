package edge

import (
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// The console's "queue retry": with the platform back, every uplink held
// by its backoff goes at once, without waiting for the clock; RetryNow
// counts what is queued and makes it due in one store transaction.
func TestRetryNowSendsWhatTheBackoffHeld(t *testing.T) {
	h := newHarness(t)
	h.drain()
	if err := h.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range []string{"京A00001", "京A00002", "京A00003"} {
		ids = append(ids, h.enter(p).ID)
	}
	// Wait until the dispatcher tried, failed and holds the queue.
	held := func() bool {
		h.ctl.out.mu.Lock()
		defer h.ctl.out.mu.Unlock()
		return h.clk.Now().Before(h.ctl.out.holdUntil)
	}
	h.advanceUntil("the queue held by a backoff", time.Second, 30, held)
	st, err := h.db.OutboxStats(h.clk.Now())
	if err != nil || st.Count == 0 {
		t.Fatalf("outbox = %+v, %v; want the entries' uplinks queued", st, err)
	}
	h.sim.ClearFaults()
	n, err := h.ctl.RetryNow()
	if err != nil || n != st.Count {
		t.Fatalf("RetryNow = %d, %v; want %d queued", n, err, st.Count)
	}
	at := h.clk.Now()
	h.drain()
	if !h.clk.Now().Equal(at) {
		t.Fatalf("the clock moved from %v to %v", at, h.clk.Now())
	}
	for _, id := range ids {
		answered := 0
		for _, u := range h.received(cmb.EpIndata, id) {
			if u.Outcome == cmbsim.OutcomeAnswered {
				answered++
			}
		}
		if answered != 1 {
			t.Errorf("record %s: %d Indata answered; want 1", id, answered)
		}
	}
}
