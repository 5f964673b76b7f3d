package edge_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/cmb"
	"laned/edge"
	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/clock"
	"laned/hal/sim"
	"laned/store"
)

// offline is a platform that cannot be reached: the dispatcher holds, so
// the benchmark measures the exit decision, not the uplinks.
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

// BenchmarkExitDecision measures one exit as the design's target states
// it: a PLATE frame decoded → the plate event handed to the exit lane →
// the open record found among 10k → priced → record closed and Outdata
// queued in one durable bbolt commit → the open relay commanded. Beside
// it, in the same run, a bare single-key bbolt commit on the same disk.
func BenchmarkExitDecision(b *testing.B) {
	const openRecords = 10000
	dir := b.TempDir()
	db, _, err := store.Open(filepath.Join(dir, "laned.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	var recs []store.Record
	for i := range openRecords {
		recs = append(recs, store.Record{Plate: fmt.Sprintf("粤B%05d", i), InCode: 1, InTime: now.Add(-3 * time.Hour), CarType: 1, PowerType: 1})
	}
	// The vehicles that will leave: inside for 10 minutes, free.
	for i := range b.N {
		recs = append(recs, store.Record{Plate: fmt.Sprintf("京X%05d", i), InCode: 1, InTime: now.Add(-10 * time.Minute), CarType: 1, PowerType: 1})
	}
	for chunk := range slices.Chunk(recs, 5000) {
		if err := db.ImportOpen(chunk); err != nil {
			b.Fatal(err)
		}
	}
	eng, err := tariff.New(tariff.Config{Small: &tariff.RuleSet{FreeMinutes: 15, FirstMinutes: 60, FirstPrice: 500, NextMinutes: 30, NextPrice: 200, DailyCap: 4000}, FallbackToSmall: true})
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.Real{}
	lane := sim.NewLane(clk, sim.LaneConfig{Name: "exit1", CameraAddr: 1})
	bar := &signalBarrier{Barrier: lane.Barrier, opened: make(chan time.Time, 1)}
	ctl, err := edge.New(edge.Config{ParkCode: 5201020001, Spaces: edge.Spaces{Total: 20000}, RetryBase: time.Hour, RetryCap: time.Hour},
		[]edge.LaneConfig{{Name: "exit1", Kind: edge.Exit, Code: 1, Arming: lane.Arming, Safety: lane.Safety, Barrier: bar, Camera: lane.Camera}},
		edge.Deps{Store: db, Tariff: eng, Uplink: offline{}, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	defer func() { cancel(); <-done }()

	bare, err := bolt.Open(filepath.Join(dir, "bare.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	if err := bare.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		b.Fatal(err)
	}

	frames := make([][]byte, b.N)
	for i := range b.N {
		frames[i], err = camera.EncodePlate(1, byte(i), hal.PlateEvent{Kind: hal.KindPlate, Plate: fmt.Sprintf("京X%05d", i), Colour: 0, Conf: 96, Trigger: hal.TriggerIO, CameraTime: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	dec := camera.LaneFrame{}.NewDecoder()
	exits := make([]time.Duration, 0, b.N)
	commits := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		res := dec.Feed(frames[i], t0)
		if len(res) != 1 || res[0].Frame == nil {
			b.Fatalf("frame %d decoded to %+v", i, res)
		}
		lane.Camera.ShowEvent(res[0].Frame.Event)
		select {
		case t1 := <-bar.opened:
			exits = append(exits, t1.Sub(t0))
		case <-time.After(10 * time.Second):
			b.Fatalf("exit %d: barrier not commanded", i)
		}
		t2 := time.Now()
		if err := bare.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "%08d", i), []byte("x"))
		}); err != nil {
			b.Fatal(err)
		}
		commits = append(commits, time.Since(t2))
	}
	b.StopTimer()
	ep50, ep99 := percentiles(exits)
	cp50, cp99 := percentiles(commits)
	b.ReportMetric(float64(ep50.Microseconds()), "exit-p50-µs")
	b.ReportMetric(float64(ep99.Microseconds()), "exit-p99-µs")
	b.ReportMetric(float64(cp50.Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(cp99.Microseconds()), "bare-p99-µs")
	if cp50 > 0 {
		b.ReportMetric(float64(ep50)/float64(cp50), "ratio-p50")
		b.ReportMetric(float64(ep99)/float64(cp99), "ratio-p99")
	}
	var closedN int
	for i := range b.N {
		if _, err := db.OpenByPlate(fmt.Sprintf("京X%05d", i)); errors.Is(err, store.ErrNotFound) {
			closedN++
		}
	}
	if closedN != b.N {
		b.Fatalf("%d of %d exits closed their record", closedN, b.N)
	}
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}
