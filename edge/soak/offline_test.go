package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/internal/progress"
	"laned/store"
)

// countingBarrier counts the commands the lane gave its barrier.
type countingBarrier struct {
	hal.Barrier
	opens, closes atomic.Int64
}

func (b *countingBarrier) Open(ctx context.Context) error {
	b.opens.Add(1)
	return b.Barrier.Open(ctx)
}

func (b *countingBarrier) Close(ctx context.Context) error {
	b.closes.Add(1)
	return b.Barrier.Close(ctx)
}

// shenzhen: 15 free minutes, 5 yuan the first hour, 2 yuan per 30 min.
func shenzhen() tariff.Config {
	return tariff.Config{
		Zone:            "Asia/Shanghai",
		ReservedOutTime: tariff.Duration(15 * time.Minute),
		Small:           &tariff.RuleSet{FreeMinutes: 15, FirstMinutes: 60, FirstPrice: 500, NextMinutes: 30, NextPrice: 200, DailyCap: 4000},
		FallbackToSmall: true,
	}
}

// until polls cond; it fails only when nothing moved for progress.Stall
// (moved nil: a single step that must happen at all).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	progress.Until(t, what, cond, nil)
}

// inProcess serves an HTTP request by calling the handler directly: the
// exchange is not the subject here, and a loopback connection on a busy
// machine would put a wall clock (dial, client timeouts) into the test.
type inProcess struct{ h http.Handler }

func (d inProcess) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// TestPlatformDownForADay: the platform is unreachable for a simulated
// day while vehicles come and go (10,000 in the full form; a twentieth of
// them contactless, released owing once the AutoPay wait ran out, with
// offline_release). The
// outbox is bounded below the day's uplinks so that the store's promise is
// exercised: droppable messages are evicted, records never. When the
// platform is back every uplink of every record is delivered, in order,
// and every AutoPay charged once.
func TestPlatformDownForADay(t *testing.T) {
	lv := soakLevel()
	cars := lv.offlineCars
	start := time.Date(2026, 3, 2, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))
	clk := clock.NewFake(start)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "laned.db")
	outboxMax := cars // below the day's 2 undroppable uplinks per vehicle
	db, _, err := store.Open(dbPath, store.Options{Now: clk.Now, OutboxMax: outboxMax})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size0 := fileSize(t, dbPath)

	eng, err := tariff.New(shenzhen())
	if err != nil {
		t.Fatal(err)
	}
	// Platform and lane talk in-process: the outbox's drain is the
	// subject, not HTTP (TestCallbackAbuse and TestKill9 are).
	var laneHandler atomic.Value
	toLane := inProcess{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		laneHandler.Load().(http.Handler).ServeHTTP(w, r)
	})}
	psim := cmbsim.New(cmbsim.Config{AppID: appID, Secret: secret, ParkCode: parkCode, LaneURL: "http://lane.invalid/", HTTP: toLane,
		Guaranteed: true, Now: clk.Now, Rand: rand.NewChaCha8([32]byte{7}), MaxKept: max(100000, 20*cars)})
	client, err := cmb.NewClient(cmb.Config{BaseURL: "http://platform.invalid", AppID: appID, Secret: secret, ParkCode: parkCode,
		HTTP: inProcess{psim.Handler()}, Timeout: progress.Stall})
	if err != nil {
		t.Fatal(err)
	}
	in := sim.NewLane(clk, sim.LaneConfig{Name: "entry1", CameraAddr: 1})
	out := sim.NewLane(clk, sim.LaneConfig{Name: "exit1", CameraAddr: 2})
	inBar, outBar := &countingBarrier{Barrier: in.Barrier}, &countingBarrier{Barrier: out.Barrier}
	ctl, err := edge.New(edge.Config{ParkCode: parkCode, Spaces: edge.Spaces{Total: 2 * cars}, Guaranteed: true, OfflineRelease: true, ReplaceStale: true, SendTimeout: progress.Stall},
		[]edge.LaneConfig{
			{Name: "entry1", Kind: edge.Entry, Code: 1, Arming: in.Arming, Safety: in.Safety, Barrier: inBar, Camera: in.Camera},
			{Name: "exit1", Kind: edge.Exit, Code: 1, Arming: out.Arming, Safety: out.Safety, Barrier: outBar, Camera: out.Camera},
		}, edge.Deps{Store: db, Tariff: eng, Uplink: client, Clock: clk, Rand: rand.New(rand.NewPCG(1, 2))})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode, Prefix: "/"}, ctl)
	if err != nil {
		t.Fatal(err)
	}
	laneHandler.Store(http.Handler(srv))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	}()

	quiet := func() {
		t.Helper()
		until(t, "lanes idle", func() bool { return in.Idle() && out.Idle() })
	}
	advance := func(d time.Duration) {
		t.Helper()
		quiet()
		clk.Advance(d)
		quiet()
	}
	const rounds = 20
	perRound := max(cars/(rounds-1), 2)
	contactless := max(perRound/20, 1) // round 0: contactless cars only
	for i := range contactless {
		plate := fmt.Sprintf("沪K%05d", i)
		if err := psim.AddAgreement(plate, 10000); err != nil {
			t.Fatal(err)
		}
		if _, err := psim.Bind(ctx, cmbsim.BindRequest{Plate: plate, Limit: 10000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := psim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}

	var plates []string
	var lastState string
	defer func() {
		if t.Failed() {
			t.Logf("exit lane: %s; barrier %v, arming %v, safety %v", lastState, out.Barrier.State(), out.Arming.Occupied(), out.Safety.Occupied())
		}
	}()
	for r := range rounds {
		var batch []string
		if r == 0 {
			for i := range contactless {
				batch = append(batch, fmt.Sprintf("沪K%05d", i))
			}
		} else {
			for i := range perRound {
				batch = append(batch, fmt.Sprintf("京D%05d", r*perRound+i))
			}
		}
		for _, p := range batch {
			n := inBar.opens.Load()
			in.Arrive(p)
			// The barrier may reopen for safety before the plate is read:
			// the entry is done when its record is committed and the
			// barrier commanded up.
			until(t, "entry of "+p+" committed, barrier up", func() bool {
				_, err := db.OpenByPlate(p)
				return err == nil && inBar.opens.Load() > n
			})
			c := inBar.closes.Load()
			in.PassThrough()
			until(t, "entry barrier down after "+p, func() bool { return inBar.closes.Load() > c && in.Idle() })
		}
		stay := 10 * time.Minute // free
		if r == 0 {
			stay = 45 * time.Minute // the contactless cars owe 5 yuan, each waiting out the AutoPay wait within the hour
		}
		advance(stay)
		for _, p := range batch {
			n := outBar.opens.Load()
			out.Arrive(p)
			for i := 0; r == 0 && i < 20 && outBar.opens.Load() <= n; i++ {
				advance(5 * time.Second) // the AutoPay wait runs out: released owing
				time.Sleep(20 * time.Millisecond)
			}
			until(t, "exit barrier up for "+p, func() bool {
				if outBar.opens.Load() > n {
					return true
				}
				lastState = func() string { pl, st, _ := ctl.LaneState("exit1"); return pl + " " + st }()
				return false
			})
			c := outBar.closes.Load()
			out.PassThrough()
			until(t, "exit barrier down after "+p, func() bool { return outBar.closes.Load() > c && out.Idle() })
		}
		plates = append(plates, batch...)
		advance(72*time.Minute - stay)
	}
	quiet()
	peak, err := db.OutboxStats(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	sizePeak := fileSize(t, dbPath)
	if got := len(psim.Received(cmbsim.Filter{Endpoint: cmb.EpOutdata})); got != 0 {
		t.Fatalf("platform accepted %d Outdata while down", got)
	}
	undroppable := peak.ByKind[cmb.EpIndata] + peak.ByKind[cmb.EpOutdata] + peak.ByKind[cmb.EpAutoPay]
	if undroppable < 2*len(plates) {
		t.Errorf("outbox holds %d Indata/Outdata/AutoPay after the day; want ≥ %d (records are never dropped)", undroppable, 2*len(plates))
	}
	if peak.Count > outboxMax {
		droppable := 0
		for k, n := range peak.ByKind {
			if store.Droppable(k) {
				droppable += n
			}
		}
		if droppable > 0 || peak.Overfull == 0 {
			t.Errorf("outbox %d > bound %d with %d droppable left, overfull %d; want only undroppable messages beyond the bound, counted", peak.Count, outboxMax, droppable, peak.Overfull)
		}
	}

	// The platform is back.
	psim.ClearFaults()
	t0 := time.Now()
	w := progress.NewWatch(func() any { return len(psim.Received(cmbsim.Filter{})) })
	for {
		// Past the longest backoff (5 min), so that everything is due.
		// (Controller.RetryNow races the dispatcher's acks: it fails
		// with "message N: not found" when one is acked meanwhile.)
		clk.Advance(time.Minute)
		ctl.Kick()
		st, err := db.OutboxStats(clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if st.Count == 0 {
			break
		}
		if w.Stalled() {
			t.Fatalf("outbox still holds %d after the platform came back; nothing delivered for %s", st.Count, progress.Stall)
		}
		time.Sleep(20 * time.Millisecond)
	}
	drainTook := time.Since(t0)
	sizeAfter := fileSize(t, dbPath)

	gotIn, gotOut := accepted(psim, cmb.EpIndata), accepted(psim, cmb.EpOutdata)
	var missing int
	for _, p := range plates {
		recs, err := db.Records(p, 5)
		if err != nil || len(recs) != 1 {
			t.Fatalf("Records(%s) = %d records, %v; want 1", p, len(recs), err)
		}
		r := recs[0]
		if r.State != store.StateClosed {
			t.Errorf("record %s of %s: %s; want closed", r.ID, p, r.State)
		}
		if !gotIn[r.ID] || !gotOut[r.ID] {
			missing++
			if missing < 5 {
				t.Errorf("record %s of %s: Indata %v, Outdata %v delivered; want both", r.ID, p, gotIn[r.ID], gotOut[r.ID])
			}
		}
	}
	orders := psim.Orders()
	charged := 0
	for _, o := range orders {
		if n := psim.ChargedCount(o.RequestOrder); n != 1 || o.Amount != 500 {
			t.Errorf("order %+v charged %d times; want 500 fen once", o, n)
		}
		charged++
	}
	if len(orders) != contactless {
		t.Errorf("platform has %d AutoPay orders; want %d", len(orders), contactless)
	}
	v, dc := psim.OrderViolations(), psim.DoubleCharges()
	for _, x := range v {
		t.Errorf("uplink out of order: %+v", x)
	}
	for _, x := range dc {
		t.Errorf("double charge: %+v", x)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Errorf("CheckConsistency() = %v", err)
	}
	report(t, "level %s: %d vehicles over a simulated day offline (%d contactless, in the first hour); outbox at the end of the day %d messages, %d bytes (bound %d messages): %d Indata/Outdata/AutoPay kept, %d evicted, %d overfull enqueues",
		lv.name, len(plates), contactless, peak.Count, peak.Bytes, outboxMax, undroppable, peak.Evicted, peak.Overfull)
	report(t, "store file %d KiB empty, %d KiB after the day, %d KiB after the drain (%.0f bytes per vehicle)",
		size0>>10, sizePeak>>10, sizeAfter>>10, float64(sizeAfter)/float64(len(plates)))
	report(t, "platform back: drained in %v; %d records, %d without both Indata and Outdata; %d AutoPay orders charged once; %d order violations, %d double charges",
		drainTook.Round(time.Millisecond), len(plates), missing, charged, len(v), len(dc))
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// accepted is the set of record IDs with an uplink of kind ep the
// simulator accepted.
func accepted(s *cmbsim.Sim, ep string) map[string]bool {
	m := map[string]bool{}
	for _, u := range s.Received(cmbsim.Filter{Endpoint: ep}) {
		if u.Accepted() {
			m[u.RecordID] = true
		}
	}
	return m
}
