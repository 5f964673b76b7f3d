package site

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"laned/store"
)

// Store is the part of *store.DB a Node needs: the box's replication log
// and its cursors of the other boxes' logs.
type Store interface {
	ReplOwn(after uint64, max int) ([]store.ReplEntry, error)
	ReplHead() (head, published uint64, err error)
	SetReplPublished(seq uint64) error
	ResetReplPublished(seq uint64) error
	ReplWake() <-chan struct{}
	ApplyRepl(origin string, es []store.ReplEntry) (store.ApplyResult, error)
	ReplCursors() ([]store.ReplCursor, error)
}

var _ Store = (*store.DB)(nil)

// Timings of the loops. They bound how stale a view gets, never how long
// a lane waits.
const (
	helloEvery   = time.Second     // heartbeat period
	pollEvery    = 2 * time.Second // publisher's fallback poll; appliers' catch-up check
	retryEvery   = time.Second     // after a failed attempt to reach a stream
	apiTimeout   = 5 * time.Second // one JetStream API call
	fetchTimeout = 3 * time.Second // one gap-repair request
	batchMax     = 256             // entries per publish round, apply batch, fetch
)

// Node is this box's member of the site: its embedded server, its
// publisher, one applier per other member and its heartbeat.
type Node struct {
	cfg    Config
	st     Store
	log    *slog.Logger
	srv    *server.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream

	ctx    context.Context // the node's own: canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	onApplied func(store.ApplyResult)
	entries   []int
	exits     []int
	hellos    map[string]helloSeen
	closed    bool
	closeOnce sync.Once
}

// Start starts this box's server, creates or updates its stream and runs
// the publisher, the appliers and the heartbeat until Close. ctx bounds
// the start only.
func Start(ctx context.Context, cfg Config, st Store) (*Node, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	opts, connOpts, err := cfg.serverOptions()
	if err != nil {
		return nil, err
	}
	// The server reports a taken port only through its logger; find out
	// here, with a clear error.
	for _, hp := range []string{cfg.Listen, cfg.ClientListen} {
		if hp == "" {
			continue
		}
		l, err := net.Listen("tcp", hp)
		if err != nil {
			return nil, fmt.Errorf("site: listen: %w", err)
		}
		l.Close()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("site: server: %w", err)
	}
	srv.SetLoggerV2(serverLog{cfg.Logger.With("nats", cfg.Box)}, false, false, false)
	srv.Start()
	n := &Node{cfg: cfg, st: st, log: cfg.Logger, srv: srv, hellos: map[string]helloSeen{}}
	fail := func(err error) (*Node, error) {
		if n.nc != nil {
			n.nc.Close()
		}
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	// JetStream recovers its store before the server is ready: a big
	// store takes a while, so wait on the caller's ctx, not a constant.
	for !srv.ReadyForConnections(500 * time.Millisecond) {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("site: server not ready: %w", ctx.Err()))
		}
	}
	n.nc, err = nats.Connect("", append(connOpts, nats.InProcessServer(srv), nats.Name("laned-"+cfg.Box),
		nats.MaxReconnects(-1), nats.NoCallbacksAfterClientClose())...)
	if err != nil {
		return fail(fmt.Errorf("site: connect: %w", err))
	}
	if n.js, err = jetstream.NewWithDomain(n.nc, cfg.Box); err != nil {
		return fail(fmt.Errorf("site: jetstream: %w", err))
	}
	if err := n.ensureStream(ctx); err != nil {
		return fail(err)
	}
	if _, err := n.nc.Subscribe(fetchSubject(cfg.Box), n.serveFetch); err != nil {
		return fail(fmt.Errorf("site: fetch: %w", err))
	}
	if _, err := n.nc.Subscribe(helloWildcard, n.gotHello); err != nil {
		return fail(fmt.Errorf("site: hello: %w", err))
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(2)
	go n.publishLoop()
	go n.helloLoop()
	for _, m := range cfg.Members {
		if m == cfg.Box {
			continue
		}
		a := &applier{n: n, origin: m}
		n.wg.Add(1)
		go a.run()
	}
	n.log.Info("site: started", "box", cfg.Box, "members", cfg.Members, "listen", cfg.Listen,
		"hub", cfg.Hub, "gateway", cfg.Gateway)
	return n, nil
}

// dupWindow is the stream's duplicate window (see ensureStream).
const dupWindow = 20 * time.Second

func (n *Node) ensureStream(ctx context.Context) error {
	// The duplicate window only covers a publish retried after a lost
	// ack: an entry that reaches the stream twice anyway is skipped by
	// every applier (store.ApplyRepl is idempotent by origin and seq). It
	// is short because the server keeps every id of the window in memory,
	// rebuilt at start: a 2-minute window after a 100k-entry catch-up held
	// 13 MB (make bench's site RSS row).
	dup := dupWindow
	if n.cfg.MaxAge < dup {
		dup = n.cfg.MaxAge
	}
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	s, err := n.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName(n.cfg.Box),
		Description: "laned replication log of box " + n.cfg.Box,
		Subjects:    []string{replSubject(n.cfg.Box)},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      n.cfg.MaxAge,
		MaxBytes:    n.cfg.MaxBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    1,
		Duplicates:  dup,
	})
	if err != nil {
		return fmt.Errorf("site: stream %s: %w", StreamName(n.cfg.Box), err)
	}
	n.stream = s
	return nil
}

// OnApplied sets f, called after each batch that moved an origin's
// cursor, from that origin's applier goroutine (different origins
// concurrently). Set it before traffic.
func (n *Node) OnApplied(f func(store.ApplyResult)) {
	n.mu.Lock()
	n.onApplied = f
	n.mu.Unlock()
}

func (n *Node) applied(res store.ApplyResult) {
	n.mu.Lock()
	f := n.onApplied
	n.mu.Unlock()
	if f != nil {
		f(res)
	}
}

// Close stops the loops, the connection and the server, and waits for
// them. It is safe to call twice; it returns nil (the server's shutdown
// reports nothing).
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.mu.Lock()
		n.closed = true
		n.mu.Unlock()
		n.cancel()
		n.wg.Wait()
		n.nc.Close()
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.log.Info("site: stopped", "box", n.cfg.Box)
	})
	return nil
}

// Box is this node's box id.
func (n *Node) Box() string { return n.cfg.Box }

// wait sleeps d on the node's clock; false when the node is closing.
func (n *Node) wait(d time.Duration) bool {
	t := n.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-n.ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// serverLog sends the embedded server's log to slog. Its notices are
// debug: the server is chatty and the site logs what matters itself.
type serverLog struct{ l *slog.Logger }

func (s serverLog) Noticef(f string, a ...any) { s.l.Debug(fmt.Sprintf(f, a...)) }
func (s serverLog) Warnf(f string, a ...any)   { s.l.Warn(fmt.Sprintf(f, a...)) }
func (s serverLog) Fatalf(f string, a ...any)  { s.l.Error(fmt.Sprintf(f, a...)) }
func (s serverLog) Errorf(f string, a ...any)  { s.l.Error(fmt.Sprintf(f, a...)) }
func (s serverLog) Debugf(f string, a ...any)  {}
func (s serverLog) Tracef(f string, a ...any)  {}
