package edge

import (
	"fmt"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/store"
)

// Item 5: connections dropped mid-outage (outcome unknown) pause the queue
// like a refused one, and a message held behind its record's older one
// never makes the dispatcher sleep through due work. The platform comes
// back while no vehicle moves and nothing kicks the dispatcher: everything
// is delivered once simulated time passes the backoff bound, in order per
// record.
func TestOutboxWakesAfterDroppedConnections(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.SpaceInfoPeriod = 48 * time.Hour // no periodic wake-up
		c.SpaceInfoMinGap = time.Second
	})
	h.drain()
	h.setFault(cmbsim.AllEndpoints, cmbsim.Fault{Cut: true})
	var ids []string
	for i := range 5 {
		ids = append(ids, h.enter(fmt.Sprintf("京E%05d", i)).ID)
		h.advance(3 * time.Second)
	}
	h.advance(5 * time.Minute) // free stays
	h.passExit("京E00000")
	h.advance(2 * time.Second)
	h.eventually("an attempt after the last exit", func() bool { return h.dispatcherIdle() })
	st, err := h.db.OutboxStats(h.clk.Now())
	if err != nil || st.ByKind[cmb.EpIndata] == 0 || st.ByKind[cmb.EpOutdata] != 1 {
		t.Fatalf("outbox during the outage = %+v, %v; want Indata and the Outdata queued", st, err)
	}
	cut := len(h.sim.Received(cmbsim.Filter{}))

	// Back. Nothing kicks the dispatcher from here on: only its timer.
	h.sim.ClearFaults()
	h.settle()
	h.clk.Advance(h.ctl.cfg.RetryCap + time.Second) // the backoff bound
	h.eventually("the outbox drained with no kick", func() bool {
		st, err := h.db.OutboxStats(h.clk.Now())
		return err == nil && st.Count == 0
	})
	for _, id := range ids {
		if len(accepted(h.received(cmb.EpIndata, id))) == 0 {
			t.Errorf("record %s: no Indata accepted", id)
		}
	}
	if got := accepted(h.received(cmb.EpOutdata, ids[0])); len(got) != 1 {
		t.Errorf("record %s: %d Outdata accepted; want 1", ids[0], len(got))
	}
	if n := len(h.sim.Received(cmbsim.Filter{})); n <= cut {
		t.Errorf("platform received %d uplinks after it came back; want some", n-cut)
	}
	if r, err := h.db.RecordByID(ids[0]); err != nil || r.State != store.StateClosed {
		t.Errorf("record %s = %+v, %v; want closed", ids[0], r, err)
	}
	h.checkPlatform()
}

func accepted(us []cmbsim.Uplink) []cmbsim.Uplink {
	var out []cmbsim.Uplink
	for _, u := range us {
		if u.Accepted() {
			out = append(out, u)
		}
	}
	return out
}
