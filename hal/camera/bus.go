package camera

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"

	"laned/hal"
	"laned/hal/clock"
)

// BusConfig configures a Bus: what every camera on one serial line
// shares. Zero values take the defaults noted.
type BusConfig struct {
	Name     string // for logs, e.g. "/dev/serial0"; default "bus:" + Path
	Path     string // serial device, e.g. /dev/ttyUSB0
	Baud     int    // default 115200; 300–115200 (others the driver may reject)
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
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.log = b.log.With("bus", cfg.Name)
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
// closes the serial port and lowers DE. It is idempotent.
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

// send writes the frame build returns for the controller's next sequence
// number; build may return nil for nothing to send.
func (b *Bus) send(build func(seq byte) ([]byte, error)) error {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	frame, err := build(b.seq)
	if err != nil || frame == nil {
		return err
	}
	b.seq++
	return b.writeLocked(frame)
}

// writeLocked sends p, with DE raised around it when a pin drives DE.
func (b *Bus) writeLocked(p []byte) (err error) {
	if b.sp == nil {
		return ErrNotConnected
	}
	if de := b.cfg.DE; de != nil {
		if err := de.Out(true); err != nil {
			return fmt.Errorf("driver enable high: %w", err)
		}
		defer func() {
			if lerr := de.Out(false); lerr != nil && err == nil {
				err = fmt.Errorf("driver enable low: %w", lerr)
			}
		}()
	}
	for len(p) > 0 {
		n, err := b.sp.Write(p)
		if err != nil {
			return fmt.Errorf("write %s: %w", b.cfg.Path, err)
		}
		if n == 0 {
			return fmt.Errorf("write %s: %w", b.cfg.Path, io.ErrShortWrite)
		}
		p = p[n:]
	}
	if b.cfg.DE != nil {
		// DE may only drop once the last stop bit has left the UART.
		if err := b.sp.Drain(); err != nil {
			return fmt.Errorf("drain %s: %w", b.cfg.Path, err)
		}
	}
	return nil
}

func (b *Bus) openPort() (serial.Port, error) {
	if b.cfg.RS485 == RS485Kernel {
		if err := enableKernelRS485(b.cfg.Path); err != nil {
			return nil, fmt.Errorf("camera: open %s: %w", b.cfg.Path, err)
		}
	}
	mode := &serial.Mode{BaudRate: b.cfg.Baud, DataBits: b.cfg.DataBits, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	switch b.cfg.Parity {
	case ParityOdd:
		mode.Parity = serial.OddParity
	case ParityEven:
		mode.Parity = serial.EvenParity
	}
	if b.cfg.StopBits == 2 {
		mode.StopBits = serial.TwoStopBits
	}
	sp, err := serial.Open(b.cfg.Path, mode)
	if err != nil {
		return nil, fmt.Errorf("camera: open %s: %w", b.cfg.Path, err)
	}
	// A bounded read lets the reader notice Close even if a driver does
	// not wake a blocked read on Close.
	if err := sp.SetReadTimeout(readTimeout); err != nil {
		sp.Close()
		return nil, fmt.Errorf("camera: open %s: read timeout: %w", b.cfg.Path, err)
	}
	return sp, nil
}

// chunk is what the reader hands to the loop: bytes, or the error that
// ended the session.
type chunk struct {
	data []byte
	at   time.Time
	err  error
}

// session is one open of the serial device.
type session struct {
	chunks chan chunk
	done   chan struct{}
	exited chan struct{}
}

func (b *Bus) startSession(sp serial.Port) *session {
	s := &session{chunks: make(chan chunk), done: make(chan struct{}), exited: make(chan struct{})}
	b.wmu.Lock()
	b.sp = sp
	b.wmu.Unlock()
	go b.read(sp, s)
	return s
}

// endSession closes the device and waits for the reader to finish.
func (b *Bus) endSession(s *session) {
	close(s.done)
	b.wmu.Lock()
	sp := b.sp
	b.sp = nil
	b.wmu.Unlock()
	if sp != nil {
		if err := sp.Close(); err != nil {
			b.log.Debug("close serial port", "err", err)
		}
	}
	<-s.exited
}

func (b *Bus) read(sp serial.Port, s *session) {
	defer close(s.exited)
	buf := make([]byte, 2048)
	for {
		n, err := sp.Read(buf)
		if n > 0 {
			c := chunk{data: bytes.Clone(buf[:n]), at: b.clk.Now()}
			b.line.heard(c.at)
			select {
			case s.chunks <- c:
			case <-s.done:
				return
			}
		}
		if err != nil {
			select {
			case s.chunks <- chunk{err: err}:
			case <-s.done:
			}
			return
		}
		select {
		case <-s.done:
			return
		default:
		}
	}
}

// lastFrame is the last frame heard from an address.
type lastFrame struct {
	raw []byte
	at  time.Time
}

// duplicateWindow bounds how late a repeat counts as a retransmission:
// a camera repeats a PLATE 3 times 200 ms apart.
const duplicateWindow = 5 * time.Second

// maxUnclaimedLogged bounds the set of unclaimed addresses remembered for
// logging once each (there are only 247 addresses; this is a backstop).
const maxUnclaimedLogged = 256

// linkState is what a camera's consumer was last told.
type linkState int

const (
	linkUnknown linkState = iota
	linkOnline
	linkOffline
)

// busLoop is the state of the run goroutine; only it touches these
// fields and the loop-owned fields of the attached Ports.
type busLoop struct {
	b       *Bus
	dec     Decoder
	cams    map[int]*Port     // by address; 0: the any-address camera
	last    map[int]lastFrame // per address, for duplicates
	seen    map[int]bool      // unclaimed addresses already logged
	down    string            // why the port is not connected; "" while it is
	backoff time.Duration
	watch   clock.Timer // armed for the earliest silence deadline
	gap     clock.Timer
	reopen  clock.Timer
}

func (b *Bus) run(s *session, openErr error) {
	l := &busLoop{b: b, dec: b.cfg.Codec.NewDecoder(), cams: map[int]*Port{}, last: map[int]lastFrame{},
		seen: map[int]bool{}, backoff: b.cfg.ReopenMin}
	l.gap = b.clk.NewTimer(time.Hour)
	l.gap.Stop()
	l.reopen = b.clk.NewTimer(time.Hour)
	l.reopen.Stop()
	l.watch = b.clk.NewTimer(time.Hour)
	l.watch.Stop()
	if openErr != nil {
		b.log.Warn("camera port not available; retrying", "path", b.cfg.Path, "err", openErr)
		l.down = openErr.Error()
		l.reopen.Reset(l.nextBackoff())
	}
	defer func() {
		if s != nil {
			b.endSession(s)
		}
		l.gap.Stop()
		l.reopen.Stop()
		l.watch.Stop()
		if b.cfg.DE != nil {
			if err := b.cfg.DE.Out(false); err != nil {
				b.log.Warn("driver enable low at close", "err", err)
			}
		}
		for _, p := range l.cams {
			p.online.Store(false)
			p.stop()
		}
		for _, p := range l.cams {
			<-p.done
		}
		close(b.done)
	}()
	for {
		var chunks <-chan chunk
		if s != nil {
			chunks = s.chunks
		}
		select {
		case <-b.closing:
			return
		case req := <-b.attachC:
			req.reply <- l.attach(req.p)
		case req := <-b.detachC:
			delete(l.cams, req.p.addr)
			l.rearm()
			last := len(l.cams) == 0
			req.reply <- last
			if last {
				return
			}
		case c := <-chunks:
			if c.err != nil {
				b.endSession(s)
				s = nil
				l.handle(l.dec.Flush(b.clk.Now()))
				b.line.midFrame.Store(false)
				l.gap.Stop()
				b.log.Warn("camera port failed; reopening", "path", b.cfg.Path, "err", c.err)
				l.down = "port error: " + c.err.Error()
				l.reopen.Reset(l.nextBackoff()) // armed before anyone hears of it
				for _, p := range l.cams {
					l.offline(p, b.clk.Now(), l.down)
				}
				continue
			}
			l.handle(l.dec.Feed(c.data, c.at))
			b.line.midFrame.Store(l.dec.Pending() > 0)
			if l.dec.Pending() > 0 {
				l.gap.Reset(b.cfg.InterFrameGap)
			} else {
				l.gap.Stop()
			}
		case <-l.gap.C():
			l.handle(l.dec.Flush(b.clk.Now()))
			b.line.midFrame.Store(false)
		case now := <-l.watch.C():
			for _, p := range l.cams {
				if !p.deadline.IsZero() && !p.deadline.After(now) {
					p.deadline = time.Time{}
					l.offline(p, now, fmt.Sprintf("no frame for %s", 3*p.period))
				}
			}
			l.rearm()
		case <-l.reopen.C():
			sp, err := b.openPort()
			if err != nil {
				d := l.nextBackoff()
				b.log.Debug("reopen camera port", "err", err, "retry_in", d)
				l.reopen.Reset(d)
				continue
			}
			b.reopens.Add(1)
			b.log.Info("camera port reopened", "path", b.cfg.Path)
			l.down = ""
			l.dec = b.cfg.Codec.NewDecoder()
			clear(l.last) // a camera that reappears may restart its SEQ
			now := b.clk.Now()
			for _, p := range l.cams {
				if p.period > 0 {
					p.deadline = now.Add(3 * p.period)
				}
			}
			l.rearm()
			s = b.startSession(sp)
		}
	}
}

// attach adds p unless its address is taken or the codec cannot tell it
// from the cameras already on the bus.
func (l *busLoop) attach(p *Port) error {
	b := l.b
	bad := func(format string, a ...any) error {
		return fmt.Errorf("camera: attach %s to %s: %s: %w", p.name, b.cfg.Name, fmt.Sprintf(format, a...), ErrConfig)
	}
	if other := l.cams[p.addr]; other != nil {
		return bad("address %d already used by camera %s", p.addr, other.name)
	}
	if len(l.cams) > 0 {
		var others []string
		for _, o := range l.cams {
			others = append(others, o.name)
		}
		slices.Sort(others)
		switch {
		case !b.addressed:
			return bad("codec %s carries no camera address, so the bus cannot be shared (camera %s is on it); give the template an addr field", b.cfg.Codec.Name(), others[0])
		case p.addr == 0:
			return bad("a camera listening to any address (address 0) needs a bus of its own (camera %s is on it)", others[0])
		case l.cams[0] != nil:
			return bad("camera %s listens to any address on it", l.cams[0].name)
		}
	}
	l.cams[p.addr] = p
	now := b.clk.Now()
	if p.period > 0 {
		p.deadline = now.Add(3 * p.period)
		l.rearm()
	}
	if l.down != "" {
		l.offline(p, now, l.down)
	}
	return nil
}

// rearm points the silence timer at the earliest deadline, or stops it.
// The timer's wait is counted from the clock's reading now, not from the
// instant the caller handled (a watch tick's time is already past when
// the clock moved on meanwhile; a wait from it would overshoot).
func (l *busLoop) rearm() {
	now := l.b.clk.Now()
	var first time.Time
	for _, p := range l.cams {
		if !p.deadline.IsZero() && (first.IsZero() || p.deadline.Before(first)) {
			first = p.deadline
		}
	}
	if first.IsZero() {
		l.watch.Stop()
		return
	}
	l.watch.Reset(max(first.Sub(now), 0))
}

func (l *busLoop) nextBackoff() time.Duration {
	d := l.backoff
	l.backoff = min(2*l.backoff, l.b.cfg.ReopenMax)
	return d
}

// route finds the camera a frame is for: the one at its address, else
// the any-address camera; a frame without an address (template without
// addr) goes to the bus's only camera.
func (l *busLoop) route(f *Frame) *Port {
	if f.Addr == 0 {
		if len(l.cams) == 1 {
			for _, p := range l.cams {
				return p
			}
		}
		return nil
	}
	if p := l.cams[f.Addr]; p != nil {
		return p
	}
	return l.cams[0]
}

// handle acts on decoder results: route, ACK, suppress duplicates, emit.
func (l *busLoop) handle(res []Result) {
	b := l.b
	for _, r := range res {
		if r.Frame == nil {
			b.rejected.Add(1)
			b.log.Debug("rejected bytes", "hex", hex.EncodeToString(r.Rejected), "reason", r.Reason)
			if b.cfg.OnReject != nil {
				b.cfg.OnReject(r)
			}
			continue
		}
		f := r.Frame
		if f.Event.Kind == 0 {
			// Our own frames echoed by the transceiver, or another
			// controller's.
			b.foreign.Add(1)
			continue
		}
		p := l.route(f)
		if p == nil {
			b.unclaimed.Add(1)
			if !l.seen[f.Addr] && len(l.seen) < maxUnclaimedLogged {
				l.seen[f.Addr] = true
				b.log.Warn("frames from a camera address no lane is configured for; not acknowledged", "addr", f.Addr)
			}
			continue
		}
		b.frames.Add(1)
		p.frames.Add(1)
		l.backoff = b.cfg.ReopenMin
		if p.period > 0 {
			now := b.clk.Now()
			p.deadline = now.Add(3 * p.period)
			l.rearm()
		}
		addr := f.Addr
		if addr == 0 {
			addr = p.addr
		}
		if p.state != linkOnline {
			p.state = linkOnline
			p.online.Store(true)
			p.push(hal.PlateEvent{Kind: hal.KindOnline, Addr: addr, Colour: hal.ColourUnknown, At: r.At})
		}
		err := b.send(func(seq byte) ([]byte, error) { return b.cfg.Codec.Ack(f, seq), nil })
		if err != nil {
			b.log.Warn("acknowledge frame", "addr", f.Addr, "seq", f.Seq, "err", err)
		}
		if f.Seq >= 0 {
			last, ok := l.last[f.Addr]
			if ok && bytes.Equal(last.raw, f.Raw) && r.At.Sub(last.at) <= duplicateWindow {
				b.duplicates.Add(1)
				p.duplicates.Add(1)
				continue
			}
			l.last[f.Addr] = lastFrame{raw: f.Raw, at: r.At}
		}
		ev := f.Event
		ev.Addr = addr
		ev.At = r.At
		p.push(ev)
	}
}

func (l *busLoop) offline(p *Port, at time.Time, detail string) {
	if p.state == linkOffline {
		return
	}
	p.state = linkOffline
	p.online.Store(false)
	p.push(hal.PlateEvent{Kind: hal.KindOffline, Addr: p.addr, Colour: hal.ColourUnknown, At: at, Detail: detail})
}
