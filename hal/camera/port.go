package camera

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"

	"laned/hal"
	"laned/hal/clock"
)

// RS485Mode is how the RS-485 transceiver's driver is switched on for
// sending.
type RS485Mode int

const (
	// RS485Auto: the transceiver switches direction by itself (most
	// USB-RS485 adapters, auto-direction HATs). Nothing to do.
	RS485Auto RS485Mode = iota
	// RS485Kernel: the UART driver toggles RTS around each send
	// (TIOCSRS485), for HATs whose DE is wired to RTS.
	RS485Kernel
	// RS485GPIO: a GPIO pin (Config.DE) is raised around each write.
	RS485GPIO
)

func (m RS485Mode) String() string {
	switch m {
	case RS485Kernel:
		return "kernel"
	case RS485GPIO:
		return "gpio"
	}
	return "auto"
}

// ParseRS485Mode parses "auto" (or ""), "kernel" or "gpio".
func ParseRS485Mode(s string) (RS485Mode, error) {
	switch s {
	case "", "auto":
		return RS485Auto, nil
	case "kernel":
		return RS485Kernel, nil
	case "gpio":
		return RS485GPIO, nil
	}
	return 0, fmt.Errorf("camera: rs485 mode %q (want auto, kernel or gpio): %w", s, ErrConfig)
}

// DriverEnable is the transceiver's DE pin; board wires a GPIO into it.
type DriverEnable interface{ Out(high bool) error }

// Parity of the serial line.
type Parity int

const (
	ParityNone Parity = iota
	ParityOdd
	ParityEven
)

// ParseParity parses "none" (or ""), "odd" or "even".
func ParseParity(s string) (Parity, error) {
	switch strings.ToLower(s) {
	case "", "none", "n":
		return ParityNone, nil
	case "odd", "o":
		return ParityOdd, nil
	case "even", "e":
		return ParityEven, nil
	}
	return 0, fmt.Errorf("camera: parity %q (want none, odd or even): %w", s, ErrConfig)
}

// Config configures a Port. Zero values take the defaults noted.
type Config struct {
	Name     string // String(), e.g. "exit1/camera"; default "camera:" + Path
	Path     string // serial device, e.g. /dev/ttyUSB0
	Baud     int    // default 115200; 300–115200 (others the driver may reject)
	DataBits int    // 7 or 8, default 8
	Parity   Parity
	StopBits int   // 1 (default) or 2
	Codec    Codec // default LaneFrame{}
	// Addr is the camera's bus address: frames from other addresses are
	// ignored and not acknowledged, and TRIGGER goes to it. 0: any
	// address (TRIGGER is broadcast).
	Addr  int
	RS485 RS485Mode
	DE    DriverEnable // required with RS485GPIO
	// HeartbeatPeriod is the camera's heartbeat period, default 10 s; the
	// camera is offline after 3 periods without a valid frame. Negative:
	// never offline for silence (a template camera that only pushes
	// plates; the default for codecs without heartbeats).
	HeartbeatPeriod time.Duration
	// InterFrameGap: a frame not completed within it is discarded.
	// Default 100 ms.
	InterFrameGap time.Duration
	// ReopenMin and ReopenMax bound the exponential backoff of reopening
	// a port that failed; default 500 ms and 30 s.
	ReopenMin, ReopenMax time.Duration
	// MustOpen makes Open fail when the port cannot be opened at once,
	// instead of reporting offline and retrying (for field tools).
	MustOpen bool
	// OnReject, when set, is called from the reader with every rejected
	// stretch of bytes (field tools print them). It must not block.
	OnReject func(Result)
	Clock    clock.Clock  // nil: real time
	Logger   *slog.Logger // nil: discard
}

// Stats counts what a Port saw since Open.
type Stats struct {
	Frames     uint64 // valid frames from the camera
	Rejected   uint64 // rejected stretches of bytes
	Duplicates uint64 // repeated frames suppressed (and acknowledged again)
	Foreign    uint64 // frames from other addresses or controller frames (echoes), ignored
	Dropped    uint64 // events dropped because the consumer did not keep up
	Reopens    uint64 // successful reopens after a port failure
}

const (
	eventBuffer = 16
	maxQueued   = 256 // events held for a slow consumer beyond the channel's buffer
	readTimeout = 100 * time.Millisecond
)

// Port is a camera on a serial line. It implements hal.Camera.
type Port struct {
	cfg  Config
	clk  clock.Clock
	log  *slog.Logger
	name string

	events chan hal.PlateEvent
	halt   chan struct{}
	done   chan struct{}
	once   sync.Once
	online atomic.Bool

	wmu sync.Mutex
	sp  serial.Port // nil while not connected
	seq byte        // controller's sequence number, under wmu

	frames, rejected, duplicates, foreign, dropped, reopens atomic.Uint64
}

var _ hal.Camera = (*Port)(nil)

// Open configures a camera port and starts its reader. If the device
// cannot be opened, Open fails when cfg.MustOpen, else the port reports
// KindOffline and keeps retrying. ctx bounds Open only.
func Open(ctx context.Context, cfg Config) (*Port, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("camera: open: %w", err)
	}
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	p := &Port{
		cfg:    cfg,
		clk:    clock.Or(cfg.Clock),
		log:    cfg.Logger,
		name:   cfg.Name,
		events: make(chan hal.PlateEvent, eventBuffer),
		halt:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p.log = p.log.With("camera", p.name)
	if p.cfg.DE != nil {
		if err := p.cfg.DE.Out(false); err != nil {
			return nil, fmt.Errorf("camera: open %s: driver enable low: %w", cfg.Path, err)
		}
	}
	sp, err := p.openPort()
	if err != nil && cfg.MustOpen {
		return nil, err
	}
	var s *session
	if err == nil {
		s = p.startSession(sp)
	}
	go p.run(s, err)
	return p, nil
}

func (c *Config) defaults() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("camera: config: %s: %w", fmt.Sprintf(format, a...), ErrConfig)
	}
	if c.Path == "" {
		return bad("no serial path")
	}
	if c.Name == "" {
		c.Name = "camera:" + c.Path
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
	if c.Addr < 0 || c.Addr > 247 {
		return bad("address %d out of range 0–247", c.Addr)
	}
	if c.RS485 == RS485GPIO && c.DE == nil {
		return bad("rs485 gpio mode needs a driver-enable pin")
	}
	if c.RS485 != RS485GPIO {
		c.DE = nil
	}
	if c.HeartbeatPeriod == 0 {
		c.HeartbeatPeriod = 10 * time.Second
		if !c.Codec.Heartbeats() {
			c.HeartbeatPeriod = -1
		}
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

// String names the camera for logs.
func (p *Port) String() string { return p.name }

// Events delivers decoded reports in order; closed by Halt.
func (p *Port) Events() <-chan hal.PlateEvent { return p.events }

// Online reports whether a valid frame was heard within the silence limit.
func (p *Port) Online() bool { return p.online.Load() }

// Stats returns the counters so far.
func (p *Port) Stats() Stats {
	return Stats{
		Frames: p.frames.Load(), Rejected: p.rejected.Load(), Duplicates: p.duplicates.Load(),
		Foreign: p.foreign.Load(), Dropped: p.dropped.Load(), Reopens: p.reopens.Load(),
	}
}

// Halt stops the reader, closes the serial port, lowers DE and closes the
// Events channel. It is idempotent.
func (p *Port) Halt() error {
	p.once.Do(func() { close(p.halt) })
	<-p.done
	return nil
}

// Trigger asks the camera to capture now (a TRIGGER frame to Config.Addr,
// broadcast when 0).
func (p *Port) Trigger(ctx context.Context) error {
	select {
	case <-p.halt:
		return fmt.Errorf("camera: trigger: %w", ErrHalted)
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("camera: trigger: %w", err)
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	b, err := p.cfg.Codec.Trigger(p.cfg.Addr, p.seq)
	if err != nil {
		return err
	}
	p.seq++
	if err := p.writeLocked(b); err != nil {
		return fmt.Errorf("camera: trigger: %w", err)
	}
	return nil
}

// writeLocked sends b, with DE raised around it when a pin drives DE.
func (p *Port) writeLocked(b []byte) (err error) {
	if p.sp == nil {
		return ErrNotConnected
	}
	if de := p.cfg.DE; de != nil {
		if err := de.Out(true); err != nil {
			return fmt.Errorf("driver enable high: %w", err)
		}
		defer func() {
			if lerr := de.Out(false); lerr != nil && err == nil {
				err = fmt.Errorf("driver enable low: %w", lerr)
			}
		}()
	}
	for len(b) > 0 {
		n, err := p.sp.Write(b)
		if err != nil {
			return fmt.Errorf("write %s: %w", p.cfg.Path, err)
		}
		if n == 0 {
			return fmt.Errorf("write %s: %w", p.cfg.Path, io.ErrShortWrite)
		}
		b = b[n:]
	}
	if p.cfg.DE != nil {
		// DE may only drop once the last stop bit has left the UART.
		if err := p.sp.Drain(); err != nil {
			return fmt.Errorf("drain %s: %w", p.cfg.Path, err)
		}
	}
	return nil
}

func (p *Port) openPort() (serial.Port, error) {
	if p.cfg.RS485 == RS485Kernel {
		if err := enableKernelRS485(p.cfg.Path); err != nil {
			return nil, fmt.Errorf("camera: open %s: %w", p.cfg.Path, err)
		}
	}
	mode := &serial.Mode{BaudRate: p.cfg.Baud, DataBits: p.cfg.DataBits, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	switch p.cfg.Parity {
	case ParityOdd:
		mode.Parity = serial.OddParity
	case ParityEven:
		mode.Parity = serial.EvenParity
	}
	if p.cfg.StopBits == 2 {
		mode.StopBits = serial.TwoStopBits
	}
	sp, err := serial.Open(p.cfg.Path, mode)
	if err != nil {
		return nil, fmt.Errorf("camera: open %s: %w", p.cfg.Path, err)
	}
	// A bounded read lets the reader notice Halt even if a driver does
	// not wake a blocked read on Close.
	if err := sp.SetReadTimeout(readTimeout); err != nil {
		sp.Close()
		return nil, fmt.Errorf("camera: open %s: read timeout: %w", p.cfg.Path, err)
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

func (p *Port) startSession(sp serial.Port) *session {
	s := &session{chunks: make(chan chunk), done: make(chan struct{}), exited: make(chan struct{})}
	p.wmu.Lock()
	p.sp = sp
	p.wmu.Unlock()
	go p.read(sp, s)
	return s
}

// endSession closes the device and waits for the reader to finish.
func (p *Port) endSession(s *session) {
	close(s.done)
	p.wmu.Lock()
	sp := p.sp
	p.sp = nil
	p.wmu.Unlock()
	if sp != nil {
		if err := sp.Close(); err != nil {
			p.log.Debug("close serial port", "err", err)
		}
	}
	<-s.exited
}

func (p *Port) read(sp serial.Port, s *session) {
	defer close(s.exited)
	buf := make([]byte, 2048)
	for {
		n, err := sp.Read(buf)
		if n > 0 {
			c := chunk{data: bytes.Clone(buf[:n]), at: p.clk.Now()}
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

// linkState is what the consumer was last told.
type linkState int

const (
	linkUnknown linkState = iota
	linkOnline
	linkOffline
)

// loop is the state of the run goroutine; only it touches these fields.
type loop struct {
	p       *Port
	dec     Decoder
	queue   []hal.PlateEvent
	state   linkState
	last    map[int]lastFrame // per address, for duplicates
	backoff time.Duration
	watch   clock.Timer // nil when silence does not mean offline
	gap     clock.Timer
	reopen  clock.Timer
}

func (p *Port) run(s *session, openErr error) {
	l := &loop{p: p, dec: p.cfg.Codec.NewDecoder(), last: map[int]lastFrame{}, backoff: p.cfg.ReopenMin}
	l.gap = p.clk.NewTimer(time.Hour)
	l.gap.Stop()
	l.reopen = p.clk.NewTimer(time.Hour)
	l.reopen.Stop()
	var watchC <-chan time.Time
	if p.cfg.HeartbeatPeriod > 0 {
		l.watch = p.clk.NewTimer(3 * p.cfg.HeartbeatPeriod)
		watchC = l.watch.C()
	}
	if openErr != nil {
		p.log.Warn("camera port not available; retrying", "path", p.cfg.Path, "err", openErr)
		l.offline(p.clk.Now(), openErr.Error())
		l.reopen.Reset(l.nextBackoff())
	}
	defer func() {
		if s != nil {
			p.endSession(s)
		}
		l.gap.Stop()
		l.reopen.Stop()
		if l.watch != nil {
			l.watch.Stop()
		}
		if p.cfg.DE != nil {
			if err := p.cfg.DE.Out(false); err != nil {
				p.log.Warn("driver enable low at halt", "err", err)
			}
		}
		p.online.Store(false)
		for _, ev := range l.queue { // hand over what fits, then close
			select {
			case p.events <- ev:
			default:
				p.dropped.Add(1)
			}
		}
		close(p.events)
		close(p.done)
	}()
	for {
		var out chan<- hal.PlateEvent
		var next hal.PlateEvent
		if len(l.queue) > 0 {
			out, next = p.events, l.queue[0]
		}
		var chunks <-chan chunk
		if s != nil {
			chunks = s.chunks
		}
		select {
		case <-p.halt:
			return
		case out <- next:
			l.queue[0] = hal.PlateEvent{}
			l.queue = l.queue[1:]
		case c := <-chunks:
			if c.err != nil {
				p.endSession(s)
				s = nil
				l.handle(l.dec.Flush(p.clk.Now()))
				l.gap.Stop()
				p.log.Warn("camera port failed; reopening", "path", p.cfg.Path, "err", c.err)
				l.offline(p.clk.Now(), "port error: "+c.err.Error())
				l.reopen.Reset(l.nextBackoff())
				continue
			}
			l.handle(l.dec.Feed(c.data, c.at))
			if l.dec.Pending() > 0 {
				l.gap.Reset(p.cfg.InterFrameGap)
			} else {
				l.gap.Stop()
			}
		case <-l.gap.C():
			l.handle(l.dec.Flush(p.clk.Now()))
		case now := <-watchC:
			l.offline(now, fmt.Sprintf("no frame for %s", 3*p.cfg.HeartbeatPeriod))
		case <-l.reopen.C():
			sp, err := p.openPort()
			if err != nil {
				d := l.nextBackoff()
				p.log.Debug("reopen camera port", "err", err, "retry_in", d)
				l.reopen.Reset(d)
				continue
			}
			p.reopens.Add(1)
			p.log.Info("camera port reopened", "path", p.cfg.Path)
			l.dec = p.cfg.Codec.NewDecoder()
			clear(l.last) // a camera that reappears may restart its SEQ
			if l.watch != nil {
				l.watch.Reset(3 * p.cfg.HeartbeatPeriod)
			}
			s = p.startSession(sp)
		}
	}
}

func (l *loop) nextBackoff() time.Duration {
	d := l.backoff
	l.backoff = min(2*l.backoff, l.p.cfg.ReopenMax)
	return d
}

// handle acts on decoder results: ACK, suppress duplicates, emit.
func (l *loop) handle(res []Result) {
	p := l.p
	for _, r := range res {
		if r.Frame == nil {
			p.rejected.Add(1)
			p.log.Debug("rejected bytes", "hex", hex.EncodeToString(r.Rejected), "reason", r.Reason)
			if p.cfg.OnReject != nil {
				p.cfg.OnReject(r)
			}
			continue
		}
		f := r.Frame
		if f.Event.Kind == 0 || (p.cfg.Addr != 0 && f.Addr != 0 && f.Addr != p.cfg.Addr) {
			// Our own frames echoed by the transceiver, another
			// controller's, or another camera's on a shared bus.
			p.foreign.Add(1)
			continue
		}
		p.frames.Add(1)
		l.backoff = p.cfg.ReopenMin
		if l.watch != nil {
			l.watch.Reset(3 * p.cfg.HeartbeatPeriod)
		}
		if l.state != linkOnline {
			l.state = linkOnline
			p.online.Store(true)
			l.emit(hal.PlateEvent{Kind: hal.KindOnline, Addr: l.addr(f), Colour: hal.ColourUnknown, At: r.At})
		}
		p.wmu.Lock()
		if ack := p.cfg.Codec.Ack(f, p.seq); ack != nil {
			p.seq++
			if err := p.writeLocked(ack); err != nil {
				p.log.Warn("acknowledge frame", "seq", f.Seq, "err", err)
			}
		}
		p.wmu.Unlock()
		if f.Seq >= 0 {
			last, ok := l.last[f.Addr]
			if ok && bytes.Equal(last.raw, f.Raw) && r.At.Sub(last.at) <= duplicateWindow {
				p.duplicates.Add(1)
				continue
			}
			l.last[f.Addr] = lastFrame{raw: f.Raw, at: r.At}
		}
		ev := f.Event
		ev.Addr = l.addr(f)
		ev.At = r.At
		l.emit(ev)
	}
}

func (l *loop) addr(f *Frame) int {
	if f.Addr == 0 {
		return l.p.cfg.Addr
	}
	return f.Addr
}

func (l *loop) offline(at time.Time, detail string) {
	if l.state == linkOffline {
		return
	}
	l.state = linkOffline
	l.p.online.Store(false)
	l.emit(hal.PlateEvent{Kind: hal.KindOffline, Addr: l.p.cfg.Addr, Colour: hal.ColourUnknown, At: at, Detail: detail})
}

// emit queues ev for the consumer. When the consumer has fallen
// maxQueued events behind, the oldest heartbeat is dropped, else the
// oldest event: the reader never waits on the consumer.
func (l *loop) emit(ev hal.PlateEvent) {
	ev.Camera = l.p.name
	l.queue = append(l.queue, ev)
	if len(l.queue) <= maxQueued {
		return
	}
	i := 0
	for j, q := range l.queue {
		if q.Kind == hal.KindHeartbeat {
			i = j
			break
		}
	}
	lost := l.queue[i]
	l.queue = append(l.queue[:i], l.queue[i+1:]...)
	if n := l.p.dropped.Add(1); n == 1 || n%100 == 0 {
		l.p.log.Warn("camera events dropped: consumer not keeping up", "dropped", n, "lost", lost.Kind.String(), "plate", lost.Plate)
	}
}
