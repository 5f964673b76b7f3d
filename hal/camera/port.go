package camera

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"laned/hal"
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
	// RS485GPIO: a GPIO pin (BusConfig.DE) is raised around each write.
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

// Config configures a camera on a serial line of its own (Open): the
// line's settings, which are a BusConfig's, plus the camera's own. Zero
// values take the defaults noted; Name defaults to "camera:" + Path and
// names both the camera and its line. Cameras sharing a line use OpenBus
// and Bus.Camera instead.
type Config struct {
	BusConfig
	// Addr is the camera's bus address: frames from other addresses are
	// ignored and not acknowledged, and TRIGGER goes to it. 0: any
	// address (TRIGGER is broadcast). A frame without an address (a
	// template without the addr field) is always this camera's.
	Addr int
	// HeartbeatPeriod is the camera's heartbeat period, default 10 s; the
	// camera is offline after 3 periods without a valid frame. Negative:
	// never offline for silence (a template camera that only pushes
	// plates; the default for codecs without heartbeats).
	HeartbeatPeriod time.Duration
}

// Stats counts what a Port or a Bus saw since it was opened. For a Port,
// Frames, Duplicates and Dropped are its own and the rest are its bus's.
type Stats struct {
	Frames     uint64 // valid frames from the camera(s)
	Rejected   uint64 // rejected stretches of bytes
	Duplicates uint64 // repeated frames suppressed (and acknowledged again)
	// Foreign counts frames ignored because they are for no camera on
	// the bus: controller frames (echoes, another controller's) and, of
	// those, Unclaimed: frames from addresses no camera claims (not
	// acknowledged).
	Foreign   uint64
	Unclaimed uint64
	Dropped   uint64 // events dropped because the consumer did not keep up
	Reopens   uint64 // successful reopens after a port failure
}

const (
	eventBuffer = 16
	maxQueued   = 256 // events held for a slow consumer beyond the channel's buffer
	readTimeout = 100 * time.Millisecond
)

// Port is one camera on a serial line: a Bus's view of one address. It
// implements hal.Camera.
type Port struct {
	b      *Bus
	name   string
	addr   int
	period time.Duration // heartbeat period; <= 0: silence is not offline

	events chan hal.PlateEvent
	wake   chan struct{} // a push happened (one slot)
	halt   chan struct{}
	done   chan struct{} // the pump ended and closed events
	once   sync.Once
	hmu    sync.Mutex // serialises Halt
	online atomic.Bool

	mu     sync.Mutex
	queue  []hal.PlateEvent // events the pump has yet to deliver
	closed bool             // the pump ended: pushes are dropped

	frames, duplicates, dropped atomic.Uint64

	// Owned by the bus loop while attached.
	state    linkState
	deadline time.Time // zero: no silence deadline armed
}

var _ hal.Camera = (*Port)(nil)

// Open opens a camera on a serial line of its own: a Bus with one
// camera, which closes the line when the camera halts. If the device
// cannot be opened, Open fails when cfg.MustOpen, else the camera reports
// KindOffline and the bus keeps retrying. ctx bounds Open only.
func Open(ctx context.Context, cfg Config) (*Port, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("camera: open: %w", err)
	}
	if cfg.Path == "" {
		return nil, fmt.Errorf("camera: config: no serial path: %w", ErrConfig)
	}
	if cfg.Name == "" {
		cfg.Name = "camera:" + cfg.Path
	}
	if cfg.Addr < 0 || cfg.Addr > 247 {
		return nil, fmt.Errorf("camera: config: address %d out of range 0–247: %w", cfg.Addr, ErrConfig)
	}
	b, err := OpenBus(ctx, cfg.BusConfig)
	if err != nil {
		return nil, err
	}
	p, err := b.Camera(cfg.Name, cfg.Addr, cfg.HeartbeatPeriod)
	if err != nil {
		b.Close()
		return nil, err
	}
	return p, nil
}

// String names the camera for logs.
func (p *Port) String() string { return p.name }

// Addr is the camera's bus address (0: any).
func (p *Port) Addr() int { return p.addr }

// Bus is the line the camera is on.
func (p *Port) Bus() *Bus { return p.b }

// Events delivers the camera's decoded reports in order; closed by Halt
// (or by the bus's Close).
func (p *Port) Events() <-chan hal.PlateEvent { return p.events }

// Online reports whether a valid frame from the camera was heard within
// the silence limit and the port is connected.
func (p *Port) Online() bool { return p.online.Load() }

// Stats returns the counters so far: the camera's own Frames, Duplicates
// and Dropped, the bus's Rejected, Foreign, Unclaimed and Reopens.
func (p *Port) Stats() Stats {
	st := p.b.Stats()
	st.Frames, st.Duplicates, st.Dropped = p.frames.Load(), p.duplicates.Load(), p.dropped.Load()
	return st
}

// Halt detaches the camera from its bus and closes its Events channel;
// when it was the bus's last camera, the bus closes too (reader stopped,
// serial port closed, DE low) before Halt returns. It is idempotent.
func (p *Port) Halt() error {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	if p.b.detach(p) {
		<-p.b.done
	}
	p.stop()
	<-p.done
	return nil
}

// stop ends the pump (idempotent); the loop must no longer push to p.
func (p *Port) stop() { p.once.Do(func() { close(p.halt) }) }

// Trigger asks the camera to capture now (a TRIGGER frame to its address,
// broadcast when 0). It waits for the bus's other writes, never for a
// frame.
func (p *Port) Trigger(ctx context.Context) error {
	select {
	case <-p.halt:
		return fmt.Errorf("camera: trigger: %w", ErrHalted)
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("camera: trigger: %w", err)
	}
	var codecErr error
	err := p.b.send(func(seq byte) ([]byte, error) {
		b, err := p.b.cfg.Codec.Trigger(p.addr, seq)
		codecErr = err
		return b, err
	})
	if codecErr != nil {
		return codecErr
	}
	if err != nil {
		return fmt.Errorf("camera: trigger: %w", err)
	}
	return nil
}

// push queues ev for the consumer and wakes the pump. When the consumer
// has fallen maxQueued events behind, the oldest heartbeat is dropped,
// else the oldest event: the bus's reader never waits on a consumer.
func (p *Port) push(ev hal.PlateEvent) {
	ev.Camera = p.name
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.queue = append(p.queue, ev)
	var lost *hal.PlateEvent
	if len(p.queue) > maxQueued {
		i := 0
		for j, q := range p.queue {
			if q.Kind == hal.KindHeartbeat {
				i = j
				break
			}
		}
		l := p.queue[i]
		lost = &l
		p.queue = append(p.queue[:i], p.queue[i+1:]...)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	if lost != nil {
		p.b.dropped.Add(1)
		if n := p.dropped.Add(1); n == 1 || n%100 == 0 {
			p.b.log.Warn("camera events dropped: consumer not keeping up", "camera", p.name, "dropped", n, "lost", lost.Kind.String(), "plate", lost.Plate)
		}
	}
}

// pump delivers the queue to Events, so that a slow consumer of one
// camera holds up neither the bus nor the other cameras.
func (p *Port) pump() {
	defer close(p.done)
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-p.halt:
				p.finish(nil)
				return
			}
		}
		ev := p.queue[0]
		p.queue[0] = hal.PlateEvent{}
		p.queue = p.queue[1:]
		p.mu.Unlock()
		select {
		case p.events <- ev:
		case <-p.halt:
			p.finish(&ev)
			return
		}
	}
}

// finish hands over what fits without waiting, then closes Events.
func (p *Port) finish(held *hal.PlateEvent) {
	p.online.Store(false)
	p.mu.Lock()
	q := p.queue
	p.queue, p.closed = nil, true
	p.mu.Unlock()
	if held != nil {
		q = append([]hal.PlateEvent{*held}, q...)
	}
	for _, ev := range q {
		select {
		case p.events <- ev:
		default:
			p.dropped.Add(1)
			p.b.dropped.Add(1)
		}
	}
	close(p.events)
}
