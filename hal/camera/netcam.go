package camera

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/halog"
)

// Family names a network camera's push protocol.
type Family int

// Network camera families.
const (
	FamilyPush  Family = 1 // 臻识 / VisionZenith JSON HTTP push
	FamilyISAPI Family = 2 // Hikvision ISAPI alarm host, multipart
)

func (f Family) String() string {
	switch f {
	case FamilyPush:
		return "http-push"
	case FamilyISAPI:
		return "isapi"
	}
	return "unknown"
}

// NetConfig configures a NetCamera. Zero values take the defaults noted.
type NetConfig struct {
	Name     string // for logs and events, e.g. "entry1/camera"
	Family   Family
	SerialNo string // when set, pushes from another serial number are refused
	// Silence: the camera is offline after this long without a push or a
	// heartbeat. Default 3 minutes (the cameras beat every 30–60 s).
	Silence time.Duration
	// OpensBarrier: the camera's relay is the barrier's open output; a
	// read is answered "ok" exactly when the lane decides to open, waiting
	// at most Decision (default 2 s) for it.
	OpensBarrier bool
	Decision     time.Duration
	Clock        clock.Clock  // nil: real time
	Logger       *slog.Logger // nil: discard
}

// NetStats counts a network camera's pushes.
type NetStats struct {
	Reads, Heartbeats, Duplicates, Dropped, Rejected uint64
}

// NetCamera is a network ANPR camera: the hal.Camera of the reads a
// Listener hands it (Deliver). Duplicates (the same plate within the
// duplicate window, or a read older by the camera's clock than the last
// one) are suppressed; the camera's own time is used for nothing else.
type NetCamera struct {
	cfg NetConfig
	clk clock.Clock
	log *slog.Logger

	mu       sync.Mutex
	events   chan hal.PlateEvent
	halted   bool
	online   atomic.Bool
	lastSeen time.Time
	last     hal.PlateEvent // the last plate read delivered (for duplicates)
	watch    clock.Timer

	reads, heartbeats, duplicates, dropped, rejected atomic.Uint64
}

var _ hal.Camera = (*NetCamera)(nil)

// NewNet returns a network camera, offline until its first push.
func NewNet(cfg NetConfig) (*NetCamera, error) {
	if cfg.Family != FamilyPush && cfg.Family != FamilyISAPI {
		return nil, fmt.Errorf("camera: config: family %d: %w", cfg.Family, ErrConfig)
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 3 * time.Minute
	}
	if cfg.Decision <= 0 {
		cfg.Decision = 2 * time.Second
	}
	c := &NetCamera{cfg: cfg, clk: clock.Or(cfg.Clock), log: halog.Or(cfg.Logger).With("camera", cfg.Name),
		events: make(chan hal.PlateEvent, 64)}
	return c, nil
}

// String names the camera.
func (c *NetCamera) String() string { return c.cfg.Name }

// Family is the camera's push protocol.
func (c *NetCamera) Family() Family { return c.cfg.Family }

// Events delivers the camera's reports; closed by Halt.
func (c *NetCamera) Events() <-chan hal.PlateEvent { return c.events }

// Online reports whether the camera pushed within the silence limit.
func (c *NetCamera) Online() bool { return c.online.Load() }

// Trigger is not supported: a network camera captures on its own.
func (c *NetCamera) Trigger(context.Context) error {
	return fmt.Errorf("camera: %s: trigger over the network: %w", c.cfg.Name, ErrUnsupported)
}

// Stats returns the counters so far.
func (c *NetCamera) Stats() NetStats {
	return NetStats{Reads: c.reads.Load(), Heartbeats: c.heartbeats.Load(), Duplicates: c.duplicates.Load(),
		Dropped: c.dropped.Load(), Rejected: c.rejected.Load()}
}

// Halt closes Events; later reads are ignored.
func (c *NetCamera) Halt() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted {
		return nil
	}
	c.halted = true
	if c.watch != nil {
		c.watch.Stop()
	}
	close(c.events)
	return nil
}

// Deliver hands the camera one decoded read and returns whether the
// camera's relay should open (always false unless OpensBarrier). ctx
// bounds the wait for the lane's decision only.
func (c *NetCamera) Deliver(ctx context.Context, r Read) (open bool, err error) {
	if c.cfg.SerialNo != "" && r.SerialNo != "" && r.SerialNo != c.cfg.SerialNo {
		c.rejected.Add(1)
		return false, fmt.Errorf("%w: serial number %q, configured %q", ErrBadPush, r.SerialNo, c.cfg.SerialNo)
	}
	ev := r.Event
	ev.Camera, ev.At = c.cfg.Name, c.clk.Now()
	var decided chan bool
	if c.cfg.OpensBarrier && (ev.Kind == hal.KindPlate || ev.Kind == hal.KindNoPlate) {
		decided = make(chan bool, 1)
		ev.Decision = &decision{c: decided}
	}
	if !c.accept(ev) {
		return false, nil
	}
	if decided == nil {
		return false, nil
	}
	t := c.clk.NewTimer(c.cfg.Decision)
	defer t.Stop()
	select {
	case open = <-decided:
		return open, nil
	case <-t.C():
		return false, nil
	case <-ctx.Done():
		return false, nil
	}
}

// decision passes the lane's first decision on a read to the waiting
// push.
type decision struct {
	once sync.Once
	c    chan bool
}

func (d *decision) Decide(open bool) { d.once.Do(func() { d.c <- open }) }

// accept marks the camera alive, suppresses duplicates and queues ev; it
// reports whether ev was queued.
func (c *NetCamera) accept(ev hal.PlateEvent) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted {
		return false
	}
	c.lastSeen = ev.At
	c.armWatch()
	if !c.online.Load() {
		c.online.Store(true)
		c.push(hal.PlateEvent{Kind: hal.KindOnline, Camera: c.cfg.Name, Colour: hal.ColourUnknown, At: ev.At})
	}
	switch ev.Kind {
	case hal.KindHeartbeat:
		c.heartbeats.Add(1)
		return false
	case hal.KindPlate:
		if c.duplicate(ev) {
			c.duplicates.Add(1)
			return false
		}
		c.last = ev
	}
	c.reads.Add(1)
	return c.push(ev)
}

// duplicate: the same plate again within the duplicate window, or a
// read the camera took before the last one (by its own clock) arriving
// within the window — a camera's retransmission.
func (c *NetCamera) duplicate(ev hal.PlateEvent) bool {
	l := c.last
	if l.Kind != hal.KindPlate || ev.At.Sub(l.At) > duplicateWindow {
		return false
	}
	if ev.Plate == l.Plate {
		return true
	}
	return !ev.CameraTime.IsZero() && !l.CameraTime.IsZero() && ev.CameraTime.Before(l.CameraTime)
}

// push queues ev without blocking (under mu); a full queue drops it.
func (c *NetCamera) push(ev hal.PlateEvent) bool {
	select {
	case c.events <- ev:
		return true
	default:
		c.dropped.Add(1)
		c.log.Warn("camera events not taken: dropped one", "kind", ev.Kind, "plate", ev.Plate)
		return false
	}
}

// armWatch (re)arms the silence timer (under mu).
func (c *NetCamera) armWatch() {
	if c.watch != nil {
		c.watch.Reset(c.cfg.Silence)
		return
	}
	c.watch = c.clk.AfterFunc(c.cfg.Silence, c.silent)
}

func (c *NetCamera) silent() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted || !c.online.Load() {
		return
	}
	now := c.clk.Now()
	if d := now.Sub(c.lastSeen); d < c.cfg.Silence {
		c.watch.Reset(c.cfg.Silence - d)
		return
	}
	c.online.Store(false)
	c.push(hal.PlateEvent{Kind: hal.KindOffline, Camera: c.cfg.Name, Colour: hal.ColourUnknown, At: now,
		Detail: fmt.Sprintf("no push for %s", c.cfg.Silence)})
}
