package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/internal/progress"
	"laned/store"
)

// epoch is one life of the daemon between kills.
type epoch struct {
	gen int
	up  chan struct{} // closed once this life serves
}

// lifeline lets the traffic driver tell a failure caused by a kill from
// a real one, and wait for the restart.
type lifeline struct {
	mu  sync.Mutex
	cur epoch
}

func (l *lifeline) now() epoch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// dying starts a new epoch before the kill.
func (l *lifeline) dying() epoch {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = epoch{gen: l.cur.gen + 1, up: make(chan struct{})}
	return l.cur
}

// journal is what the driver observed the daemon commit.
type journal struct {
	plates      []string          // every plate driven
	entered     map[string]bool   // entry barrier seen commanded up
	exited      map[string]bool   // exit barrier seen commanded up
	paid        map[string]string // pay notice accepted: order → plate
	interrupted int               // vehicles cut short by a kill
}

// TestKill9 kills a running laned with SIGKILL at seeded random moments of
// steady simulated traffic and restarts it, checking the store after each
// kill and, at the end, that nothing observed committed was lost, no
// AutoPay was charged twice, nothing reached the platform out of order and
// the outbox drained completely.
func TestKill9(t *testing.T) {
	lv := soakLevel()
	rg := newRig(t)
	sim := rg.sim
	dump := func() {
		if b, err := os.ReadFile(rg.log.Name()); err == nil {
			t.Logf("laned log (tail):\n%s", tail(string(b), 4000))
		}
	}

	parked := preParked(t, rg.dbPath(), 40*lv.kills+200, sim)
	d, _, err := rg.start(t)
	if err != nil {
		t.Fatal(err)
	}
	life := &lifeline{cur: epoch{up: make(chan struct{})}}
	close(life.cur.up)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jr := &journal{entered: map[string]bool{}, exited: map[string]bool{}, paid: map[string]string{}}
	driverDone := make(chan error, 1)
	go func() { driverDone <- drive(ctx, sim, rg.sock, life, jr, parked) }()

	rnd := rand.New(rand.NewPCG(9, uint64(lv.kills)))
	var restarts []time.Duration
	var checkErrs []string
	var killErr error
	for k := range lv.kills {
		select {
		case err := <-driverDone:
			driverDone <- err
			killErr = fmt.Errorf("traffic stopped before kill %d: %v", k, err)
		case <-time.After(time.Duration(150+rnd.IntN(900)) * time.Millisecond):
		}
		if killErr != nil {
			break
		}
		ep := life.dying()
		d.kill()
		// The store must check clean as the kill left it.
		if db, _, err := store.Open(rg.dbPath(), store.Options{}); err != nil {
			checkErrs = append(checkErrs, fmt.Sprintf("kill %d: open: %v", k, err))
		} else {
			if err := db.CheckConsistency(); err != nil {
				checkErrs = append(checkErrs, fmt.Sprintf("kill %d: %v", k, err))
			}
			db.Close()
		}
		var took time.Duration
		if d, took, err = rg.start(t); err != nil {
			killErr = fmt.Errorf("restart after kill %d: %v", k, err)
			break
		}
		restarts = append(restarts, took)
		close(ep.up)
	}
	// Some traffic after the last restart, then stop the driver.
	if killErr == nil {
		select {
		case err := <-driverDone:
			driverDone <- err
			killErr = fmt.Errorf("traffic stopped: %v", err)
		case <-time.After(time.Second):
		}
	}
	cancel()
	if err := <-driverDone; err != nil && !errors.Is(err, context.Canceled) && killErr == nil {
		killErr = fmt.Errorf("traffic: %v", err)
	}
	if killErr != nil {
		d.kill()
		dump()
		t.Fatal(killErr)
	}

	// The outbox drains completely.
	cc, err := dialConsole(rg.sock)
	if err != nil {
		t.Fatal(err)
	}
	// A hang guard, not a timing assertion: it gives up only when the
	// outbox's depth has not changed for progress.Stall.
	dctx, dcancel := context.WithCancel(context.Background())
	defer dcancel()
	depth := -1
	w := progress.NewWatch(func() any { return depth })
	// Empty three polls in a row, 100 ms apart: a pay notice still in
	// flight when the traffic stopped may release a car (and queue its
	// Outdata) just after a first empty reading.
	zeros := 0
	if err := waitFor(dctx, func() (bool, error) {
		if w.Stalled() {
			return false, fmt.Errorf("nothing delivered for %s", progress.Stall)
		}
		cc.do("queue retry")
		n, err := cc.pending()
		depth = n
		if n == 0 && err == nil {
			zeros++
			time.Sleep(100 * time.Millisecond)
		} else {
			zeros = 0
		}
		return zeros >= 3, err
	}); err != nil {
		n, _ := cc.pending()
		dump()
		t.Fatalf("outbox still holds %d uplinks: %v", n, err)
	}
	cc.Close()
	if err := d.stop(); err != nil {
		dump()
		t.Fatalf("laned stop: %v", err)
	}

	// Read side: the store after the last stop.
	db := rg.storeAfter(t)
	for _, e := range checkErrs {
		t.Errorf("store after a kill: %s", e)
	}
	st, err := db.OutboxStats(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 0 {
		t.Errorf("outbox holds %d after draining; want 0", st.Count)
	}

	var indata, outdata []cmbsim.Uplink
	if err := sim.get("/_sim/received?endpoint="+cmb.EpIndata, &indata); err != nil {
		t.Fatal(err)
	}
	if err := sim.get("/_sim/received?endpoint="+cmb.EpOutdata, &outdata); err != nil {
		t.Fatal(err)
	}
	gotIn, gotOut := map[string]bool{}, map[string]bool{}
	for _, u := range indata {
		gotIn[u.RecordID] = u.Accepted() || gotIn[u.RecordID]
	}
	for _, u := range outdata {
		gotOut[u.RecordID] = u.Accepted() || gotOut[u.RecordID]
	}
	var records, closed, lostEntries, lostExits, undelivered int
	for _, p := range jr.plates {
		recs, err := db.Records(p, 10)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		records += len(recs)
		isClosed := false
		for _, r := range recs {
			if r.State == store.StateClosed {
				closed++
				isClosed = true
				if !gotOut[r.ID] {
					undelivered++
					t.Errorf("record %s (%s) closed but its Outdata never accepted by the platform", r.ID, p)
				}
			}
			if !gotIn[r.ID] {
				undelivered++
				t.Errorf("record %s (%s): Indata never accepted by the platform", r.ID, p)
			}
		}
		if jr.entered[p] && len(recs) == 0 {
			lostEntries++
			t.Errorf("%s: entry barrier went up, but the store has no record after the kills", p)
		}
		if jr.exited[p] && !isClosed {
			lostExits++
			t.Errorf("%s: exit barrier went up, but its record is not closed after the kills", p)
		}
	}
	open, err := db.OpenRecords()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range open { // the parked vehicles not driven out
		if !gotIn[r.ID] {
			undelivered++
			t.Errorf("open record %s (%s): Indata never accepted by the platform", r.ID, r.Plate)
		}
	}
	var lostPay int
	for order, p := range jr.paid {
		pay, err := db.PaymentByOrder(order)
		if err != nil {
			lostPay++
			t.Errorf("pay notice %s for %s was accepted, store: %v", order, p, err)
			continue
		}
		if pay.Amount <= 0 {
			t.Errorf("payment %s: amount %d", order, pay.Amount)
		}
	}
	var orders []cmbsim.Order
	var doubles []cmbsim.DoubleCharge
	var violations []cmbsim.Violation
	if err := sim.get("/_sim/orders", &orders); err != nil {
		t.Fatal(err)
	}
	if err := sim.get("/_sim/double-charges", &doubles); err != nil {
		t.Fatal(err)
	}
	if err := sim.get("/_sim/violations", &violations); err != nil {
		t.Fatal(err)
	}
	var charged, autoPayRequests int
	for _, o := range orders {
		autoPayRequests += o.Requests
		if o.Charged {
			charged++
		}
	}
	for _, dc := range doubles {
		t.Errorf("platform charged record %s by several orders: %v", dc.RecordID, dc.Orders)
	}
	for _, v := range violations {
		t.Errorf("platform saw an uplink out of order: %+v", v)
	}
	if len(jr.entered) == 0 || len(jr.exited) == 0 || len(jr.paid)+charged == 0 {
		t.Errorf("traffic too thin to prove anything: %d entries, %d exits, %d pay notices, %d AutoPay charged", len(jr.entered), len(jr.exited), len(jr.paid), charged)
	}
	slices.Sort(restarts)
	var p50, max time.Duration
	if len(restarts) > 0 {
		p50, max = restarts[len(restarts)/2], restarts[len(restarts)-1]
	}
	report(t, "level %s: %d × kill -9 (restart to serving p50 %v, max %v); %d vehicles driven, %d cut short by a kill",
		lv.name, len(restarts), p50.Round(time.Millisecond), max.Round(time.Millisecond), len(jr.plates), jr.interrupted)
	report(t, "observed committed: %d entries, %d exits, %d pay notices; in the store: %d records (%d closed), lost entries %d, lost exits %d, lost payments %d",
		len(jr.entered), len(jr.exited), len(jr.paid), records, closed, lostEntries, lostExits, lostPay)
	report(t, "platform: %d Indata, %d Outdata received (%d records undelivered); %d AutoPay orders, %d requests, %d charged, %d double charges, %d order violations; outbox %d left; store checked clean after %d of %d kills",
		len(indata), len(outdata), undelivered, len(orders), autoPayRequests, charged, len(doubles), len(violations), st.Count, len(restarts)-len(checkErrs), len(restarts))
}

// drive runs vehicles through in1 and out1 until ctx ends: every third
// has a contactless agreement (AutoPay, guaranteed mode), the others pay
// by scanning the exit's code. A step cut short by a kill abandons the
// vehicle; any other failure ends the run with an error.
func drive(ctx context.Context, sim *simProc, sock string, life *lifeline, jr *journal, parked []string) error {
	var cc *consoleConn
	ccGen := -1 // the daemon life cc talks to
	defer func() {
		if cc != nil {
			cc.Close()
		}
	}()
	for i := 0; ctx.Err() == nil; i++ {
		ep := life.now()
		select {
		case <-ep.up:
		case <-ctx.Done():
			return ctx.Err()
		}
		// Every other vehicle is one parked for hours before the run:
		// it owes a fee, paid by contactless AutoPay (a third of them)
		// or by scanning the exit's code.
		parkedOnly := i%2 == 0 && len(parked) > 0
		var plate string
		if parkedOnly {
			plate, parked = parked[0], parked[1:]
		} else {
			plate = fmt.Sprintf("粤B%05d", i)
		}
		jr.plates = append(jr.plates, plate)
		err := func() error {
			if cc != nil && ccGen != ep.gen { // a session with a killed daemon
				cc.Close()
				cc = nil
			}
			if cc == nil {
				ccGen = ep.gen
				var err error
				if cc, err = dialConsole(sock); err != nil {
					return err
				}
			}
			if parkedOnly {
				return exitJourney(ctx, cc, sim, plate, jr)
			}
			return journey(ctx, cc, sim, plate, jr)
		}()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cc != nil {
			cc.Close()
			cc = nil
		}
		if life.now().gen == ep.gen {
			return fmt.Errorf("vehicle %s with no kill: %w", plate, err)
		}
		jr.interrupted++
	}
	return ctx.Err()
}

// journey drives one vehicle in and out, recording what it saw committed.
func journey(ctx context.Context, cc *consoleConn, sim *simProc, plate string, jr *journal) error {
	sctx, cancel := context.WithTimeout(ctx, progress.Stall) // a hang guard
	defer cancel()
	up := func(r laneRow) bool { return r.barrier == "open" || r.barrier == "opening" }
	if _, err := cc.do("sim arrive in1 " + plate); err != nil {
		return err
	}
	if err := waitFor(sctx, func() (bool, error) {
		rows, err := cc.lanes()
		return err == nil && up(rows["in1"]), err
	}); err != nil {
		return fmt.Errorf("entry: %w", err)
	}
	jr.entered[plate] = true
	if _, err := cc.do("sim pass in1"); err != nil {
		return err
	}
	if err := waitFor(sctx, func() (bool, error) {
		rows, err := cc.lanes()
		return err == nil && rows["in1"].barrier == "closed", err
	}); err != nil {
		return fmt.Errorf("entry close: %w", err)
	}
	return exitJourney(sctx, cc, sim, plate, jr)
}

// exitJourney drives a vehicle parked inside out through out1, paying by
// scan when the lane waits for it.
func exitJourney(ctx context.Context, cc *consoleConn, sim *simProc, plate string, jr *journal) error {
	sctx, cancel := context.WithTimeout(ctx, progress.Stall) // a hang guard
	defer cancel()
	up := func(r laneRow) bool { return r.barrier == "open" || r.barrier == "opening" }
	if _, err := cc.do("sim arrive out1 " + plate); err != nil {
		return err
	}
	scanned := false
	if err := waitFor(sctx, func() (bool, error) {
		rows, err := cc.lanes()
		if err != nil {
			return false, err
		}
		r := rows["out1"]
		if up(r) {
			return true, nil
		}
		if strings.HasPrefix(r.state, "waiting to pay") && !scanned {
			scanned = true
			var res struct {
				Paid  bool   `json:"paid"`
				Order string `json:"order"`
				Error string `json:"error"`
			}
			if err := sim.post("POST", "/_sim/scan-pay", map[string]any{"out_code": 1}, &res); err != nil {
				return false, err
			}
			if !res.Paid {
				return false, fmt.Errorf("scan-pay: not paid: %s", res.Error)
			}
			jr.paid[res.Order] = plate
		}
		if strings.HasPrefix(r.state, "unknown") || strings.HasPrefix(r.state, "refused") {
			return false, fmt.Errorf("exit lane: %s", r.state)
		}
		return false, nil
	}); err != nil {
		return fmt.Errorf("exit: %w", err)
	}
	jr.exited[plate] = true
	if _, err := cc.do("sim pass out1"); err != nil {
		return err
	}
	return waitFor(sctx, func() (bool, error) {
		rows, err := cc.lanes()
		return err == nil && rows["out1"].barrier == "closed", err
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// preParked stores n vehicles that entered two hours ago, with their
// Indata queued, as if the lane had let them in before the run; every
// third has a contactless agreement on both sides. It returns their
// plates.
func preParked(t *testing.T, path string, n int, sim *simProc) []string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	db, _, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	in := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	var plates []string
	var recs []store.Record
	var msgs []store.Message
	for i := range n {
		plate := fmt.Sprintf("粤C%05d", i)
		if i%3 == 0 {
			plate = fmt.Sprintf("沪K%05d", i)
			if err := db.PutBinding(store.Binding{Plate: plate, Limit: 100000, Source: store.SourceBind, Updated: in}); err != nil {
				t.Fatal(err)
			}
			if err := sim.post("POST", "/_sim/agreements", map[string]any{"plate": plate, "limit": 100000}, nil); err != nil {
				t.Fatal(err)
			}
		}
		rec := store.Record{ID: db.NewRecordID(in, 1), Plate: plate, CarType: 1, PowerType: 1, InCode: 1, InTime: in}
		v, err := cmb.Indata{ParkCode: parkCode, InCode: 1, VplNumber: plate, RecordID: rec.ID, InTime: in.Unix(),
			CarType: cmb.CarType(rec.CarType), PowerType: cmb.PowerType(rec.PowerType)}.Values()
		if err != nil {
			t.Fatal(err)
		}
		p := map[string]string{}
		for k := range v {
			p[k] = v.Get(k)
		}
		plates = append(plates, plate)
		recs = append(recs, rec)
		msgs = append(msgs, store.Message{Kind: store.KindIndata, RecordID: rec.ID, Params: p, Created: in, Due: in})
	}
	if err := db.ImportOpen(recs); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enqueue(msgs...); err != nil {
		t.Fatal(err)
	}
	return plates
}
