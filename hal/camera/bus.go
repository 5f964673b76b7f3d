package camera

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/halog"
)

// BusConfig configures a Bus: what every camera on one serial line
// shares. Zero values take the defaults noted.
type BusConfig struct {
	Name     string // for logs, e.g. "/dev/serial0"; default "bus:" + Path
	Path     string // serial device, e.g. /dev/ttyUSB0
	Baud     int    // default 115200; 300–4000000 accepted, the UART driver may reject a rate it lacks
	DataBits int    // 7 or 8, default 8
	Parity   Parity
	StopBits int   // 1 (default) or 2
	Codec    Codec // default LaneFrame{}
	RS485    RS485Mode
	DE       DriverEnable // required with RS485GPIO; one pin per bus
	// InterFrameGap: a frame not completed within it is discarded.
	// Default 100 ms.
	InterFrameGap time.Duration
	// ReopenMin and ReopenMax bound the exponential backoff of reopening
	// a port that failed; default 500 ms and 30 s.
	ReopenMin, ReopenMax time.Duration
	// MustOpen makes OpenBus fail when the port cannot be opened at once,
	// instead of reporting its cameras offline and retrying (for field
	// tools).
	MustOpen bool
	// OnReject, when set, is called from the reader with every rejected
	// stretch of bytes (field tools print them). It must not block.
	OnReject func(Result)
	Clock    clock.Clock  // nil: real time
	Logger   *slog.Logger // nil: discard
}

func (c *BusConfig) defaults() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("camera: config: %s: %w", fmt.Sprintf(format, a...), ErrConfig)
	}
	if c.Path == "" {
		return bad("no serial path")
	}
	if c.Name == "" {
		c.Name = "bus:" + c.Path
	}
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.Baud < 300 || c.Baud > 4000000 {
		return bad("baud %d out of range", c.Baud)
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.DataBits != 7 && c.DataBits != 8 {
		return bad("data bits %d (want 7 or 8)", c.DataBits)
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.StopBits != 1 && c.StopBits != 2 {
		return bad("stop bits %d (want 1 or 2)", c.StopBits)
	}
	if c.Parity < ParityNone || c.Parity > ParityEven {
		return bad("parity %d", c.Parity)
	}
	if c.Codec == nil {
		c.Codec = LaneFrame{}
	}
	if c.RS485 == RS485GPIO && c.DE == nil {
		return bad("rs485 gpio mode needs a driver-enable pin")
	}
	if c.RS485 != RS485GPIO {
		c.DE = nil
	}
	if c.InterFrameGap <= 0 {
		c.InterFrameGap = 100 * time.Millisecond
	}
	if c.ReopenMin <= 0 {
		c.ReopenMin = 500 * time.Millisecond
	}
	if c.ReopenMax < c.ReopenMin {
		c.ReopenMax = max(30*time.Second, c.ReopenMin)
	}
	return nil
}

// Addressed reports whether codec c carries the camera's address in
// every frame, so that several cameras can share a bus: lane-frame
// always, a template only with the addr field. Another codec says so by
// an Addressed() bool method; without one it is taken as unaddressed.
func Addressed(c Codec) bool {
	if a, ok := c.(interface{ Addressed() bool }); ok {
		return a.Addressed()
	}
	return false
}

// Bus is one RS-485 serial line shared by cameras at different
// addresses (1–247). It owns the serial port: one reader decodes every
// frame on the line and hands it to the camera at the frame's address,
// and one writer at a time (ACKs, TRIGGERs) drives the half-duplex line,
// raising DE only while writing.
//
// Frames from an address no camera on the bus claims are counted
// (Stats.Unclaimed), logged once per address and not acknowledged: a
// controller acknowledges only the cameras it serves, so that another
// controller on the line (or a camera left over from an old layout) is
// never answered twice, and an unacknowledged camera only repeats its
// frame.
//
// The bus closes its port when its last camera halts (a Bus with no
// camera yet stays open until Close); after that Camera fails with
// ErrHalted.
type Bus struct {
	cfg       BusConfig
	clk       clock.Clock
	log       *slog.Logger
	addressed bool

	attachC   chan attachReq
	detachC   chan detachReq
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{}

	wmu  sync.Mutex
	sp   serial.Port // nil while not connected
	seq  byte        // controller's sequence number, under wmu
	line lineState   // for Turns: when a byte was last heard, a frame half received

	frames, rejected, duplicates, foreign, unclaimed, dropped, reopens atomic.Uint64
}

type attachReq struct {
	p     *Port
	reply chan error
}

type detachReq struct {
	p     *Port
	reply chan bool // true: it was the last camera, the bus is closing
}

// OpenBus configures a serial line and starts its reader. If the device
// cannot be opened, OpenBus fails when cfg.MustOpen, else the bus keeps
// retrying and its cameras report KindOffline. ctx bounds OpenBus only.
// Add cameras with Camera.
func OpenBus(ctx context.Context, cfg BusConfig) (*Bus, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("camera: open: %w", err)
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b := &Bus{
		cfg:       cfg,
		clk:       clock.Or(cfg.Clock),
		log:       cfg.Logger,
		addressed: Addressed(cfg.Codec),
		attachC:   make(chan attachReq),
		detachC:   make(chan detachReq),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	b.log = halog.Or(b.log).With("bus", cfg.Name)
	if cfg.DE != nil {
		if err := cfg.DE.Out(false); err != nil {
			return nil, fmt.Errorf("camera: open %s: driver enable low: %w", cfg.Path, err)
		}
	}
	sp, err := b.openPort()
	if err != nil && cfg.MustOpen {
		return nil, err
	}
	var s *session
	if err == nil {
		s = b.startSession(sp)
	}
	go b.run(s, err)
	return b, nil
}

// String names the bus for logs.
func (b *Bus) String() string { return b.cfg.Name }

// Stats returns the counters of the whole bus so far.
func (b *Bus) Stats() Stats {
	return Stats{
		Frames: b.frames.Load(), Rejected: b.rejected.Load(), Duplicates: b.duplicates.Load(),
		Foreign: b.foreign.Load() + b.unclaimed.Load(), Unclaimed: b.unclaimed.Load(),
		Dropped: b.dropped.Load(), Reopens: b.reopens.Load(),
	}
}

// Close halts every camera on the bus (their Events channels close),
// closes the serial port, lowers DE and waits for the bus's goroutines to
// end. It always returns nil (a DE that fails to drop is logged) and may
// be called again.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() { close(b.closing) })
	<-b.done
	return nil
}

// Camera attaches the camera at bus address addr (1–247; 0 only on a bus
// of its own: any address, TRIGGER broadcast) and returns its view of the
// bus, named name for logs and events (default Name + "#" + addr). The
// camera's Events carry only frames from its address; it is offline after
// 3 heartbeat periods without a frame from it (0: 10 s when the codec has
// heartbeats, else never; negative: never) and whenever the port fails.
// A second camera on a bus whose codec carries no address (a template
// without the addr field) is refused, as is an address already taken;
// both errors wrap ErrConfig. On a closed bus the error wraps ErrHalted.
func (b *Bus) Camera(name string, addr int, heartbeat time.Duration) (*Port, error) {
	if addr < 0 || addr > 247 {
		return nil, fmt.Errorf("camera: config: address %d out of range 0–247: %w", addr, ErrConfig)
	}
	if name == "" {
		name = fmt.Sprintf("%s#%d", b.cfg.Name, addr)
	}
	if heartbeat == 0 {
		heartbeat = 10 * time.Second
		if !b.cfg.Codec.Heartbeats() {
			heartbeat = -1
		}
	}
	p := &Port{
		b: b, name: name, addr: addr, period: heartbeat,
		events: make(chan hal.PlateEvent, eventBuffer),
		wake:   make(chan struct{}, 1),
		halt:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go p.pump()
	req := attachReq{p: p, reply: make(chan error, 1)}
	var err error
	select {
	case b.attachC <- req:
		err = <-req.reply
	case <-b.done:
		err = fmt.Errorf("camera: attach %s to %s: bus closed: %w", name, b.cfg.Name, ErrHalted)
	}
	if err != nil {
		p.stop()
		<-p.done
		return nil, err
	}
	return p, nil
}

// detach removes p from the bus; it reports whether p was the last
// camera (the bus then closes). After detach the loop no longer touches p.
func (b *Bus) detach(p *Port) (last bool) {
	req := detachReq{p: p, reply: make(chan bool, 1)}
	select {
	case b.detachC <- req:
		return <-req.reply
	case <-b.done:
		return false
	}
}
