package edge

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/store"
	"laned/store/storetest"
)

// fakeSite is the site's request/reply between boxes in memory: the
// subjects a box serves, and a switch that cuts this box off.
type fakeSite struct {
	mu       sync.Mutex
	hs       map[string]SiteHandler
	cut      bool
	asked    []string
	deadline time.Duration // the budget the last request came with
	now      func() time.Time
}

var errNoResponders = errors.New("fake site: no responders")

func newFakeSite() *fakeSite { return &fakeSite{hs: map[string]SiteHandler{}, now: time.Now} }

func (f *fakeSite) serve(hs map[string]SiteHandler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s, h := range hs {
		f.hs[s] = h
	}
}

func (f *fakeSite) setCut(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = on
}

func (f *fakeSite) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

func (f *fakeSite) Request(ctx context.Context, subject string, req []byte) ([]byte, error) {
	f.mu.Lock()
	f.asked = append(f.asked, subject)
	if d, ok := ctx.Deadline(); ok {
		f.deadline = d.Sub(f.now())
	}
	h, cut := f.hs[subject], f.cut
	f.mu.Unlock()
	if cut || h == nil {
		return nil, errNoResponders
	}
	b, err := h(ctx, req)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return b, err
}

// siteHarness makes h the box that owns the lanes (entry 1, exit 1) and
// puts in front of the platform a gateway box that owns none, sharing
// h's store (a replication with no delay), and not running: its lanes
// and outbox are h's. The platform's callbacks go to the gateway's
// Router through the real callback server.
func siteHarness(t *testing.T) (*harness, *Controller, *fakeSite) {
	t.Helper()
	h := newHarness(t)
	gw, err := New(h.cfg, nil, Deps{Store: h.db, Tariff: h.eng, Uplink: h.client, Clock: h.clk, Rand: rand.New(rand.NewPCG(3, 4)), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	site := newFakeSite()
	site.serve(h.ctl.SiteHandlers())
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: testAppID, Secret: testSecret, ParkCode: testPark, Prefix: "/", Logger: testLogger(t)}, gw.SiteRouter(site, 0))
	if err != nil {
		t.Fatal(err)
	}
	h.laneHandler.Store(http.Handler(srv))
	return h, gw, site
}

// A car waiting at another box's exit: the bank's scan at the gateway is
// priced by that box, the pay notice is recorded at the gateway, and the
// replicated payment (SiteApplied) lets the car out: once charged, one
// Outdata.
func TestSiteScanPayAtAnotherBox(t *testing.T) {
	h, _, site := siteHarness(t)
	ctx := context.Background()
	const plate = "粤B11111"
	rec, _, before := h.atExitAfter(plate, time.Hour)
	res, err := h.sim.ScanPay(ctx, 1)
	if err != nil || !res.Paid || res.Amount != 500 || res.Calc.RecordID != rec.ID {
		t.Fatalf("ScanPay through the gateway = %+v, %v; want 500 fen for %s", res, err, rec.ID)
	}
	if got := site.requests(); !slices.Equal(got, []string{"laned.exit.1.calc"}) {
		t.Errorf("gateway asked %v; want the exit's box once", got)
	}
	ps, err := h.db.Payments(rec.ID)
	if err != nil || len(ps) != 1 || ps[0].Amount != 500 {
		t.Fatalf("payments of %s = %+v, %v; want the 500 fen of the notice", rec.ID, ps, err)
	}
	h.settle()
	if n := opens(h.exit); n != before {
		t.Fatalf("exit opened %d times before the payment reached its box; want %d", n, before)
	}
	h.ctl.SiteApplied([]string{rec.ID}, []string{rec.ID})
	h.leaveExit(before)
	h.drain()
	h.checkPaid(rec.ID, 500)
	if n := len(h.received(cmb.EpOutdata, rec.ID)); n != 1 {
		t.Errorf("Outdata of %s sent %d times; want 1", rec.ID, n)
	}
	h.checkPlatform()
}

// SiteApplied alone: a payment another box committed for the record
// waiting at this box's exit opens it exactly as a local pay notice does;
// a payment of another record, or a record change, opens nothing.
func TestSiteAppliedPaymentWakesExit(t *testing.T) {
	h := newHarness(t)
	rec, _, before := h.atExitAfter("粤B22222", time.Hour)
	other := "20260302090000b001000000099"
	h.ctl.SiteApplied([]string{other, rec.ID}, []string{other})
	h.settle()
	if n := opens(h.exit); n != before {
		t.Fatalf("exit opened for another record's payment")
	}
	if _, _, err := h.db.AddPayments([]store.Payment{{Order: "GW-1", RecordID: rec.ID, Plate: rec.Plate, PayType: int(cmb.PayCMB), Amount: 500, PayTime: h.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if n := opens(h.exit); n != before {
		t.Fatalf("exit opened before SiteApplied told it of the payment")
	}
	h.ctl.SiteApplied([]string{rec.ID}, []string{rec.ID})
	h.leaveExit(before)
	h.drain()
	h.checkPaid(rec.ID, 500)
	if n := len(h.received(cmb.EpOutdata, rec.ID)); n != 1 {
		t.Errorf("Outdata of %s sent %d times; want 1", rec.ID, n)
	}
	// Told twice (a replay of the same batch): nothing more.
	h.ctl.SiteApplied(nil, []string{rec.ID})
	h.drain()
	if n := len(h.received(cmb.EpOutdata, rec.ID)); n != 1 {
		t.Errorf("Outdata of %s sent %d times after a repeated SiteApplied; want 1", rec.ID, n)
	}
	h.checkPlatform()
}

// An unlicensed vehicle at another box's entry: the bank's NoVpln at the
// gateway admits it there.
func TestSiteNoVplnAtAnotherBox(t *testing.T) {
	h, _, site := siteHarness(t)
	ctx := context.Background()
	const virtual = "临A00000000000000011"
	h.entry.Arrive("")
	h.settle()
	if _, a, err := h.sim.NoVpln(ctx, virtual, 1); err != nil || a.VplNumber != virtual {
		t.Fatalf("NoVpln through the gateway = %+v, %v; want 0", a, err)
	}
	h.eventually("entry barrier up", func() bool { return opens(h.entry) == 1 })
	if _, err := h.db.OpenByPlate(virtual); err != nil {
		t.Errorf("OpenByPlate(%s) = %v; want the admitted record", virtual, err)
	}
	if got := site.requests(); !slices.Equal(got, []string{"laned.entry.1.novpln"}) {
		t.Errorf("gateway asked %v; want the entry's box once", got)
	}
	// A status of the entry's box comes back as it is.
	if _, _, err := h.sim.NoVpln(ctx, "临A00000000000000012", 1); !isAnswer(err, cmb.NoVplnLicensed) && !isAnswer(err, cmb.NoVplnNoVehicle) && !isAnswer(err, cmb.NoVplnCannotAdmit) {
		t.Errorf("second NoVpln at a busy entry = %v; want the entry's own refusal", err)
	}
}

// The lane's box cut off: calc by out_code and NoVpln answer "try again"
// (calc status 1, NoVpln status 1) and change nothing; calc by plate and
// the pay notice are the gateway's own and still work.
func TestSiteUnreachableTryAgain(t *testing.T) {
	h, _, site := siteHarness(t)
	ctx := context.Background()
	const plate = "粤B33333"
	rec, _, before := h.atExitAfter(plate, time.Hour)
	site.setCut(true)
	one := 1
	_, err := h.sim.Calc(ctx, &one, "")
	var re *cmb.RejectedError
	if !errors.As(err, &re) || re.Status != cmb.CalcUnavailable || re.Message != siteUnreachable {
		t.Errorf("calc by out_code, box cut off = %v; want status %d %q", err, cmb.CalcUnavailable, siteUnreachable)
	}
	h.entry.Arrive("")
	h.settle()
	_, _, err = h.sim.NoVpln(ctx, "临A00000000000000013", 1)
	if !errors.As(err, &re) || re.Status != cmb.StatusFailed || re.Message != siteUnreachable {
		t.Errorf("NoVpln, box cut off = %v; want status %d %q", err, cmb.StatusFailed, siteUnreachable)
	}
	if _, err := h.db.OpenByPlate("临A00000000000000013"); err == nil {
		t.Error("an unanswered NoVpln opened a record")
	}
	if n := opens(h.entry); n != 1 {
		t.Errorf("entry opened %d times; want 1 (the first car's)", n)
	}
	asked := len(site.requests())
	res, err := h.sim.PayPlate(ctx, plate)
	if err != nil || !res.Paid || res.Amount != 500 {
		t.Fatalf("PayPlate at the gateway, box cut off = %+v, %v; want 500 fen paid", res, err)
	}
	if got := site.requests(); len(got) != asked {
		t.Errorf("calc by plate and pay asked other boxes: %v", got[asked:])
	}
	site.setCut(false)
	h.ctl.SiteApplied([]string{rec.ID}, []string{rec.ID})
	h.leaveExit(before)
	h.drain()
	h.checkPaid(rec.ID, 500)
	h.checkPlatform()
}

// A gateway that owns the lane answers from its own Controller: the
// site is never asked.
func TestSiteRouterLocalLane(t *testing.T) {
	h := newHarness(t)
	site := newFakeSite()
	site.setCut(true)
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: testAppID, Secret: testSecret, ParkCode: testPark, Prefix: "/", Logger: testLogger(t)}, h.ctl.SiteRouter(site, 0))
	if err != nil {
		t.Fatal(err)
	}
	h.laneHandler.Store(http.Handler(srv))
	rec, _, _ := h.atExitAfter("粤B44444", time.Hour)
	h.scanPayAndLeave(500)
	h.drain()
	h.checkPaid(rec.ID, 500)
	if got := site.requests(); len(got) != 0 {
		t.Errorf("a local lane asked the site: %v", got)
	}
}

// The request carries the budget; a box that answers garbage, or
// nothing, is "try again".
func TestSiteRouterBudgetAndGarbage(t *testing.T) {
	h := newHarness(t)
	gw, err := New(h.cfg, nil, Deps{Store: h.db, Tariff: h.eng, Uplink: h.client, Clock: h.clk, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	site := newFakeSite()
	r := gw.SiteRouter(site, 250*time.Millisecond)
	seven := 7
	for _, reply := range []string{`nope`, `{"status":0}`, `{"status":2}`, `{"status":-1,"message":"x"}`, `{"status":0,"data":[1]}`} {
		site.serve(map[string]SiteHandler{"laned.exit.7.calc": func(context.Context, []byte) ([]byte, error) { return []byte(reply), nil }})
		_, err := r.Calc(ctx, cmb.CalcRequest{ParkCode: testPark, OutCode: &seven})
		var ae *cmb.AnswerError
		if !errors.As(err, &ae) || ae.Status != cmb.CalcUnavailable || ae.Message != siteUnreachable {
			t.Errorf("reply %s: Calc = %v; want try again", reply, err)
		}
	}
	if site.deadline <= 0 || site.deadline > 250*time.Millisecond {
		t.Errorf("request budget %s; want within 250ms", site.deadline)
	}
	site.serve(map[string]SiteHandler{"laned.entry.7.novpln": func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done() // the box never answers: the budget ends the wait
		return nil, ctx.Err()
	}})
	_, err = r.NoVpln(ctx, cmb.NoVplnRequest{ParkCode: testPark, VplNumber: "临A00000000000000014", InCode: 7})
	var ae *cmb.AnswerError
	if !errors.As(err, &ae) || ae.Status != cmb.StatusFailed {
		t.Errorf("NoVpln to a silent box = %v; want status %d", err, cmb.StatusFailed)
	}
}

// What a box serves checks each request as the callback server checks
// a callback: a refusal is a reply with its status, and changes nothing.
func TestSiteHandlersRefuse(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	hs := h.ctl.SiteHandlers()
	if len(hs) != 2 || hs["laned.exit.1.calc"] == nil || hs["laned.entry.1.novpln"] == nil {
		t.Fatalf("SiteHandlers = %d subjects; want exit 1's calc and entry 1's NoVpln", len(hs))
	}
	form := func(kv ...string) []byte {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		b, _ := json.Marshal(v)
		return b
	}
	park := "5201020001"
	h.entry.Arrive("")
	h.settle()
	tests := []struct {
		name, subject string
		req           []byte
		status        int
	}{
		{"not JSON", "laned.exit.1.calc", []byte("park_code=1"), cmb.StatusMalformed},
		{"no out_code", "laned.exit.1.calc", form("park_code", park), cmb.StatusMalformed},
		{"another exit", "laned.exit.1.calc", form("park_code", park, "out_code", "2"), cmb.StatusMalformed},
		{"another park", "laned.exit.1.calc", form("park_code", "42", "out_code", "1"), cmb.StatusWrongPark},
		{"bad out_code", "laned.exit.1.calc", form("park_code", park, "out_code", "x"), cmb.StatusMalformed},
		{"nothing at the exit", "laned.exit.1.calc", form("park_code", park, "out_code", "1"), cmb.CalcNoPlate},
		{"another entry", "laned.entry.1.novpln", form("park_code", park, "in_code", "3", "vpl_number", "临A00000000000000015"), cmb.StatusMalformed},
		{"no plate", "laned.entry.1.novpln", form("park_code", park, "in_code", "1"), cmb.StatusMalformed},
		{"another park", "laned.entry.1.novpln", form("park_code", "42", "in_code", "1", "vpl_number", "临A00000000000000015"), cmb.StatusWrongPark},
		{"too big", "laned.entry.1.novpln", []byte(`{"x":["` + strings.Repeat("a", maxSiteBody) + `"]}`), cmb.StatusMalformed},
	}
	for _, tt := range tests {
		b, err := hs[tt.subject](ctx, tt.req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		rep, err := decodeSiteReply(b)
		if err != nil || rep.Status != tt.status || rep.Message == "" {
			t.Errorf("%s: reply %s (%v); want status %d with a message", tt.name, b, err, tt.status)
		}
	}
	if recs, _ := h.db.OpenRecords(); len(recs) != 0 {
		t.Errorf("refused requests opened %d records", len(recs))
	}
	if n := opens(h.entry); n != 0 {
		t.Errorf("entry opened %d times; want 0", n)
	}
}

func TestLaneCodes(t *testing.T) {
	h := newHarness(t)
	in, out := h.ctl.LaneCodes()
	if !slices.Equal(in, []int{1}) || !slices.Equal(out, []int{1}) {
		t.Errorf("LaneCodes = %v, %v; want [1], [1]", in, out)
	}
}

// FuzzSiteReply: an accepted reply has a status in range, a message for
// a refusal and data for a success.
func FuzzSiteReply(f *testing.F) {
	for _, s := range []string{`{"status":0,"data":{"vpl_number":"a"}}`, `{"status":2,"message":"no","data":{}}`, `{"status":1}`, `nope`, `{"status":1000,"message":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := decodeSiteReply(b)
		if err != nil {
			return
		}
		if rep.Status < 0 || rep.Status > 999 || rep.Status == 0 && len(rep.Data) == 0 || rep.Status != 0 && rep.Message == "" {
			t.Fatalf("decodeSiteReply(%q) = %+v", b, rep)
		}
	})
}

// FuzzSiteForm: a request's form decodes or is refused, never panics,
// and what decodes encodes back to the same form.
func FuzzSiteForm(f *testing.F) {
	for _, s := range []string{`{"park_code":["5201020001"],"out_code":["1"]}`, `{"park_code":["5201020001"],"in_code":["1"],"vpl_number":["临A00000000000000016"]}`, `[]`, `{"out_code":["1","2"]}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeSiteForm(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		w, err := decodeSiteForm(again)
		if err != nil || len(w) != len(v) {
			t.Fatalf("decodeSiteForm(%q) = %v; re-encoded %s reads %v, %v", b, v, again, w, err)
		}
		_, _ = cmb.DecodeCalcRequest(v) // the cmb decoder judges it; it must not panic
		_, _ = cmb.DecodeNoVplnRequest(v)
	})
}

// A lane box of a site sends the uplinks of its records, never the car
// park's own (SpaceInfo, ConfigUpload: the gateway's); a box alone or a
// gateway sends both.
func TestLaneBoxSendsNoParkUplinks(t *testing.T) {
	for _, laneBox := range []bool{false, true} {
		h := newHarness(t, func(c *Config) { c.LaneBox = laneBox })
		rec := h.enter("粤B55555")
		h.drain()
		if n := len(h.received(cmb.EpIndata, rec.ID)); n != 1 {
			t.Errorf("lane box %t: Indata sent %d times; want 1", laneBox, n)
		}
		park := len(h.sim.Received(cmbsim.Filter{Endpoint: cmb.EpSpaceInfo})) + len(h.sim.Received(cmbsim.Filter{Endpoint: cmb.EpConfigUpload}))
		if laneBox && park != 0 {
			t.Errorf("lane box: %d SpaceInfo/ConfigUpload sent; want none", park)
		}
		if !laneBox && park < 2 {
			t.Errorf("box alone: %d SpaceInfo/ConfigUpload sent; want both", park)
		}
	}
}

// Through the store's replication: the gateway (box a) records the pay
// notice in its own store; its log, applied to this box's (b) store,
// reports the payment, and SiteApplied lets the car out: once charged,
// one Outdata, sent by b.
func TestSiteAppliedReplicatedPayment(t *testing.T) {
	h := newHarnessWith(t, harnessSetup{box: "b"})
	gw, _ := storetest.Open(t, store.Options{Now: h.clk.Now, Box: "a"})
	rec, _, before := h.atExitAfter("粤B66666", time.Hour)
	own, err := h.db.ReplOwn(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := gw.ApplyRepl("b", own); err != nil || res.Gap {
		t.Fatalf("gateway ApplyRepl(b) = %+v, %v", res, err)
	}
	if _, _, err := gw.AddPayments([]store.Payment{{Order: "GW-7", RecordID: rec.ID, Plate: rec.Plate, PayType: int(cmb.PayCMB), Amount: 500, PayTime: h.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	theirs, err := gw.ReplOwn(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.db.ApplyRepl("a", theirs)
	if err != nil || !slices.Contains(res.Paid, rec.ID) {
		t.Fatalf("ApplyRepl(a) = %+v, %v; want %s paid", res, err, rec.ID)
	}
	h.settle()
	if n := opens(h.exit); n != before {
		t.Fatalf("exit opened before SiteApplied")
	}
	h.ctl.SiteApplied(res.Records, res.Paid)
	h.leaveExit(before)
	h.drain()
	h.checkPaid(rec.ID, 500)
	if n := len(h.received(cmb.EpOutdata, rec.ID)); n != 1 {
		t.Errorf("Outdata of %s sent %d times; want 1", rec.ID, n)
	}
	if !strings.Contains(rec.ID, "b") {
		t.Errorf("record id %s does not carry the box", rec.ID)
	}
	h.checkPlatform()
}
