package site_test

import (
	"slices"
	"testing"
	"time"

	"laned/internal/progress"
	"laned/store"
)

// BenchmarkReplicationDelay measures commit → applied on the other box:
// two boxes on loopback (the leaf through a sitetest.Proxy), one entry at
// a time, reported as p50-ms and p99-ms (the target: p99 ≤ 50 ms).
func BenchmarkReplicationDelay(b *testing.B) {
	s := newSite(b, nil, "a", "b")
	src, dst := s.boxes[1], s.boxes[0] // leaf → hub: the longer way (stream in b's domain, across the link)
	applied := make(chan uint64, 1024)
	dst.node.OnApplied(func(r store.ApplyResult) {
		if r.Origin == src.name {
			applied <- r.Cursor
		}
	})
	// Warm up: the link is up and the consumer follows.
	src.commit(1)
	waitCursor(b, applied, 1)
	delays := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		seq := src.st.Commit(store.ReplRecord, "bench", map[string]int{"i": i})
		waitCursor(b, applied, seq)
		delays = append(delays, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(delays)
	q := func(p float64) float64 {
		return float64(delays[min(len(delays)-1, int(p*float64(len(delays))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func waitCursor(b *testing.B, applied <-chan uint64, want uint64) {
	b.Helper()
	for {
		select {
		case c := <-applied:
			if c >= want {
				return
			}
		case <-time.After(progress.Stall):
			b.Fatalf("entry %d not applied: nothing moved for %s", want, progress.Stall)
		}
	}
}
