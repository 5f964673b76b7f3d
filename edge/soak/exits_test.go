package soak

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/cmb"
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
	// bound: give each vehicle a contactless binding.
	bound bool
}

// exitPaths are every way an exit is decided.
var exitPaths = []exitPath{
	{name: "free, exact plate", relay: true, inside: func(i int) string { return fmt.Sprintf("京X%05d", i) }, ago: 10 * time.Minute},
	{name: "look-alike plate (5 read as S)", relay: true, inside: func(i int) string { return fmt.Sprintf("京L%04d5", i) },
		read: func(i int) string { return fmt.Sprintf("京L%04dS", i) }, ago: 10 * time.Minute},
	// Contactless: the barrier rises on the AutoPay's answer (both modes):
	// queued, sent to a platform that answers at once (guaranteed), the
	// payment recorded, the record closed.
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
	clk := clock.Real{}
	lane := sim.NewLane(clk, sim.LaneConfig{Name: "exit1", CameraAddr: 1})
	bar := &signalBarrier{Barrier: lane.Barrier, opened: make(chan time.Time, 1)}
	decided := decisionLog{at: make(chan time.Time, 1)}
	ctl, err := edge.New(edge.Config{ParkCode: parkCode, Guaranteed: true, Spaces: edge.Spaces{Total: 2 * open}, RetryBase: time.Hour, RetryCap: time.Hour},
		[]edge.LaneConfig{{Name: "exit1", Kind: edge.Exit, Code: 1, Arming: lane.Arming, Safety: lane.Safety, Barrier: bar, Camera: lane.Camera}},
		edge.Deps{Store: db, Tariff: benchTariff(tb), Uplink: answering{}, Clock: clk, Logger: slog.New(decided)})
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
		seq += each
		wait := decided.at
		if p.relay {
			wait = bar.opened
		}
		exits := make([]time.Duration, 0, each)
		commits := make([]time.Duration, 0, each)
		pages0 := db.PagesWritten()
		bare0 := barePages(bare)
		for i := range each {
			t0 := time.Now()
			res := dec.Feed(frames[i], t0)
			if len(res) != 1 || res[0].Frame == nil {
				tb.Fatalf("%s: frame %d decoded to %+v", p.name, i, res)
			}
			lane.Camera.ShowEvent(res[0].Frame.Event)
			select {
			case t1 := <-wait:
				exits = append(exits, t1.Sub(t0))
			case <-time.After(time.Minute):
				tb.Fatalf("%s: exit %d (%s): no decision within a minute", p.name, i, read(i))
			}
			t2 := time.Now()
			if err := bare.Update(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "%09d", seq+i), []byte("x"))
			}); err != nil {
				tb.Fatal(err)
			}
			commits = append(commits, time.Since(t2))
		}
		pages := db.PagesWritten() - pages0
		r := exitResult{path: p, open: open, exits: each, pagesPerExit: float64(pages) / float64(each), barePages: float64(barePages(bare)-bare0) / float64(each)}
		r.p50, r.p99 = percentiles(exits)
		r.bp50, r.bp99 = percentiles(commits)
		out = append(out, r)
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
		t.Logf("%s: p50 %v p99 %v, bare p50 %v p99 %v; %.1f pages/exit, bare %.1f", r.path.name, r.p50, r.p99, r.bp50, r.bp99, r.pagesPerExit, r.barePages)
	}
}

// answering is a platform that answers every uplink at once with status 0
// (guaranteed mode): a contactless exit is released on that answer.
type answering struct{}

func (answering) Send(context.Context, string, url.Values) (cmb.Envelope, error) {
	return cmb.Envelope{Status: 0, Message: "success"}, nil
}
