package edge

import (
	"strconv"
	"testing"
	"time"

	"laned/cmb/cmbsim"
	"laned/store"
)

// Entries stamped while the wall clock was unset are moved once it is set:
// the record and its still-queued Indata carry the real time, and the fix
// is audited.
func TestFixClock(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true}); err != nil {
		t.Fatal(err) // no network: the Indata stays queued, as it would without NTP
	}
	stamped := h.clk.Now()
	rec := h.enter("京A12345")
	delta := 7 * time.Hour
	if err := h.ctl.FixClock(Fixup{From: stamped.Add(-time.Minute), To: stamped.Add(time.Minute), Delta: delta}); err != nil {
		t.Fatal(err)
	}
	got, err := h.db.RecordByID(rec.ID)
	if err != nil || !got.InTime.Equal(stamped.Add(delta)) {
		t.Fatalf("record in_time = %v, %v; want %v", got.InTime, err, stamped.Add(delta))
	}
	ms, _ := h.db.Messages(0, 100)
	found := false
	for _, m := range ms {
		if m.Kind == store.KindIndata && m.RecordID == rec.ID {
			found = true
			if m.Params["in_time"] != strconv.FormatInt(stamped.Add(delta).Unix(), 10) {
				t.Errorf("queued Indata in_time = %s; want %d", m.Params["in_time"], stamped.Add(delta).Unix())
			}
		}
	}
	if !found {
		t.Fatal("the Indata is not queued")
	}
	evs, _ := h.db.RecentAudit(5)
	if len(evs) == 0 || evs[0].Kind != "clock" {
		t.Errorf("audit = %+v; want a clock event first", evs)
	}
}
