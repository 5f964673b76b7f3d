package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"
)

// exitPath is one way out of the car park, as make bench measures it.
type exitPath struct {
	name string
	// relay: the decision raises the barrier (timed frame → relay
	// commanded); else it ends waiting (timed frame → the decision's log
	// line).
	relay bool
	// inside are the open records the path's exits use, read are the
	// plates the camera reports for them (nil: their plates).
	inside func(i int) string
	read   func(i int) string
	// ago is how long before the run the path's vehicles entered.
	ago time.Duration
	// bound: give each vehicle a contactless binding (in the store and
	// at the platform). Its AutoPay goes over loopback HTTP to a cmbsim in
	// guaranteed mode, and the exit is timed twice: frame → the AutoPay on
	// the wire (the lane's own part: decided, durable, handed to the
	// platform client) and frame → relay (released on the answer).
	bound bool
}

// exitPaths are every way an exit is decided.
var exitPaths = []exitPath{
	{name: "free, exact plate", relay: true, inside: func(i int) string { return fmt.Sprintf("京X%05d", i) }, ago: 10 * time.Minute},
	{name: "look-alike plate (5 read as S)", relay: true, inside: func(i int) string { return fmt.Sprintf("京L%04d5", i) },
		read: func(i int) string { return fmt.Sprintf("京L%04dS", i) }, ago: 10 * time.Minute},
	// Contactless: the barrier rises on the AutoPay's answer (both modes):
	// queued, sent over loopback HTTP to a cmbsim that answers at once
	// (guaranteed), the payment recorded, the record closed.
	{name: "contactless, released on the AutoPay answer", relay: true, inside: func(i int) string { return fmt.Sprintf("沪C%05d", i) }, ago: 3 * time.Hour, bound: true},
	{name: "priced, waiting for scan-to-pay", inside: func(i int) string { return fmt.Sprintf("苏E%05d", i) }, ago: 3 * time.Hour},
	{name: "unknown plate", read: func(i int) string { return fmt.Sprintf("新F%05d", i) }},
}

// decisionLog signals the log lines that end an exit decision without a
// relay command.
type decisionLog struct{ at chan time.Time }

func (d decisionLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (d decisionLog) WithAttrs([]slog.Attr) slog.Handler           { return d }
func (d decisionLog) WithGroup(string) slog.Handler                { return d }
func (d decisionLog) Handle(_ context.Context, r slog.Record) error {
	switch r.Message {
	case "exit: waiting for payment", "exit: no record":
		select {
		case d.at <- time.Now():
		default:
		}
	}
	return nil
}

// exitResult is one path's latencies beside the bare commits interleaved
// with them.
type exitResult struct {
	path                    exitPath
	open                    int
	p50, p99, bp50, bp99    time.Duration
	exits                   int
	pagesPerExit, barePages float64 // pages written per exit and per bare commit
	// A contactless path only: frame → AutoPay on the wire (wp), the
	// bare round trip to the same cmbsim (rtt), bare commit + round trip
	// per exit (np: the baseline of the full path), and two bare commits
	// + round trip (fp: the floor the spec sets, as the AutoPay is durable
	// before it goes and its outcome durable before the barrier moves).
	wp50, wp99, rtt50, rtt99, np50, np99, fp50, fp99 time.Duration
}

// benchExits runs exits of every path (each) against a store of `open`
// open records: a PLATE frame is decoded and handed to the exit lane, and
// the time to the relay command (or to the decision, for a path that
// waits) is taken; after each exit, one bare single-key bbolt commit on
// the same disk. The open records are `open` in all, the paths' own
// included.
func benchExits(tb testing.TB, open, each int) []exitResult {
	tb.Helper()
	dir := tb.TempDir()
	now := time.Now()
	var recs []store.Record
	for _, p := range exitPaths {
		if p.inside == nil {
			continue
		}
		for i := range each {
			recs = append(recs, store.Record{Plate: p.inside(i), InCode: 1, InTime: now.Add(-p.ago), CarType: 1, PowerType: 1})
		}
	}
	db := openStore(tb, dir, max(0, open-len(recs)), recs)
	defer db.Close()
	for _, p := range exitPaths {
		if !p.bound {
			continue
		}
		for i := range each {
			if err := db.PutBinding(store.Binding{Plate: p.inside(i), Limit: 100000, Source: store.SourceBind, Updated: now}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	psim := cmbsim.New(cmbsim.Config{AppID: appID, Secret: secret, ParkCode: parkCode, Guaranteed: true, MaxKept: 1000})
	platform := httptest.NewServer(psim.Handler())
	defer platform.Close()
	for _, p := range exitPaths {
		for i := range each {
			if p.bound {
				if err := psim.AddAgreement(p.inside(i), 100000); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	client, err := cmb.NewClient(cmb.Config{BaseURL: platform.URL, AppID: appID, Secret: secret, ParkCode: parkCode})
	if err != nil {
		tb.Fatal(err)
	}
	up := &benchUplink{http: client, wire: make(chan time.Time, 1)}
	rtt := bareRoundTrip(tb, platform.URL)
	clk := clock.Real{}
	lane := sim.NewLane(clk, sim.LaneConfig{Name: "exit1", CameraAddr: 1})
	bar := &signalBarrier{Barrier: lane.Barrier, opened: make(chan time.Time, 1)}
	decided := decisionLog{at: make(chan time.Time, 1)}
	ctl, err := edge.New(edge.Config{ParkCode: parkCode, Guaranteed: true, Spaces: edge.Spaces{Total: 2 * open}, RetryBase: time.Hour, RetryCap: time.Hour},
		[]edge.LaneConfig{{Name: "exit1", Kind: edge.Exit, Code: 1, Arming: lane.Arming, Safety: lane.Safety, Barrier: bar, Camera: lane.Camera}},
		edge.Deps{Store: db, Tariff: benchTariff(tb), Uplink: up, Clock: clk, Logger: slog.New(decided)})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() { cancel(); <-done }()

	bare, err := bolt.Open(filepath.Join(dir, "bare.db"), 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer bare.Close()
	if err := bare.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		tb.Fatal(err)
	}
	bareCommit := func(key int) time.Duration {
		t := time.Now()
		if err := bare.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "%09d", key), []byte("x"))
		}); err != nil {
			tb.Fatal(err)
		}
		return time.Since(t)
	}
	dec := camera.LaneFrame{}.NewDecoder()
	var out []exitResult
	seq := 0
	for _, p := range exitPaths {
		read := p.read
		if read == nil {
			read = p.inside
		}
		frames := make([][]byte, each)
		for i := range each {
			frames[i], err = camera.EncodePlate(1, byte(seq+i), hal.PlateEvent{Kind: hal.KindPlate, Plate: read(i), Conf: 96, Trigger: hal.TriggerIO, CameraTime: now})
			if err != nil {
				tb.Fatal(err)
			}
		}
		wait := decided.at
		if p.relay {
			wait = bar.opened
		}
		exits := make([]time.Duration, 0, each)
		commits := make([]time.Duration, 0, each)
		var wires, rtts, nets, floors []time.Duration
		pages0 := db.PagesWritten()
		bare0 := barePages(bare)
		for i := range each {
			select { // a stamp left by an earlier path's uplink
			case <-up.wire:
			default:
			}
			t0 := time.Now()
			res := dec.Feed(frames[i], t0)
			if len(res) != 1 || res[0].Frame == nil {
				tb.Fatalf("%s: frame %d decoded to %+v", p.name, i, res)
			}
			lane.Camera.ShowEvent(res[0].Frame.Event)
			if p.bound {
				select {
				case t1 := <-up.wire:
					wires = append(wires, t1.Sub(t0))
				case <-time.After(time.Minute):
					tb.Fatalf("%s: exit %d (%s): no AutoPay on the wire within a minute", p.name, i, read(i))
				}
			}
			select {
			case t1 := <-wait:
				exits = append(exits, t1.Sub(t0))
			case <-time.After(time.Minute):
				tb.Fatalf("%s: exit %d (%s): no decision within a minute", p.name, i, read(i))
			}
			c := bareCommit(seq + i)
			commits = append(commits, c)
			if p.bound {
				c2, r := bareCommit(100_000_000+seq+i), rtt()
				rtts, nets, floors = append(rtts, r), append(nets, c+r), append(floors, c+c2+r)
			}
		}
		pages := db.PagesWritten() - pages0
		r := exitResult{path: p, open: open, exits: each, pagesPerExit: float64(pages) / float64(each), barePages: float64(barePages(bare)-bare0) / float64(each)}
		r.p50, r.p99 = percentiles(exits)
		r.bp50, r.bp99 = percentiles(commits)
		if p.bound {
			// The second bare commit of each exit is in barePages: count
			// per commit.
			r.barePages /= 2
			r.wp50, r.wp99 = percentiles(wires)
			r.rtt50, r.rtt99 = percentiles(rtts)
			r.np50, r.np99 = percentiles(nets)
			r.fp50, r.fp99 = percentiles(floors)
		}
		out = append(out, r)
		seq += each
		checkExits(tb, db, p, each)
	}
	return out
}

// barePages counts the pages the bare file has had written.
func barePages(b *bolt.DB) int64 {
	st := b.Stats()
	return st.TxStats.GetWrite()
}

// checkExits verifies that the path's exits did what they were timed for.
func checkExits(tb testing.TB, db *store.DB, p exitPath, each int) {
	tb.Helper()
	for i := range each {
		if p.inside == nil {
			continue
		}
		r, err := db.OpenByPlate(p.inside(i))
		switch {
		case p.relay && !errors.Is(err, store.ErrNotFound):
			tb.Fatalf("%s: exit %d did not close its record: %v", p.name, i, err)
		case !p.relay && (err != nil || r.State != store.StateLeaving):
			tb.Fatalf("%s: exit %d: record %+v, %v; want it leaving", p.name, i, r, err)
		}
	}
}

// BenchmarkExitDecision: b.N free exits among 10k open records (frame →
// relay), beside a bare single-key bbolt commit after each. Metrics:
// exit-p50/p99-µs, bare-p50/p99-µs, ratio-p99. TestBenchTable runs every
// path at 10k and 100k.
func BenchmarkExitDecision(b *testing.B) {
	saved := exitPaths
	exitPaths = exitPaths[:1]
	defer func() { exitPaths = saved }()
	b.ResetTimer()
	r := benchExits(b, 10000, b.N)[0]
	b.StopTimer()
	b.ReportMetric(float64(r.p50.Nanoseconds())/1e3, "exit-p50-µs")
	b.ReportMetric(float64(r.p99.Nanoseconds())/1e3, "exit-p99-µs")
	b.ReportMetric(float64(r.bp50.Nanoseconds())/1e3, "bare-p50-µs")
	b.ReportMetric(float64(r.bp99.Nanoseconds())/1e3, "bare-p99-µs")
	if r.bp99 > 0 {
		b.ReportMetric(float64(r.p99)/float64(r.bp99), "ratio-p99")
	}
}

// TestExitPaths is make bench's exit measurement in small (2,000 open
// records, 20 exits a path): every path decides as timed (checkExits) and
// each is measured.
func TestExitPaths(t *testing.T) {
	for _, r := range benchExits(t, 2000, 20) {
		if r.exits != 20 || r.p99 <= 0 || r.bp99 <= 0 {
			t.Errorf("%s: %+v; want 20 exits timed", r.path.name, r)
		}
		if r.path.bound && (r.wp99 <= 0 || r.wp99 > r.p99 || r.rtt99 <= 0 || r.np99 <= 0 || r.fp99 < r.np99) {
			t.Errorf("%s: %+v; want the AutoPay on the wire before the relay, and the round trip and baselines timed", r.path.name, r)
		}
		t.Logf("%s: p50 %v p99 %v, bare p50 %v p99 %v; %.1f pages/exit, bare %.1f", r.path.name, r.p50, r.p99, r.bp50, r.bp99, r.pagesPerExit, r.barePages)
		if r.path.bound {
			t.Logf("%s: on the wire p50 %v p99 %v; bare round trip p50 %v p99 %v; bare commit + round trip p99 %v; 2 bare commits + round trip p99 %v", r.path.name, r.wp50, r.wp99, r.rtt50, r.rtt99, r.np99, r.fp99)
		}
	}
}

// benchUplink answers the uplinks of the paths that do not wait for the
// platform at once with status 0, in process (their Outdata go in the
// background and do not delay the next exit's commit with an HTTP
// exchange); AutoPay and PayOrderStatus go over loopback HTTP to a cmbsim,
// and wire receives the instant each AutoPay is handed to the client.
type benchUplink struct {
	http *cmb.Client
	wire chan time.Time
}

func (u *benchUplink) Send(ctx context.Context, ep string, v url.Values) (cmb.Envelope, error) {
	switch ep {
	case cmb.EpAutoPay:
		select {
		case u.wire <- time.Now():
		default:
		}
		return u.http.Send(ctx, ep, v)
	case cmb.EpPayOrderStatus:
		return u.http.Send(ctx, ep, v)
	}
	return cmb.Envelope{Status: 0, Message: "success"}, nil
}

// bareRoundTrip returns a timed bare loopback HTTP round trip to the
// platform at base: net/http POSTs a signed AutoPayStatus (a query that
// changes nothing) and reads the whole answer, which must be status 0.
func bareRoundTrip(tb testing.TB, base string) func() time.Duration {
	tb.Helper()
	v, err := cmb.AutoPayStatus{ParkCode: parkCode, VplNumber: "沪C00000"}.Values()
	if err != nil {
		tb.Fatal(err)
	}
	v.Set(cmb.ParamAppID, appID)
	v.Set(cmb.ParamSign, cmb.SignFor(cmb.EpAutoPayStatus, v, secret))
	body := []byte(v.Encode())
	url := strings.TrimRight(base, "/") + "/api/" + cmb.EpAutoPayStatus
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	tb.Cleanup(hc.CloseIdleConnections)
	return func() time.Duration {
		t := time.Now()
		resp, err := hc.Post(url, "application/x-www-form-urlencoded", bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"status":0`)) {
			tb.Fatalf("bare round trip: %d %q %v", resp.StatusCode, b, err)
		}
		return d
	}
}
