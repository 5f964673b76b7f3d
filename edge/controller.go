package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/hal/clock"
	"laned/store"
)

// Controller is the appliance: it owns the lanes, answers the platform's
// callbacks (it is a cmb.Handler) and drains the outbox.
type Controller struct {
	cfg    Config
	db     *store.DB
	tariff atomic.Pointer[tariff.Engine]
	up     Sender
	clk    clock.Clock
	log    *slog.Logger
	pics   *store.Pictures // nil: no pictures kept
	picLog picLog

	randMu sync.Mutex
	rnd    *rand.Rand

	lanes  []*lane
	byName map[string]*lane

	out        *dispatcher // the outbox's sender (dispatch.go)
	spaceDirty chan struct{}
	picsOver   chan struct{} // the pictures are over their budget: prune now

	answeredMu sync.Mutex
	answered   map[string]time.Time // plate → when an Indata answer said uid (0 or 1): a queued status query is moot

	heldMu sync.Mutex
	held   []*heldCommit // commits the store refused after the barrier moved

	running atomic.Bool
	quotes  quoteMemo // calc's last quote per record, for the pay notice that answers it
}

var _ cmb.Handler = (*Controller)(nil)

// New builds a controller; Run starts it.
func New(cfg Config, lanes []LaneConfig, d Deps) (*Controller, error) {
	if d.Store == nil || d.Tariff == nil || d.Uplink == nil {
		return nil, errors.New("edge: new: store, tariff and uplink are required")
	}
	if cfg.ParkCode <= 0 {
		return nil, errors.New("edge: new: park_code must be set")
	}
	if cfg.Spaces.Total < 0 || cfg.Spaces.VIP < 0 || cfg.Spaces.VIP > cfg.Spaces.Total {
		return nil, fmt.Errorf("edge: new: spaces: total %d, vip %d: want 0 ≤ vip ≤ total", cfg.Spaces.Total, cfg.Spaces.VIP)
	}
	c := &Controller{
		cfg:        cfg.withDefaults(),
		db:         d.Store,
		pics:       d.Pictures,
		up:         d.Uplink,
		clk:        clock.Or(d.Clock),
		log:        d.Logger,
		rnd:        d.Rand,
		byName:     make(map[string]*lane),
		spaceDirty: make(chan struct{}, 1),
		picsOver:   make(chan struct{}, 1),
		answered:   make(map[string]time.Time),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.rnd == nil {
		seed := uint64(c.clk.Now().UnixNano())
		c.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	c.tariff.Store(d.Tariff)
	c.out = newDispatcher(c.db, c.up, c.clk, c.log, dispatchRules{
		parkCode: c.cfg.ParkCode, retryBase: c.cfg.RetryBase, retryCap: c.cfg.RetryCap,
		sendTimeout: c.cfg.SendTimeout, maxRefusals: c.cfg.MaxRefusals,
	}, c.randDuration, c)
	codes := map[[2]int]string{}
	for _, lc := range lanes {
		if lc.Name == "" {
			return nil, errors.New("edge: new: a lane has no name")
		}
		if _, dup := c.byName[lc.Name]; dup {
			return nil, fmt.Errorf("edge: new: lane %q twice", lc.Name)
		}
		if lc.Kind != Entry && lc.Kind != Exit {
			return nil, fmt.Errorf("edge: new: lane %q: kind must be entry or exit", lc.Name)
		}
		if lc.Code < cmb.LaneMin || lc.Code > cmb.LaneMax {
			return nil, fmt.Errorf("edge: new: lane %q: code %d: want 1–255", lc.Name, lc.Code)
		}
		if other, dup := codes[[2]int{int(lc.Kind), lc.Code}]; dup {
			return nil, fmt.Errorf("edge: new: lanes %q and %q share %s code %d", other, lc.Name, lc.Kind, lc.Code)
		}
		codes[[2]int{int(lc.Kind), lc.Code}] = lc.Name
		if lc.Arming == nil || lc.Safety == nil || lc.Barrier == nil || lc.Camera == nil {
			return nil, fmt.Errorf("edge: new: lane %q: arming loop, safety loop, barrier and camera are required", lc.Name)
		}
		l := newLane(c.laneEnv(), lc)
		c.lanes = append(c.lanes, l)
		c.byName[lc.Name] = l
	}
	return c, nil
}

// SetTariff swaps the tariff (SIGHUP reload); quotes from now on use it.
// The platform hears of the grace (ConfigUpload) only when it changed.
func (c *Controller) SetTariff(e *tariff.Engine) {
	if e == nil {
		return
	}
	old := c.tariff.Swap(e)
	if (old == nil || old.ReservedOutTime() != e.ReservedOutTime()) && !c.cfg.LaneBox {
		c.enqueueConfig()
	}
}

// Run starts the lanes, the dispatcher and the reporters and blocks until
// ctx ends; then it halts every device (relays de-energised) and returns.
func (c *Controller) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("edge: run: already running")
	}
	park := !c.cfg.LaneBox // the car park's own uplinks: a site's gateway sends them
	if park {
		c.enqueueConfig()
		c.markSpaces()
	}
	var wg sync.WaitGroup
	for _, l := range c.lanes {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(ctx) }()
	}
	wg.Add(3)
	go func() { defer wg.Done(); c.retryHeld(ctx) }()
	go func() { defer wg.Done(); c.out.run(ctx) }()
	if park {
		wg.Add(1)
		go func() { defer wg.Done(); c.reportSpaces(ctx) }()
	}
	go func() { defer wg.Done(); c.maintain(ctx) }()
	<-ctx.Done()
	wg.Wait()
	var errs []error
	for _, l := range c.lanes {
		errs = append(errs, l.halt())
	}
	return errors.Join(errs...)
}

// Lane returns the named lane's controls, for the console and tests.
func (c *Controller) lane(name string) (*lane, bool) {
	l, ok := c.byName[name]
	return l, ok
}

func (c *Controller) laneByCode(kind LaneKind, code int) *lane {
	for _, l := range c.lanes {
		if l.cfg.Kind == kind && l.cfg.Code == code {
			return l
		}
	}
	return nil
}

func (c *Controller) now() time.Time { return c.clk.Now() }

func (c *Controller) kick() { c.out.kick() }

func (c *Controller) markSpaces() {
	select {
	case c.spaceDirty <- struct{}{}:
	default:
	}
}

func (c *Controller) randUint64() uint64 {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	return c.rnd.Uint64()
}

func (c *Controller) randDuration(n time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	c.randMu.Lock()
	defer c.randMu.Unlock()
	return time.Duration(c.rnd.Int64N(int64(n) + 1))
}

// newRequestOrder makes an AutoPay request_order: the record and a random
// suffix, unique per payment attempt, ≤ 64 bytes.
func (c *Controller) newRequestOrder(recordID string) string {
	return recordID + "P" + strconv.FormatUint(c.randUint64()%1e10, 10)
}

// msg builds an outbox message from an uplink's validated fields.
func (c *Controller) msg(kind, recordID string, v url.Values) store.Message {
	now := c.now()
	return store.Message{Kind: kind, RecordID: recordID, Params: flat(v), Created: now, Due: now}
}

func (c *Controller) audit(kind string, laneCode int, format string, args ...any) {
	ev := store.AuditEvent{Time: c.now(), Kind: kind, Lane: laneCode, Detail: fmt.Sprintf(format, args...)}
	if err := c.db.Audit(ev); err != nil {
		c.log.Error("audit", "kind", kind, "err", err)
	}
}

// auditMsg is an audit event that rides in a domain operation's
// transaction.
func (c *Controller) auditMsg(kind string, laneCode int, format string, args ...any) store.Message {
	return store.Audited(store.AuditEvent{Time: c.now(), Kind: kind, Lane: laneCode, Detail: fmt.Sprintf(format, args...)})
}

// Kick wakes the outbox dispatcher (after the clock moved, or to retry
// now).
func (c *Controller) Kick() { c.kick() }

// RetryNow makes every queued uplink due now (the console's queue retry).
func (c *Controller) RetryNow() (int, error) { return c.out.retryNow() }

// Sync waits until every lane has handled what was handed to it so far
// (requests and posted results). Tests and the demo use it to let the
// lanes catch up before the script moves on.
func (c *Controller) Sync(ctx context.Context) error {
	for _, l := range c.lanes {
		for l.posts.Load() != 0 {
			if err := l.do(ctx, func() {}); err != nil {
				return err
			}
		}
		if err := l.do(ctx, func() {}); err != nil {
			return err
		}
	}
	return nil
}

// LaneState reports what a lane is doing, in words, for the demo and the
// console: its vehicle's plate and state.
func (c *Controller) LaneState(name string) (plate, state string, ok bool) {
	l, ok := c.byName[name]
	if !ok {
		return "", "", false
	}
	s := l.status()
	return s.Vehicle, s.State, true
}

func (c *Controller) enqueueConfig() {
	e := c.tariff.Load()
	r := cmb.ConfigUpload{ParkCode: c.cfg.ParkCode, ConfigItems: cmb.ConfigItems{ReservedOutTime: int64(e.ReservedOutTime() / time.Second)}}
	c.enqueue(store.KindConfigUpload, "config upload", r)
}

// enqueue queues a park-wide uplink (of no record) and wakes the
// dispatcher; what names it in the log. It reports whether it did.
func (c *Controller) enqueue(kind, what string, r interface{ Values() (url.Values, error) }) bool {
	v, err := r.Values()
	if err != nil {
		c.log.Error(what, "err", err)
		return false
	}
	if _, err := c.db.Enqueue(c.msg(kind, "", v)); err != nil {
		c.log.Error(what+": enqueue", "err", err)
		return false
	}
	c.kick()
	return true
}
