package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	"laned/store"
)

// offline is a platform that cannot be reached: the dispatcher holds, so
// a benchmark measures the lane or the callbacks, not the uplinks.
type offline struct{}

func (offline) Send(context.Context, string, url.Values) (cmb.Envelope, error) {
	return cmb.Envelope{}, fmt.Errorf("bench: %w", cmb.ErrNotDelivered)
}

// signalBarrier tells when the relay was commanded.
type signalBarrier struct {
	hal.Barrier
	opened chan time.Time
}

func (b *signalBarrier) Open(ctx context.Context) error {
	err := b.Barrier.Open(ctx)
	b.opened <- time.Now()
	return err
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

// openStore is a store in dir with n open records (plates 粤B00000…)
// that entered three hours ago.
func openStore(tb testing.TB, dir string, n int, extra []store.Record) *store.DB {
	tb.Helper()
	return openStoreOpt(tb, dir, n, extra, store.Options{})
}

// openStoreOpt is openStore with the store's options (a site's box).
func openStoreOpt(tb testing.TB, dir string, n int, extra []store.Record, opt store.Options) *store.DB {
	tb.Helper()
	db, _, err := store.Open(filepath.Join(dir, "laned.db"), opt)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	recs := slices.Clone(extra)
	for i := range n {
		recs = append(recs, store.Record{Plate: fmt.Sprintf("粤B%05d", i), InCode: 1, InTime: now.Add(-3 * time.Hour), CarType: 1, PowerType: 1})
	}
	for chunk := range slices.Chunk(recs, 5000) {
		if err := db.ImportOpen(chunk); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

func benchTariff(tb testing.TB) *tariff.Engine {
	eng, err := tariff.New(tariff.Config{Small: &tariff.RuleSet{FreeMinutes: 15, FirstMinutes: 60, FirstPrice: 500, NextMinutes: 30, NextPrice: 200, DailyCap: 4000}, FallbackToSmall: true})
	if err != nil {
		tb.Fatal(err)
	}
	return eng
}

// bareCalc is the baseline of the calc target: a net/http handler that
// parses the same form, checks the same MD5 sign and answers JSON.
func bareCalc(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := cmb.Verify(r.PostForm, secret); err != nil || r.PostForm.Get("appid") != appID {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"status":401,"message":"bad sign"}`)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	io.WriteString(w, `{"status":0,"message":"ok","data":{"vpl_number":"`+r.PostForm.Get("vpl_number")+`"}}`)
}

// load drives url with signed calc bodies from conns connections for d
// and returns requests per second and the p99 latency. Every answer must
// be HTTP 200 with status 0.
func load(tb testing.TB, url string, bodies [][]byte, conns int, d time.Duration) (rps float64, p99 time.Duration) {
	tb.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for w := range conns {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			var mine []time.Duration
			buf := make([]byte, 4096)
			for time.Now().Before(end) {
				t0 := time.Now()
				resp, err := c.Post(url, "application/x-www-form-urlencoded", bytes.NewReader(bodies[rnd.IntN(len(bodies))]))
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				n, _ := io.ReadFull(resp.Body, buf)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(buf[:n], []byte(`{"status":0`)) {
					mu.Lock()
					failed = fmt.Errorf("answer %d %q", resp.StatusCode, buf[:n])
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed != nil {
		tb.Fatalf("load %s: %v", url, failed)
	}
	_, p99 = percentiles(lat)
	return float64(len(lat)) / d.Seconds(), p99
}

// calcBodies are signed calc requests for plates among the open records.
func calcBodies(tb testing.TB, n int) [][]byte {
	var out [][]byte
	for i := range 512 {
		v, err := cmb.CalcRequest{ParkCode: parkCode, VplNumber: fmt.Sprintf("粤B%05d", (i*7919)%n)}.Values()
		if err != nil {
			tb.Fatal(err)
		}
		v.Set("appid", appID)
		v.Set("sign", cmb.Sign(v, secret))
		out = append(out, []byte(v.Encode()))
	}
	return out
}

// calcConns is the load's concurrency: wrk -t2 -c32 as the design states.
const calcConns = 32

// BenchmarkCalc: signed calc callbacks over loopback HTTP, answered by
// cmb.Server and edge.Controller with 10k open records, beside a bare
// net/http handler parsing the same form and checking the same sign,
// driven by the same load (32 connections) in the same run. b.N scales
// the duration (100 ms each). Metrics: rps, bare-rps, ratio, p99-µs.
func BenchmarkCalc(b *testing.B) {
	benchCalc(b, b.N)
}

// benchCalc runs n iterations (TestBenchTable sets a floor).
func benchCalc(b *testing.B, n int) {
	const openRecords = 10000
	db := openStore(b, b.TempDir(), openRecords, nil)
	defer db.Close()
	clk := clock.Real{}
	lane := sim.NewLane(clk, sim.LaneConfig{Name: "exit1", CameraAddr: 1})
	ctl, err := edge.New(edge.Config{ParkCode: parkCode, Spaces: edge.Spaces{Total: 2 * openRecords}, RetryBase: time.Hour, RetryCap: time.Hour},
		[]edge.LaneConfig{{Name: "exit1", Kind: edge.Exit, Code: 1, Arming: lane.Arming, Safety: lane.Safety, Barrier: lane.Barrier, Camera: lane.Camera}},
		edge.Deps{Store: db, Tariff: benchTariff(b), Uplink: offline{}, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode, Prefix: "/"}, ctl)
	if err != nil {
		b.Fatal(err)
	}
	lanedSrv := httptest.NewServer(srv)
	defer lanedSrv.Close()
	bareSrv := httptest.NewServer(http.HandlerFunc(bareCalc))
	defer bareSrv.Close()
	bodies := calcBodies(b, openRecords)
	d := time.Duration(n) * 100 * time.Millisecond
	b.ResetTimer()
	bareRPS, bareP99 := load(b, bareSrv.URL+"/cmbParking/calc", bodies, calcConns, d)
	rps, p99 := load(b, lanedSrv.URL+"/cmbParking/calc", bodies, calcConns, d)
	b.StopTimer()
	b.ReportMetric(rps, "rps")
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(bareRPS, "bare-rps")
	b.ReportMetric(float64(bareP99.Nanoseconds())/1e3, "bare-p99-µs")
	b.ReportMetric(rps/bareRPS, "ratio")
}

// indataMsgs are n queued Indata uplinks for distinct records.
func indataMsgs(tb testing.TB, n int, at time.Time) []store.Message {
	tb.Helper()
	out := make([]store.Message, n)
	for i := range n {
		id := fmt.Sprintf("%s%03d%09d", at.UTC().Format("20060102150405"), 1, i)
		v, err := cmb.Indata{ParkCode: parkCode, InCode: 1, VplNumber: fmt.Sprintf("粤B%05d", i%100000), RecordID: id, InTime: at.Unix(), CarType: 1, PowerType: 1}.Values()
		if err != nil {
			tb.Fatal(err)
		}
		p := make(map[string]string, len(v))
		for k := range v {
			p[k] = v.Get(k)
		}
		out[i] = store.Message{Kind: store.KindIndata, RecordID: id, Params: p, Created: at, Due: at}
	}
	return out
}

// BenchmarkOutboxEnqueue: one uplink queued per durable transaction, as a
// lane does. Metric: msgs/s.
func BenchmarkOutboxEnqueue(b *testing.B) {
	benchOutboxEnqueue(b, b.N)
}

// benchOutboxEnqueue runs n iterations (TestBenchTable sets a floor).
func benchOutboxEnqueue(b *testing.B, n int) { benchEnqueue(b, n, 1) }

// enqueueCallers is how many goroutines BenchmarkOutboxEnqueueConcurrent
// enqueues from: lanes, callbacks and timers of a busy car park.
const enqueueCallers = 16

// BenchmarkOutboxEnqueueConcurrent: enqueueCallers goroutines each queue
// one uplink per Enqueue call; each call returns once its message is
// durable, and concurrent calls share a commit (the store's group
// commit). Metric: msgs/s.
func BenchmarkOutboxEnqueueConcurrent(b *testing.B) {
	benchOutboxEnqueueConcurrent(b, b.N)
}

// benchOutboxEnqueueConcurrent runs n enqueues (TestBenchTable sets a floor).
func benchOutboxEnqueueConcurrent(b *testing.B, n int) { benchEnqueue(b, n, enqueueCallers) }

// emptyStore is a fresh store in a temporary directory.
func emptyStore(tb testing.TB) *store.DB {
	tb.Helper()
	db, _, err := store.Open(filepath.Join(tb.TempDir(), "laned.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// benchEnqueue queues n Indata, one per Enqueue call, from callers
// goroutines, and reports msgs/s.
func benchEnqueue(b *testing.B, n, callers int) {
	db := emptyStore(b)
	msgs := indataMsgs(b, n, time.Now())
	b.ResetTimer()
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if _, err := db.Enqueue(msgs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "msgs/s")
}

// BenchmarkOutboxDrain: b.N queued Indata drained by the controller's
// dispatcher to an in-process platform simulator over loopback HTTP.
// Metric: msgs/s.
func BenchmarkOutboxDrain(b *testing.B) {
	benchOutboxDrain(b, b.N)
}

// benchOutboxDrain runs n iterations (TestBenchTable sets a floor).
func benchOutboxDrain(b *testing.B, n int) {
	db := emptyStore(b)
	msgs := indataMsgs(b, n, time.Now())
	for chunk := range slices.Chunk(msgs, 5000) {
		if _, err := db.Enqueue(chunk...); err != nil {
			b.Fatal(err)
		}
	}
	psim := cmbsim.New(cmbsim.Config{AppID: appID, Secret: secret, ParkCode: parkCode, MaxKept: 1000})
	platform := httptest.NewServer(psim.Handler())
	defer platform.Close()
	client, err := cmb.NewClient(cmb.Config{BaseURL: platform.URL, AppID: appID, Secret: secret, ParkCode: parkCode})
	if err != nil {
		b.Fatal(err)
	}
	ctl, err := edge.New(edge.Config{ParkCode: parkCode, Spaces: edge.Spaces{Total: 100}}, nil,
		edge.Deps{Store: db, Tariff: benchTariff(b), Uplink: client})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ResetTimer()
	t0 := time.Now()
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	for {
		st, err := db.OutboxStats(time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if st.ByKind[store.KindIndata] == 0 {
			break
		}
		if time.Since(t0) > 10*time.Minute {
			b.Fatalf("outbox still holds %d", st.Count)
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(t0)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
}

// ---- make bench: the table ----

// row is one line of the table, fig its entry in dist/bench.json (its
// name and figures; nil: the line's own).
type row struct {
	what, value, baseline, target, verdict string
	fig                                    map[string]any
}

// exitsEach is how many exits of each path make bench times at each size.
const exitsEach = 2000

// The bounds for every exit path: the target, p99 within 1.5×
// the bare commit's p99 of the same run, and the design's absolute p99
// within 1 ms.
const (
	exitTarget   = 1.5
	exitBoundP99 = time.Millisecond
)

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func verdict(pass bool) string {
	if pass {
		return "met"
	}
	return "MISSED"
}

// exitRows are the table's rows of one path at one size: one for a path
// that the lane decides alone; for a contactless path, the lane's own
// part (frame → AutoPay on the wire) against the same targets, and the
// whole exit (frame → relay on the platform's answer) against bare commit
// + bare round trip to the same platform, with the floor the spec sets
// beside it (two durable commits + the round trip).
func exitRows(r exitResult) []row {
	what, to := "frame → relay", "relay"
	if !r.path.relay {
		what, to = "frame → decision", "decision"
	}
	open := fmt.Sprintf("%dk open", r.open/1000)
	ratioTarget := fmt.Sprintf("p99 ≤ %.1f× baseline p99", exitTarget)
	absTarget := fmt.Sprintf("p99 ≤ %v", exitBoundP99)
	target := fmt.Sprintf("≤ %.1f× bare (issue 12); p99 ≤ 1 ms (design)", exitTarget)
	// lane is a row against the bare commit: the ratio and the absolute
	// bound, each with its own verdict.
	lane := func(name, path, until string, p50, p99 time.Duration) row {
		ratio := float64(p99) / float64(r.bp99)
		met, abs := ratio <= exitTarget, p99 <= exitBoundP99
		v := fmt.Sprintf("%.2f× — %s; p99 ≤ 1 ms — %s", ratio, verdict(met), verdict(abs))
		if !abs && r.bp99 > exitBoundP99 {
			v += fmt.Sprintf(" (the bare commit's own p99 is %.0f µs)", us(r.bp99))
		}
		return row{name,
			fmt.Sprintf("p50 %.0f µs, p99 %.0f µs; %.1f pages/exit", us(p50), us(p99), r.pagesPerExit),
			fmt.Sprintf("bare commit p50 %.0f µs, p99 %.0f µs; %.1f pages", us(r.bp50), us(r.bp99), r.barePages),
			target, v,
			map[string]any{"name": name, "path": path, "open_records": r.open, "exits": r.exits, "until": until,
				"p50_us": us(p50), "p99_us": us(p99), "baseline": "bare single-key bbolt commit", "baseline_p50_us": us(r.bp50), "baseline_p99_us": us(r.bp99),
				"ratio_p99": ratio, "target": ratioTarget, "met": met,
				"absolute_target": absTarget, "absolute_met": abs, "baseline_absolute_met": r.bp99 <= exitBoundP99,
				"pages_per_exit": r.pagesPerExit, "baseline_pages_per_commit": r.barePages}}
	}
	if !r.path.bound {
		return []row{lane(fmt.Sprintf("exit %s, %s (%s)", r.path.name, open, what), r.path.name, to, r.p50, r.p99)}
	}
	own := lane(fmt.Sprintf("exit contactless, the lane's part, %s (frame → AutoPay durable and on the wire)", open), "contactless, the lane's part", "autopay on the wire", r.wp50, r.wp99)
	own.value = fmt.Sprintf("p50 %.0f µs, p99 %.0f µs", us(r.wp50), us(r.wp99))
	delete(own.fig, "pages_per_exit")
	name := fmt.Sprintf("exit %s, %s (%s)", r.path.name, open, what)
	ratio, floor := float64(r.p99)/float64(r.np99), float64(r.p99)/float64(r.fp99)
	met := ratio <= exitTarget
	full := row{name,
		fmt.Sprintf("p50 %.0f µs, p99 %.0f µs; %.1f pages/exit", us(r.p50), us(r.p99), r.pagesPerExit),
		fmt.Sprintf("bare commit + bare loopback round trip to the same cmbsim p50 %.0f µs, p99 %.0f µs (round trip alone p99 %.0f µs); floor by spec, 2 bare commits + round trip, p99 %.0f µs",
			us(r.np50), us(r.np99), us(r.rtt99), us(r.fp99)),
		fmt.Sprintf("≤ %.1f× bare commit + round trip; 1 ms n/a (the bank's answer is on the path)", exitTarget),
		fmt.Sprintf("%.2f× — %s (%.2f× the floor)", ratio, verdict(met), floor),
		map[string]any{"name": name, "path": r.path.name, "open_records": r.open, "exits": r.exits, "until": to,
			"p50_us": us(r.p50), "p99_us": us(r.p99),
			"baseline":        "bare single-key bbolt commit + bare loopback HTTP round trip to the same cmbsim, per exit",
			"baseline_p50_us": us(r.np50), "baseline_p99_us": us(r.np99), "ratio_p99": ratio,
			"target": ratioTarget, "met": met, "absolute_target": "none: released on the platform's answer (issue 11)",
			"round_trip_p50_us": us(r.rtt50), "round_trip_p99_us": us(r.rtt99),
			"commit_p50_us": us(r.bp50), "commit_p99_us": us(r.bp99),
			"floor":        "2 bare commits + the round trip (the AutoPay durable before it goes, its outcome durable before the barrier)",
			"floor_p50_us": us(r.fp50), "floor_p99_us": us(r.fp99), "ratio_p99_floor": floor,
			"pages_per_exit": r.pagesPerExit, "baseline_pages_per_commit": r.barePages}}
	return []row{own, full}
}

// TestBenchTable prints the design's targets, each beside its baseline
// measured in the same run (make bench; LANED_BENCH=1), and writes them
// to LANED_BENCH_JSON when set (make bench: dist/bench.json).
func TestBenchTable(t *testing.T) {
	if os.Getenv("LANED_BENCH") == "" {
		t.Skip("the benchmark table: LANED_BENCH=1 (make bench)")
	}
	var rows []row
	ok := verdict
	metric := func(r testing.BenchmarkResult, name string) float64 { return r.Extra[name] }

	// Every exit path at 10k and 100k open records. Two verdicts each:
	// the target, p99 within 1.5× the bare commit's p99 of the
	// same run ("met"), and the design's absolute p99 ≤ 1 ms, which a
	// disk whose bare commit alone has a p99 above 1 ms cannot meet (the
	// baseline's own figure is given beside it).
	var cp50 float64
	for _, open := range []int{10000, 100000} {
		for _, r := range benchExits(t, open, exitsEach) {
			if open == 10000 && r.path.name == exitPaths[0].name {
				cp50 = us(r.bp50)
			}
			rs := exitRows(r)
			rows = append(rows, rs...)
			for _, last := range rs {
				t.Logf("%s: %s; %s; %s", last.what, last.value, last.baseline, last.verdict) // kept if a later figure fails
			}
		}
	}

	// calc: 3 s of load on each server.
	cr := testing.Benchmark(func(b *testing.B) { benchCalc(b, max(b.N, 30)) })
	rps, bare, p99, bp99 := metric(cr, "rps"), metric(cr, "bare-rps"), metric(cr, "p99-µs"), metric(cr, "bare-p99-µs")
	name := fmt.Sprintf("calc callbacks, signed, 10k open, loopback, %d conns", calcConns)
	rows = append(rows, row{name,
		fmt.Sprintf("%.0f req/s, p99 %.1f ms", rps, p99/1000), fmt.Sprintf("bare net/http %.0f req/s, p99 %.1f ms", bare, bp99/1000),
		"≥ 0.6× bare", fmt.Sprintf("%.2f× — %s", rps/bare, ok(rps >= 0.6*bare)),
		map[string]any{"name": name, "req_per_s": rps, "p99_us": p99, "baseline_req_per_s": bare, "baseline_p99_us": bp99,
			"ratio": rps / bare, "target": "≥ 0.6× baseline req/s", "met": rps >= 0.6*bare}})

	// Outbox.
	enq := testing.Benchmark(func(b *testing.B) { benchOutboxEnqueue(b, max(b.N, 3000)) })
	enqc := testing.Benchmark(func(b *testing.B) { benchOutboxEnqueueConcurrent(b, max(b.N, 10000)) })
	dr := testing.Benchmark(func(b *testing.B) { benchOutboxDrain(b, max(b.N, 10000)) })
	er, erc, drr := metric(enq, "msgs/s"), metric(enqc, "msgs/s"), metric(dr, "msgs/s")
	cname := fmt.Sprintf("outbox enqueue, %d concurrent callers (group commit)", enqueueCallers)
	rows = append(rows,
		row{"outbox enqueue, one caller (one durable commit each)", fmt.Sprintf("%.0f /s", er), fmt.Sprintf("bare bbolt commits ≈ %.0f /s (1/p50)", 1e6/cp50), "— (bound by fsync)", "",
			map[string]any{"name": "outbox enqueue, one caller (one durable commit each)", "per_s": er, "baseline_per_s": 1e6 / cp50}},
		row{cname, fmt.Sprintf("%.0f /s", erc), fmt.Sprintf("bare bbolt commits ≈ %.0f /s (1/p50)", 1e6/cp50), "≥ 5,000/s", ok(erc >= 5000),
			map[string]any{"name": cname, "per_s": erc, "baseline_per_s": 1e6 / cp50, "target": "≥ 5000/s", "met": erc >= 5000}},
		row{"outbox drain to a local cmbsim", fmt.Sprintf("%.0f /s", drr), "—", "≥ 1,000/s", ok(drr >= 1000),
			map[string]any{"name": "outbox drain to a local cmbsim", "per_s": drr, "target": "≥ 1000/s", "met": drr >= 1000}})
	survived := backlogSurvives(t, 100000)
	rows = append(rows, row{"outbox backlog of 100k across a restart", fmt.Sprintf("%d of 100000 kept", survived), "—", "all kept", ok(survived == 100000),
		map[string]any{"name": "outbox backlog of 100k across a restart", "kept": survived, "queued": 100000, "target": "all kept", "met": survived == 100000}})

	// Footprint.
	for _, a := range []struct{ name, goarch, goarm string }{{"linux/arm GOARM=6", "arm", "6"}, {"linux/arm GOARM=7", "arm", "7"}, {"linux/arm64", "arm64", ""}} {
		size := crossSize(t, a.goarch, a.goarm)
		target, verdict := "—", ""
		fig := map[string]any{"name": "laned binary, " + a.name, "bytes": size}
		if a.goarch == "arm64" {
			// The design's 15 MB was set before the site's embedded NATS
			// server (issue 18 measured +9.5 MB and set ≤ 25 MB).
			target, verdict = "≤ 25 MB (with the site's NATS)", ok(size <= 25e6)
			fig["target"], fig["met"] = "≤ 25 MB", size <= 25e6
		}
		rows = append(rows, row{"laned binary, " + a.name, fmt.Sprintf("%.1f MB", float64(size)/1e6), "—", target, verdict, fig})
	}
	rss, anon, file, start := footprint(t, 100000, false)
	srss, sanon, sfile, _ := footprint(t, 100000, true)
	rows = append(rows, row{"resident memory, a site's gateway box (embedded NATS, its log of 100k records published), 100k records, serving",
		fmt.Sprintf("%.1f MB (anon %.1f MB, file-backed %.1f MB)", float64(srss)/1e6, float64(sanon)/1e6, float64(sfile)/1e6), "—", "≤ 60 MB", ok(srss <= 60e6),
		map[string]any{"name": "resident memory, a site box, 100k records, serving", "rss_bytes": srss, "anon_bytes": sanon, "file_bytes": sfile, "target": "≤ 60 MB", "met": srss <= 60e6}})
	rows = append(rows,
		row{"resident memory, 100k records, serving", fmt.Sprintf("%.1f MB (anon %.1f MB, file-backed %.1f MB)", float64(rss)/1e6, float64(anon)/1e6, float64(file)/1e6), "—", "≤ 30 MB", ok(rss <= 30e6),
			map[string]any{"name": "resident memory, 100k records, serving", "rss_bytes": rss, "anon_bytes": anon, "file_bytes": file, "target": "≤ 30 MB", "met": rss <= 30e6}},
		row{"start to serving callbacks, 100k records", fmt.Sprintf("%d ms", start.Milliseconds()), "—", "≤ 300 ms", ok(start <= 300*time.Millisecond),
			map[string]any{"name": "start to serving callbacks, 100k records", "ms": start.Milliseconds(), "target": "≤ 300 ms", "met": start <= 300*time.Millisecond}})

	var sb strings.Builder
	fmt.Fprintf(&sb, "\n| what | measured | baseline, same run | target | ratio / verdict |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |\n", r.what, r.value, r.baseline, r.target, r.verdict)
	}
	fmt.Fprintf(&sb, "\n%s, %s/%s, %d CPUs\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Print(sb.String())
	if path := os.Getenv("LANED_BENCH_JSON"); path != "" {
		if err := writeBenchJSON(path, rows); err != nil {
			t.Fatal(err)
		}
	}
}

// writeBenchJSON writes the figures as a JSON list, the machine last.
func writeBenchJSON(path string, rows []row) error {
	var figs []map[string]any
	for _, r := range rows {
		figs = append(figs, r.fig)
	}
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg") // other work on the machine moves every figure
	figs = append(figs, map[string]any{"name": "machine", "go": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		"cpus": runtime.NumCPU(), "cpu_model": model, "loadavg": strings.TrimSpace(string(load)), "at": time.Now().UTC().Format(time.RFC3339)})
	b, err := json.MarshalIndent(figs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// backlogSurvives queues n uplinks, closes the store as a power cut would
// leave it (every enqueue was committed), reopens it and counts.
func backlogSurvives(t *testing.T, n int) int {
	path := filepath.Join(t.TempDir(), "laned.db")
	db, _, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for chunk := range slices.Chunk(indataMsgs(t, n, time.Now()), 5000) {
		if _, err := db.Enqueue(chunk...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db, _, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.OutboxStats(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return st.Count
}

// crossSize builds laned as make cross does and returns its size.
func crossSize(t *testing.T, goarch, goarm string) int64 {
	out := filepath.Join(t.TempDir(), "laned")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "laned/cmd/laned")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM="+goarm)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s %s: %v\n%s", goarch, goarm, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// footprint starts the real laned on a store of n open records and
// returns its resident memory once serving (after a second of settling)
// and the time from exec to the first answered health probe. site: laned
// is the gateway box "a" of a two-box site (its embedded NATS server
// listening for the other box), its records in its replication log, and
// it is measured in service: restarted after it published them all to its
// stream.
func footprint(t *testing.T, n int, site bool) (rss, anon, file int64, start time.Duration) {
	rg := newRig(t)
	port := rg.port
	if err := os.MkdirAll(filepath.Join(rg.dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	var opt store.Options
	if site {
		opt.Box = "a"
		siteConfig(t, rg)
	}
	db := openStoreOpt(t, filepath.Join(rg.dir, "data"), n, nil, opt)
	db.Close()
	if site {
		// A first life publishes the imported records' log (a catch-up
		// whose reads of the whole log leave the file's pages resident);
		// the box is measured in service, after a restart.
		d, _, err := startLaned(t, rg.laned, rg.cfg, port, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		waitPublished(t, rg.sock, d)
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		// In service the stream's duplicate window (20 s) holds the ids
		// of the last seconds' entries, not of a catch-up's 100k.
		time.Sleep(21 * time.Second)
	}
	d, took, err := startLaned(t, rg.laned, rg.cfg, port, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	// Some callbacks, as the platform would send.
	c := &http.Client{Timeout: 5 * time.Second}
	for _, body := range calcBodies(t, n)[:100] {
		resp, err := c.Post(fmt.Sprintf("http://127.0.0.1:%d/cmbParking/calc", port), "application/x-www-form-urlencoded", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if site {
		waitPublished(t, rg.sock, d)
	}
	time.Sleep(time.Second)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "RssAnon:":
			anon = kb << 10
		case "RssFile:":
			file = kb << 10
		}
	}
	return rss, anon, file, took
}

// TestExitRows: the table states the ratio target and the absolute bound
// separately, and a contactless path gets the lane's own part against the
// bare commit and the whole exit against bare commit + round trip.
func TestExitRows(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	free := exitResult{path: exitPaths[0], open: 10000, exits: 10, p50: ms(0.7), p99: ms(2.0), bp50: ms(0.6), bp99: ms(1.9)}
	rs := exitRows(free)
	if len(rs) != 1 {
		t.Fatalf("exitRows(free) = %d rows; want 1", len(rs))
	}
	f := rs[0].fig
	if f["met"] != true || f["absolute_met"] != false || f["baseline_absolute_met"] != false {
		t.Errorf("free at 1.05×, p99 2 ms: met %v absolute_met %v baseline_absolute_met %v; want true false false", f["met"], f["absolute_met"], f["baseline_absolute_met"])
	}
	if want := "1.05× — met; p99 ≤ 1 ms — MISSED (the bare commit's own p99 is 1900 µs)"; rs[0].verdict != want {
		t.Errorf("verdict = %q; want %q", rs[0].verdict, want)
	}
	for _, k := range []string{"name", "p50_us", "p99_us", "baseline_p50_us", "baseline_p99_us", "ratio_p99", "target", "met"} {
		if _, ok := f[k]; !ok {
			t.Errorf("free: no %q in %v", k, f)
		}
	}

	var cl exitPath
	for _, p := range exitPaths {
		if p.bound {
			cl = p
		}
	}
	c := exitResult{path: cl, open: 100000, exits: 10, p50: ms(2), p99: ms(4), bp50: ms(0.5), bp99: ms(1),
		wp50: ms(0.6), wp99: ms(1.2), rtt50: ms(0.2), rtt99: ms(0.5), np50: ms(0.8), np99: ms(2), fp50: ms(1.4), fp99: ms(3)}
	rs = exitRows(c)
	if len(rs) != 2 {
		t.Fatalf("exitRows(contactless) = %d rows; want 2", len(rs))
	}
	own, full := rs[0].fig, rs[1].fig
	if own["ratio_p99"] != 1.2 || own["met"] != true || own["absolute_met"] != false {
		t.Errorf("lane's part: ratio %v met %v absolute_met %v; want 1.2 true false", own["ratio_p99"], own["met"], own["absolute_met"])
	}
	if full["ratio_p99"] != 2.0 || full["met"] != false || full["baseline_p99_us"] != 2000.0 || full["floor_p99_us"] != 3000.0 {
		t.Errorf("full: ratio %v met %v baseline_p99_us %v floor_p99_us %v; want 2 false 2000 3000", full["ratio_p99"], full["met"], full["baseline_p99_us"], full["floor_p99_us"])
	}
}

// siteConfig makes the rig's laned the gateway box "a" of a two-box site
// whose other box never comes: its NATS server listens on a free port.
func siteConfig(t *testing.T, rg *rig) {
	t.Helper()
	cred := filepath.Join(rg.dir, "site.cred")
	if err := os.WriteFile(cred, []byte("user=laned\npassword=bench-site-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(rg.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\ngateway = true\nlisten = \"127.0.0.1:%d\"\ncredentials = %q\n", freePort(t), cred); err != nil {
		t.Fatal(err)
	}
}

// waitPublished waits until the console's site command shows the box's
// whole log on its stream.
func waitPublished(t *testing.T, sock string, d *daemonProc) {
	t.Helper()
	cc, err := dialConsole(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	deadline := time.Now().Add(5 * time.Minute) // a hang guard, not a timing goal
	for {
		out, err := cc.do("site")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "log\thead") || strings.Contains(out, "log ") {
			if line := siteLogLine(out); line != "" && !strings.Contains(line, "not yet on the site") {
				return
			}
		}
		select {
		case err := <-d.done:
			t.Fatalf("laned exited while publishing: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the box's log was not published after 5 minutes:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// siteLogLine is the "log head N, published M" line of the site command.
func siteLogLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "log" && f[1] == "head" {
			return line
		}
	}
	return ""
}
