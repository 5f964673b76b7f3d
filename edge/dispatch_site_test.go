package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/store"
	"laned/store/storetest"
)

// siteTest is box C (the harness: its controller, lanes and dispatcher)
// and box A (a bare store: the entries it makes), one site, one clock,
// one bank (the harness's simulator). A's log reaches C by ApplyRepl, as
// the site layer does, and C's controller is told (SiteApplied).
type siteTest struct {
	*harness
	a      *store.DB
	cursor uint64 // A's entries applied at C
}

func newSiteTest(t *testing.T, opts ...harnessOpt) *siteTest {
	t.Helper()
	h := newHarnessWith(t, harnessSetup{box: "c"}, opts...)
	a, _ := storetest.Open(t, store.Options{Now: h.clk.Now, Box: "a"})
	return &siteTest{harness: h, a: a}
}

// enterAtA opens plate's record at box A's entry lane 2 with its Indata
// queued there.
func (s *siteTest) enterAtA(plate string) (store.Record, store.Message) {
	s.t.Helper()
	now := s.clk.Now()
	rec := store.Record{ID: s.a.NewRecordID(now, 2), Plate: plate, PlateColor: 1, CarType: 1, PowerType: 1,
		AuthType: store.AuthTemporary, InCode: 2, InTime: now, State: store.StateInside}
	msgs, err := s.ctl.indata(rec)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.a.OpenRecord(rec, msgs...); err != nil {
		s.t.Fatal(err)
	}
	q, err := s.a.Messages(0, 100)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range q {
		if m.Kind == store.KindIndata && m.RecordID == rec.ID {
			return rec, m
		}
	}
	s.t.Fatalf("A's Indata of %s not queued: %v", rec.ID, q)
	return rec, store.Message{}
}

// sync applies A's new log entries at C and kicks C's dispatcher.
func (s *siteTest) sync() {
	s.t.Helper()
	es, err := s.a.ReplOwn(s.cursor, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(es) == 0 {
		return
	}
	res, err := s.db.ApplyRepl("a", es)
	if err != nil || res.Gap {
		s.t.Fatalf("ApplyRepl = %+v, %v", res, err)
	}
	s.cursor = res.Cursor
	s.ctl.SiteApplied(res.Records, res.Paid) // as the site does after each batch
}

// aDelivers has A send its Indata to the bank and acknowledge it.
func (s *siteTest) aDelivers(m store.Message) {
	s.t.Helper()
	if _, err := s.client.Send(context.Background(), cmb.EpIndata, params(m.Params)); err != nil {
		s.t.Fatal(err)
	}
	if err := s.a.Ack(m.Seq); err != nil {
		s.t.Fatal(err)
	}
	s.sync()
}

// exitAtC drives plate out of C's exit (free, or paid contactless) and
// returns its Outdata's seq at C.
func (s *siteTest) exitAtC(plate, recordID string) uint64 {
	s.t.Helper()
	n := opens(s.exit)
	s.exit.Arrive(plate)
	s.leaveExit(n)
	s.settle()
	q, err := s.db.Messages(0, 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, m := range q {
		if m.Kind == store.KindOutdata && m.RecordID == recordID {
			return m.Seq
		}
	}
	s.t.Fatalf("no Outdata of %s queued at C: %v", recordID, q)
	return 0
}

// waitHeld waits until C's dispatcher has held message seq.
func (s *siteTest) waitHeld(seq uint64) {
	s.t.Helper()
	s.eventually("message held", func() bool {
		s.ctl.Kick()
		d := s.ctl.out.site
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.held[seq]
	})
}

func (s *siteTest) received(ep, recordID string) int {
	return len(s.sim.Received(cmbsim.Filter{Endpoint: ep, RecordID: recordID}))
}

// Entry at A, exit at C: C's Outdata waits for A's Indata still queued at
// A, and goes once A reports it delivered; the bank sees them in order.
func TestSiteOutdataHeldUntilIndataElsewhereDone(t *testing.T) {
	s := newSiteTest(t)
	rec, in := s.enterAtA("粤B12345")
	s.sync()
	if q, err := s.db.QueuedElsewhere(rec.ID); err != nil || len(q) != 1 || q[0].Kind != store.KindIndata {
		t.Fatalf("QueuedElsewhere at C = %v, %v; want A's Indata", q, err)
	}
	s.advance(5 * time.Minute)
	seq := s.exitAtC("粤B12345", rec.ID)
	s.waitHeld(seq)
	if n := s.received(cmb.EpOutdata, rec.ID); n != 0 {
		t.Fatalf("the bank got %d Outdata while the Indata waits at A; want 0", n)
	}

	s.aDelivers(in)
	s.eventually("Outdata delivered", func() bool { return s.received(cmb.EpOutdata, rec.ID) == 1 })
	if vs := s.sim.OrderViolations(); len(vs) != 0 {
		t.Errorf("order violations = %+v; want none", vs)
	}
	if evs := s.audits("uplink_hold_expired"); len(evs) != 0 {
		t.Errorf("hold expiries audited = %+v; want none", evs)
	}
	s.drain()
}

// A never reports: after HoldElsewhere C sends its Outdata anyway, logged
// and audited once.
func TestSiteOutdataHoldExpires(t *testing.T) {
	s := newSiteTest(t, func(c *Config) { c.HoldElsewhere = 3 * time.Minute })
	rec, _ := s.enterAtA("粤B22222")
	s.sync()
	s.advance(time.Minute)
	seq := s.exitAtC("粤B22222", rec.ID)
	s.waitHeld(seq)
	s.advance(2 * time.Minute) // still short of 3 min after the Outdata was made
	s.waitHeld(seq)
	if n := s.received(cmb.EpOutdata, rec.ID); n != 0 {
		t.Fatalf("the bank got %d Outdata before the hold ran out; want 0", n)
	}
	s.advance(time.Minute + time.Second)
	s.eventually("Outdata sent after the hold", func() bool { return s.received(cmb.EpOutdata, rec.ID) == 1 })
	s.drain()
	evs := s.audits("uplink_hold_expired")
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, rec.ID) || !strings.Contains(evs[0].Detail, "box a") {
		t.Errorf("hold expiries audited = %+v; want one naming %s and box a", evs, rec.ID)
	}
	// The bank saw what it would have seen without the hold: the Outdata
	// of a record whose Indata has not come.
	if vs := s.sim.OrderViolations(); len(vs) != 1 || vs[0].Endpoint != cmb.EpOutdata {
		t.Errorf("order violations = %+v; want the one Outdata", vs)
	}
}

// A restart of C's controller keeps the Outdata held (the shadow queue
// and the Outdata's creation time are in the store), and it goes once A
// reports.
func TestSiteHoldSurvivesRestart(t *testing.T) {
	s := newSiteTest(t)
	rec, in := s.enterAtA("粤B33333")
	s.sync()
	s.advance(time.Minute)
	seq := s.exitAtC("粤B33333", rec.ID)
	s.waitHeld(seq)
	s.restartSettled()
	s.advance(time.Minute)
	s.waitHeld(seq) // the new dispatcher holds it too
	if n := s.received(cmb.EpOutdata, rec.ID); n != 0 {
		t.Fatalf("the bank got %d Outdata after the restart; want 0", n)
	}
	s.aDelivers(in)
	s.eventually("Outdata delivered", func() bool { return s.received(cmb.EpOutdata, rec.ID) == 1 })
	if vs := s.sim.OrderViolations(); len(vs) != 0 {
		t.Errorf("order violations = %+v; want none", vs)
	}
}

// A record of C's own, beside A's held one, is not held back.
func TestSiteHoldsOnlyTheRecord(t *testing.T) {
	s := newSiteTest(t)
	rec, _ := s.enterAtA("粤B44444")
	s.sync()
	s.advance(time.Minute)
	seq := s.exitAtC("粤B44444", rec.ID)
	s.waitHeld(seq)
	own := s.enter("粤B55555")
	s.eventually("C's own Indata delivered", func() bool { return s.received(cmb.EpIndata, own.ID) == 1 })
	if n := s.received(cmb.EpOutdata, rec.ID); n != 0 {
		t.Fatalf("the bank got %d Outdata of the held record; want 0", n)
	}
}

// Without a box nothing is held: the dispatcher does not even look.
func TestNoSiteNoHold(t *testing.T) {
	h := newHarness(t)
	if h.ctl.out.site != nil {
		t.Fatal("a box without a site has hold state")
	}
	rec := h.enter("粤B66666")
	h.advance(time.Minute)
	n := opens(h.exit)
	h.exit.Arrive("粤B66666")
	h.leaveExit(n)
	h.drain()
	if got := len(h.sim.Received(cmbsim.Filter{Endpoint: cmb.EpOutdata, RecordID: rec.ID})); got != 1 {
		t.Errorf("Outdata delivered %d times; want 1", got)
	}
}

// A contactless exit at C of a car that entered at A: the AutoPay the
// lane waits for goes at once (the car leaves on its answer), though A's
// Indata still waits; the Outdata behind it is held until A reports.
func TestSiteWaitedAutoPayNotHeld(t *testing.T) {
	s := newSiteTest(t)
	if err := s.sim.AddAgreement("沪C88888", 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sim.Bind(context.Background(), cmbsim.BindRequest{Plate: "沪C88888", Limit: 5000, SerialNo: "S1"}); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Second)
	rec, in := s.enterAtA("沪C88888")
	s.sync()
	s.advance(30 * time.Minute)
	seq := s.exitAtC("沪C88888", rec.ID) // the barrier rises on the AutoPay's answer
	if n := s.received(cmb.EpAutoPay, rec.ID); n != 1 {
		t.Fatalf("the bank got %d AutoPay; want 1", n)
	}
	s.waitHeld(seq)
	if n := s.received(cmb.EpOutdata, rec.ID); n != 0 {
		t.Fatalf("the bank got %d Outdata while the Indata waits at A; want 0", n)
	}
	s.aDelivers(in)
	s.eventually("Outdata delivered", func() bool { return s.received(cmb.EpOutdata, rec.ID) == 1 })
	// The simulator (stricter than the bank's document) notes the AutoPay
	// before the Indata; nothing else is out of order.
	if vs := s.sim.OrderViolations(); len(vs) != 1 || vs[0].Endpoint != cmb.EpAutoPay {
		t.Errorf("order violations = %+v; want the AutoPay only", vs)
	}
}

// The hold's rule for each kind: an AutoPay a lane waits for, or one
// whose outcome is being asked, is never held; anything else is, until
// HoldElsewhere after its creation.
func TestSiteHoldRule(t *testing.T) {
	now := start.Add(time.Minute)
	first := store.ShadowedUplink{Origin: "a", Seq: 1, Kind: store.KindIndata, Created: start}
	for _, tc := range []struct {
		name   string
		m      store.Message
		waited bool
		held   bool
	}{
		{"outdata", store.Message{Kind: store.KindOutdata, RecordID: "r"}, false, true},
		{"exit picture", store.Message{Kind: store.KindPicUpload, RecordID: "r"}, false, true},
		{"autopay waited for", store.Message{Kind: store.KindAutoPay, RecordID: "r", RequestOrder: "o"}, true, false},
		{"autopay unresolved", store.Message{Kind: store.KindAutoPay, RecordID: "r", RequestOrder: "o", Unresolved: true}, false, false},
		{"autopay owed, nobody waits", store.Message{Kind: store.KindAutoPay, RecordID: "r", RequestOrder: "o"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.Seq, tc.m.Created = 7, now
			var held, freed []heldMsg
			until := newSiteHold(10*time.Minute).fn(now, map[string]bool{"o": tc.waited}, &held, &freed)(&tc.m, first)
			if got := until.After(now); got != tc.held {
				t.Errorf("held = %v (until %v); want %v", got, until, tc.held)
			}
			if tc.held && (!until.Equal(now.Add(10*time.Minute)) || len(held) != 1 || len(freed) != 0) {
				t.Errorf("until %v, noted %d held %d freed; want %v, 1, 0", until, len(held), len(freed), now.Add(10*time.Minute))
			}
			// Past its hold it goes, noted as freed.
			if tc.held {
				held, freed = nil, nil
				later := now.Add(10 * time.Minute)
				if u := newSiteHold(10*time.Minute).fn(later, nil, &held, &freed)(&tc.m, first); u.After(later) || len(freed) != 1 {
					t.Errorf("at the hold's end: until %v, %d freed; want not after %v, 1", u, len(freed), later)
				}
			}
		})
	}
}

// Another box's entries applied here wake the dispatcher only when its
// last pass held something (they may carry the uplink_done it waits for),
// and never without a box.
func TestSiteAppliedWakesHoldingDispatcher(t *testing.T) {
	s := newSiteTest(t)
	d := newDispatcher(s.db, nil, s.clk, s.ctl.log, dispatchRules{}, nil, s.ctl) // not running: the test reads its wake-ups
	woke := func() bool {
		select {
		case <-d.wake:
			return true
		default:
			return false
		}
	}
	d.replApplied()
	if woke() {
		t.Error("woken with nothing held")
	}
	d.noteHolds([]heldMsg{{m: store.Message{Seq: 9, Kind: store.KindOutdata, RecordID: "r"}}}, nil)
	d.replApplied()
	if !woke() {
		t.Error("not woken while holding an uplink")
	}
	d.noteHolds(nil, nil) // the next pass held nothing
	d.replApplied()
	if woke() {
		t.Error("woken after the hold ended")
	}

	alone := newHarness(t)
	d = newDispatcher(alone.db, nil, alone.clk, alone.ctl.log, dispatchRules{}, nil, alone.ctl)
	if d.site != nil {
		t.Fatal("a dispatcher without a box has hold state")
	}
	d.replApplied()
	if woke() {
		t.Error("woken without a box")
	}
}
