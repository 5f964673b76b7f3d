package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// Issue 11 item 10: an uplink the platform refuses again and again is
// dead-lettered after MaxRefusals identical refusals, audited, shown by
// the console's queue and status, and the record's later uplinks go on.
func TestRefusedUplinkDeadLetteredRecordGoesOn(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxRefusals = 3 })
	h.setFault(cmb.EpIndata, cmbsim.Fault{Status: 7, Message: "记录重复 (duplicate record)", Times: 3})
	rec := h.enter("京A12345")
	h.refusedTimes(rec.ID, 3)
	h.eventually("dead_letter audit", func() bool { return len(h.audits("dead_letter")) > 0 })
	ev := h.audits("dead_letter")
	if len(ev) != 1 || !strings.Contains(ev[0].Detail, rec.ID) || !strings.Contains(ev[0].Detail, "status 7") {
		t.Errorf("dead_letter audits = %+v; want one naming the record and the refusal", ev)
	}
	if n := len(h.received(cmb.EpIndata, rec.ID)); n != 3 {
		t.Errorf("Indata sent %d times; want 3 (then dead-lettered)", n)
	}
	// The record's Outdata is not held back by the dead Indata.
	before := opens(h.exit)
	h.arriveExit("京A12345")
	if res, err := h.sim.ScanPay(context.Background(), 1); err != nil || !res.Paid {
		t.Fatalf("ScanPay = %+v, %v", res, err)
	}
	h.leaveExit(before)
	h.drain()
	if out := h.received(cmb.EpOutdata, rec.ID); len(out) != 1 || !out[0].Accepted() {
		t.Errorf("Outdata = %+v; want delivered once after the Indata was dead-lettered", out)
	}
	b := &Console{Ctl: h.ctl}
	q := b.Queue()
	if q.Dead != 1 || q.DeadTotal != 1 || len(q.DeadLast) != 1 || !strings.Contains(q.DeadLast[0], "Indata") {
		t.Errorf("console queue = %+v; want the dead-lettered Indata shown", q)
	}
}

// Different refusals in a row are not "identical": the count restarts.
func TestDifferentRefusalsRestartTheCount(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxRefusals = 2 })
	h.setFault(cmb.EpIndata, cmbsim.Fault{Status: 7, Message: "a", Times: 1})
	rec := h.enter("京A12345")
	h.eventually("first refusal", func() bool { return len(h.received(cmb.EpIndata, rec.ID)) == 1 })
	h.setFault(cmb.EpIndata, cmbsim.Fault{Status: 8, Message: "b", Times: 1})
	h.refusedTimes(rec.ID, 3)
	h.drain()
	if len(h.audits("dead_letter")) != 0 {
		t.Error("two different refusals dead-lettered the message")
	}
	if in := h.received(cmb.EpIndata, rec.ID); !in[len(in)-1].Accepted() {
		t.Errorf("last Indata = %+v; want accepted", in[len(in)-1])
	}
}

// refusedTimes moves the clock past each backoff until the platform has
// seen the record's Indata n times.
func (h *harness) refusedTimes(recordID string, n int) {
	h.t.Helper()
	for k := 1; k <= n; k++ {
		h.eventually("Indata attempt", func() bool { return len(h.received(cmb.EpIndata, recordID)) >= k })
		h.settle()
		if k < n {
			h.eventually("retry scheduled", func() bool {
				msgs, err := h.db.Messages(0, 100)
				if err != nil {
					return false
				}
				for _, m := range msgs {
					if m.Kind == "Indata" && m.RecordID == recordID {
						return m.Attempts >= k
					}
				}
				return true
			})
			h.clk.Advance(10 * time.Minute) // past any backoff
			h.ctl.kick()
		}
	}
}
