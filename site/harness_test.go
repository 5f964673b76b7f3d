package site_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"laned/internal/progress"
	"laned/site"
	"laned/site/sitetest"
	"laned/store"
)

// tWriter logs through t.Logf; after the test it drops lines (a server
// goroutine may still log while a failing test unwinds).
type tWriter struct {
	t    testing.TB
	mu   *sync.Mutex
	done *bool
	pre  string
}

func (w tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !*w.done {
		w.t.Logf("%s%s", w.pre, strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t testing.TB, pre string) *slog.Logger {
	var mu sync.Mutex
	done := new(bool)
	t.Cleanup(func() { mu.Lock(); *done = true; mu.Unlock() })
	return slog.New(slog.NewTextHandler(tWriter{t, &mu, done, pre}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// box is one member of a test site: its store survives its node.
type box struct {
	name  string
	st    *sitetest.MemStore
	cfg   site.Config
	node  *site.Node
	proxy *sitetest.Proxy // between this box and the hub (nil for the hub)

	mu      sync.Mutex
	results []store.ApplyResult
}

type testSite struct {
	t     testing.TB
	boxes []*box
}

// newSite starts a site of names: the first is the hub (listening), the
// others dial it through their own proxy. tune adjusts each box's config.
func newSite(t testing.TB, tune func(*site.Config), names ...string) *testSite {
	t.Helper()
	s := &testSite{t: t}
	hub := freePort(t)
	for i, name := range names {
		b := &box{name: name, st: sitetest.NewMemStore(name, nil)}
		b.cfg = site.Config{
			Box: name, Members: names, Gateway: i == 0,
			User: "laned", Password: "s3cret",
			DataDir: filepath.Join(t.TempDir(), "nats"),
			Logger:  testLogger(t, name+": "),
		}
		if i == 0 {
			b.cfg.Listen = hub
		} else {
			p, err := sitetest.NewProxy(hub)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			b.proxy = p
			b.cfg.Hub = []string{"nats-leaf://" + p.Addr()}
		}
		if tune != nil {
			tune(&b.cfg)
		}
		s.boxes = append(s.boxes, b)
	}
	for _, b := range s.boxes {
		s.start(b)
	}
	t.Cleanup(func() {
		for _, b := range s.boxes {
			if b.node != nil {
				b.node.Close()
			}
		}
	})
	return s
}

func (s *testSite) start(b *box) {
	s.t.Helper()
	n, err := site.Start(context.Background(), b.cfg, b.st)
	if err != nil {
		s.t.Fatalf("Start(%s) = %v", b.name, err)
	}
	n.OnApplied(func(r store.ApplyResult) {
		b.mu.Lock()
		b.results = append(b.results, r)
		b.mu.Unlock()
	})
	b.node = n
}

func (s *testSite) stop(b *box) {
	s.t.Helper()
	if err := b.node.Close(); err != nil {
		s.t.Fatalf("Close(%s) = %v", b.name, err)
	}
	b.node = nil
}

func (b *box) applyResults() []store.ApplyResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.results)
}

// commit logs n entries at b.
func (b *box) commit(n int) {
	for i := 0; i < n; i++ {
		seq := b.st.Commit(store.ReplRecord, fmt.Sprintf("%s-rec-%d", b.name, i), map[string]int{"i": i})
		_ = seq
	}
}

// progressOf is a snapshot of every cursor and head: a wait fails only
// when none of it moved for progress.Stall.
func (s *testSite) progressOf() any {
	var sb strings.Builder
	for _, b := range s.boxes {
		head, pub, _ := b.st.ReplHead()
		fmt.Fprintf(&sb, "%s:%d/%d", b.name, head, pub)
		for _, o := range s.boxes {
			fmt.Fprintf(&sb, ",%d", b.st.Cursor(o.name))
		}
		sb.WriteByte(';')
	}
	return sb.String()
}

// converged reports whether every box applied every other box's whole
// log, in order and unchanged.
func (s *testSite) converged(among ...*box) bool {
	if among == nil {
		among = s.boxes
	}
	for _, b := range among {
		for _, o := range among {
			if o == b {
				continue
			}
			if b.st.Cursor(o.name) != uint64(len(o.st.Own())) {
				return false
			}
		}
	}
	return true
}

// checkLogs compares every box's applied entries with their origin's log.
func (s *testSite) checkLogs() {
	s.t.Helper()
	for _, b := range s.boxes {
		for _, o := range s.boxes {
			if o == b {
				continue
			}
			got, want := b.st.Applied(o.name), o.st.Own()
			if len(got) != len(want) {
				s.t.Fatalf("%s applied %d entries of %s; want %d", b.name, len(got), o.name, len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Origin != w.Origin || g.Seq != w.Seq || g.Kind != w.Kind || g.Key != w.Key ||
					string(g.Data) != string(w.Data) || !g.At.Equal(w.At) {
					s.t.Fatalf("%s's entry %d of %s = %+v; want %+v", b.name, i, o.name, g, w)
				}
			}
		}
	}
}

func (s *testSite) waitConverged(what string, among ...*box) {
	s.t.Helper()
	progress.Until(s.t, what, func() bool { return s.converged(among...) }, s.progressOf)
}

// noLeak fails t when goroutines started after it was called are still
// running at the end of the test (waiting on progress: a goroutine
// finishing late is slow, not leaked).
func noLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		progress.Until(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= base },
			func() any { return runtime.NumGoroutine() })
	})
}

func removeAll(t testing.TB, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

func progressUntilPublished(t *testing.T, s *testSite, st *sitetest.MemStore, want uint64) {
	t.Helper()
	progress.Until(t, "published", func() bool { _, p, _ := st.ReplHead(); return p >= want }, s.progressOf)
}

func netListen(hp string) (net.Listener, error) { return net.Listen("tcp", hp) }
