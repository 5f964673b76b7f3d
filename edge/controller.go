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
	"laned/hal"
	"laned/hal/clock"
	"laned/store"
)

// LaneKind tells entries from exits.
type LaneKind int

const (
	Entry LaneKind = iota + 1
	Exit
)

func (k LaneKind) String() string {
	if k == Entry {
		return "entry"
	}
	return "exit"
}

// LaneConfig is one physical lane and its devices.
type LaneConfig struct {
	Name    string
	Kind    LaneKind
	Code    int      // in_code for an entry, out_code for an exit (1–255)
	Arming  hal.Loop // the loop before the barrier: a vehicle waiting
	Safety  hal.Loop // the loop under the barrier: never close on it
	Barrier hal.Barrier
	Camera  hal.Camera
	// MinConfidence: a read below it (hal.PlateEvent.Conf) is a misread
	// candidate, matched like a look-alike plate. 0: every read counts.
	MinConfidence int
	Display       *LaneDisplay // nil: no board
}

// Spaces is the car park's capacity.
type Spaces struct {
	Total int // all spaces
	VIP   int // of which reserved for VIP / monthly vehicles
}

// Config is the appliance's behaviour. Zero values take the defaults.
type Config struct {
	ParkCode int64
	Spaces   Spaces
	// Guaranteed: the platform is in guaranteed (保付) mode: it answers an
	// AutoPay at once and completes the charge itself. It changes how fast
	// the answer comes, not what the lane does: in both modes a contactless
	// vehicle is released on the answer status 0, never on the request.
	Guaranteed bool
	// OfflineRelease: when an AutoPay is not answered within AutoPayWait
	// (the platform cannot be reached), a bound vehicle whose fee is
	// within its limit is let out with the fee owed: the record stays
	// outstanding, its Outdata waits for the AutoPay's outcome, and a later
	// refusal leaves an arrears on the plate, collected at its next exit.
	// False: the driver pays by scan.
	OfflineRelease bool
	// ReplaceStale: a plate that enters while it has an open record closes
	// the stale record and opens a new one; when false the entry is
	// refused and a guard must decide.
	ReplaceStale bool
	// DedupeWindow: the same plate read on the same lane within it is one
	// event. Default 10 s.
	DedupeWindow time.Duration
	// AutoPayWait bounds the wait for an AutoPay's answer before the lane
	// falls back to scan-to-pay (or, with OfflineRelease, lets the vehicle
	// out owing). Default 15 s.
	AutoPayWait time.Duration
	// PassTimeout: a barrier raised for a vehicle that never crossed the
	// safety loop is lowered after this, once both loops are clear.
	// Default 60 s.
	PassTimeout time.Duration
	// SpaceInfoMinGap and SpaceInfoPeriod pace SpaceInfo uplinks: on a
	// change at most one per gap, and one per period anyway. Defaults
	// 10 s and 5 min.
	SpaceInfoMinGap time.Duration
	SpaceInfoPeriod time.Duration
	// RetryBase and RetryCap shape the outbox's exponential backoff with
	// full jitter. Defaults 1 s and 5 min.
	RetryBase time.Duration
	RetryCap  time.Duration
	// MaxRefusals: an uplink the platform refuses (status ≠ 0) this many
	// times in a row with the same answer is dead-lettered, audited, so
	// that its record's later uplinks go on. Default 5.
	MaxRefusals int
	// TollCollector names this controller in charge items. Default "laned".
	TollCollector string
	// SendTimeout bounds one uplink exchange. Default 10 s.
	SendTimeout time.Duration
	// Retention: closed records whose exit is older are deleted (with
	// their payments), in small batches, once an hour. Default 90 days.
	Retention time.Duration
	// DropAfter: queued space counts, config and status uplinks older than
	// this are dead-lettered (records and money never are). Default 72 h.
	DropAfter time.Duration
	// Display is what the lanes' boards show and say (display.go).
	Display DisplayConfig
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DedupeWindow, 10*time.Second)
	def(&c.AutoPayWait, 15*time.Second)
	def(&c.PassTimeout, 60*time.Second)
	def(&c.SpaceInfoMinGap, 10*time.Second)
	def(&c.SpaceInfoPeriod, 5*time.Minute)
	def(&c.RetryBase, time.Second)
	def(&c.RetryCap, 5*time.Minute)
	def(&c.SendTimeout, 10*time.Second)
	def(&c.Retention, 90*24*time.Hour)
	def(&c.DropAfter, 72*time.Hour)
	if c.MaxRefusals <= 0 {
		c.MaxRefusals = 5
	}
	if c.TollCollector == "" {
		c.TollCollector = "laned"
	}
	c.Display = c.Display.withDefaults()
	return c
}

// Sender sends one signed uplink; *cmb.Client is one.
type Sender interface {
	Send(ctx context.Context, name string, params url.Values) (cmb.Envelope, error)
}

// Deps are what the controller works with.
type Deps struct {
	Store  *store.DB
	Tariff *tariff.Engine
	Uplink Sender
	Clock  clock.Clock // nil: the wall clock
	Rand   *rand.Rand  // jitter and request orders; nil: seeded from the clock
	Logger *slog.Logger
	// Pictures keeps the network cameras' pictures; nil: none are kept
	// and no PicUpload is sent.
	Pictures *store.Pictures
}

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
	if old == nil || old.ReservedOutTime() != e.ReservedOutTime() {
		c.enqueueConfig()
	}
}

// Run starts the lanes, the dispatcher and the reporters and blocks until
// ctx ends; then it halts every device (relays de-energised) and returns.
func (c *Controller) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("edge: run: already running")
	}
	c.enqueueConfig()
	c.markSpaces()
	var wg sync.WaitGroup
	for _, l := range c.lanes {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(ctx) }()
	}
	wg.Add(4)
	go func() { defer wg.Done(); c.retryHeld(ctx) }()
	go func() { defer wg.Done(); c.out.run(ctx) }()
	go func() { defer wg.Done(); c.reportSpaces(ctx) }()
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

// Space counts the car park's free spaces from the open records.
type SpaceCount struct {
	Total, VIP             int // capacity
	TotalEmpty, VIPEmpty   int
	TmpEmpty               int
	OpenVIP, OpenTemporary int
}

func (c *Controller) spaces() (SpaceCount, error) {
	open, openVIP, err := c.db.Occupancy()
	if err != nil {
		return SpaceCount{}, err
	}
	return countSpaces(c.cfg.Spaces, open, openVIP), nil
}

// countSpaces splits the free spaces between VIP and temporary vehicles so
// that they add up (total = vip + tmp): a VIP car beyond the VIP spaces
// takes a temporary one, and the other way round.
func countSpaces(cap Spaces, open, openVIP int) SpaceCount {
	sc := SpaceCount{Total: cap.Total, VIP: cap.VIP, OpenVIP: openVIP, OpenTemporary: open - openVIP}
	tmpCap := cap.Total - cap.VIP
	vipOver := max(0, openVIP-cap.VIP)
	tmpOver := max(0, sc.OpenTemporary-tmpCap)
	sc.VIPEmpty = max(0, cap.VIP-openVIP-tmpOver)
	sc.TmpEmpty = max(0, tmpCap-sc.OpenTemporary-vipOver)
	sc.TotalEmpty = sc.VIPEmpty + sc.TmpEmpty
	return sc
}

// Spaces reports the free spaces.
func (c *Controller) Spaces() (SpaceCount, error) { return c.spaces() }

func (c *Controller) enqueueConfig() {
	e := c.tariff.Load()
	r := cmb.ConfigUpload{ParkCode: c.cfg.ParkCode, ConfigItems: cmb.ConfigItems{ReservedOutTime: int64(e.ReservedOutTime() / time.Second)}}
	v, err := r.Values()
	if err != nil {
		c.log.Error("config upload", "err", err)
		return
	}
	if _, err := c.db.Enqueue(c.msg(store.KindConfigUpload, "", v)); err != nil {
		c.log.Error("config upload: enqueue", "err", err)
		return
	}
	c.kick()
}

// reportSpaces queues SpaceInfo on change (at most one per gap) and
// periodically.
func (c *Controller) reportSpaces(ctx context.Context) {
	var last time.Time
	var lastSent SpaceCount
	sent := false
	period := c.clk.NewTimer(c.cfg.SpaceInfoPeriod)
	defer period.Stop()
	var gap clock.Timer
	var gapC <-chan time.Time
	send := func(force bool) {
		sc, err := c.spaces()
		if err != nil {
			c.log.Error("space info", "err", err)
			return
		}
		if sent && !force && sc == lastSent {
			return
		}
		r := cmb.SpaceInfo{ParkCode: c.cfg.ParkCode, TotalEmpty: sc.TotalEmpty, VipEmpty: sc.VIPEmpty, TmpEmpty: sc.TmpEmpty}
		v, err := r.Values()
		if err != nil {
			c.log.Error("space info", "err", err)
			return
		}
		if _, err := c.db.Enqueue(c.msg(store.KindSpaceInfo, "", v)); err != nil {
			c.log.Error("space info: enqueue", "err", err)
			return
		}
		last, lastSent, sent = c.now(), sc, true
		c.kick()
	}
	for {
		select {
		case <-ctx.Done():
			if gap != nil {
				gap.Stop()
			}
			return
		case <-period.C():
			send(true)
			period.Reset(c.cfg.SpaceInfoPeriod)
		case <-c.spaceDirty:
			if gapC != nil {
				continue // a send is already scheduled
			}
			wait := c.cfg.SpaceInfoMinGap - c.now().Sub(last)
			if !sent || wait <= 0 {
				send(false)
				continue
			}
			gap = c.clk.NewTimer(wait)
			gapC = gap.C()
		case <-gapC:
			gapC, gap = nil, nil
			send(false)
		}
	}
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

// FixClock corrects what was stamped while the wall clock was unset: the
// records' and queued uplinks' times in the fix-up window move by its
// delta, and the correction is audited.
func (c *Controller) FixClock(f Fixup) error {
	lo, hi, d := f.From.Unix(), f.To.Unix(), int64(f.Delta/time.Second)
	shift := func(t int64) (int64, bool) {
		if t < lo || t > hi || t == 0 {
			return t, false
		}
		return t + d, true
	}
	recs, msgs, err := c.db.ShiftTimes(f.From, f.To, f.Delta, func(m *store.Message) bool {
		v := params(m.Params)
		if !cmb.ShiftTimes(m.Kind, v, shift) {
			return false
		}
		m.Params = flat(v)
		return true
	})
	if err != nil {
		return fmt.Errorf("edge: fix clock: %w", err)
	}
	// What the lanes remember of the window moves too: a vehicle waiting
	// at an exit is priced from its arrival, which must not precede its
	// (moved) entry.
	if c.running.Load() {
		moved := func(t time.Time) time.Time {
			if t.IsZero() || t.Before(f.From) || t.After(f.To) {
				return t
			}
			return t.Add(f.Delta)
		}
		for _, l := range c.lanes {
			if err := l.do(context.Background(), func() { l.shiftTimes(moved) }); err != nil && !errors.Is(err, errLaneStopped) {
				c.log.Warn("clock fix-up: lane", "lane", l.cfg.Name, "err", err)
			}
		}
	}
	c.audit("clock", 0, "wall clock set: %d records and %d queued uplinks stamped %s–%s moved by %s",
		recs, msgs, f.From.Format(time.RFC3339), f.To.Format(time.RFC3339), f.Delta.Round(time.Second))
	c.log.Info("clock fixed up", "records", recs, "uplinks", msgs, "delta", f.Delta.Round(time.Second).String())
	return nil
}

// maintain keeps the store bounded: once an hour (and at start) it deletes
// closed records past the retention and dead-letters droppable uplinks
// past their age, in small batches so that no lane waits long on the file.
func (c *Controller) maintain(ctx context.Context) {
	const batch = 200
	t := c.clk.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		now := c.now()
		pruned, err := c.db.Prune(ctx, now.Add(-c.cfg.Retention), batch)
		if err != nil && ctx.Err() == nil {
			c.log.Error("retention", "err", err)
		}
		expired := 0
		for {
			n, err := c.db.Expire(now.Add(-c.cfg.DropAfter), batch)
			expired += n
			if err != nil || n < batch || ctx.Err() != nil {
				if err != nil {
					c.log.Error("expire uplinks", "err", err)
				}
				break
			}
		}
		c.prunePictures(now)
		if pruned > 0 || expired > 0 {
			c.log.Info("store maintenance", "records_deleted", pruned, "uplinks_dead_lettered", expired)
			c.audit("retention", 0, "deleted %d closed records older than %s; dead-lettered %d droppable uplinks", pruned, c.cfg.Retention, expired)
		}
		// An hour after this run's reading, not after the work: a wall
		// clock that jumped while the store was pruned (NTP, an operator,
		// a test's clock) has the next run due at once.
		t.Reset(now.Add(time.Hour).Sub(c.now()))
	}
}
