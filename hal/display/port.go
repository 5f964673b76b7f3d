package display

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"

	"laned/hal/clock"
	"laned/hal/internal/halog"
)

// Listener takes what is heard on a board's line: Board.
type Listener interface {
	Heard(p []byte)
	Gap()
}

// PortConfig configures a serial port of the board's own.
type PortConfig struct {
	Path   string
	Baud   int    // default 9600
	Parity string // "none" (default), "odd", "even"
	// ReopenMin spaces attempts to reopen a port that failed or was
	// absent; default 2 s. Writes meanwhile fail fast with
	// ErrNotConnected.
	ReopenMin time.Duration
	// MustOpen makes OpenPort fail when the device cannot be opened now
	// (bench tools).
	MustOpen bool
	Clock    clock.Clock
	Logger   *slog.Logger
}

// Port is a board's own RS-485 port (an auto-direction transceiver or a
// USB adapter). It reopens a port that failed on the next write after
// ReopenMin, and hands what it reads to its Listener.
type Port struct {
	cfg  PortConfig
	mode *serial.Mode
	clk  clock.Clock
	log  *slog.Logger
	lis  atomic.Pointer[Listener]

	mu       sync.Mutex
	sp       serial.Port
	lastTry  time.Time
	closed   bool
	sessions sync.WaitGroup
}

var _ Link = (*Port)(nil)

// OpenPort opens cfg.Path. If it cannot be opened the port retries on
// later writes, unless cfg.MustOpen.
func OpenPort(cfg PortConfig) (*Port, error) {
	if cfg.Path == "" {
		return nil, fmtConfig("no serial path")
	}
	if cfg.Baud == 0 {
		cfg.Baud = 9600
	}
	if cfg.Baud < 300 || cfg.Baud > 4000000 {
		return nil, fmtConfig("baud %d out of range", cfg.Baud)
	}
	mode := &serial.Mode{BaudRate: cfg.Baud, DataBits: 8, StopBits: serial.OneStopBit}
	switch cfg.Parity {
	case "", "none":
		mode.Parity = serial.NoParity
	case "odd":
		mode.Parity = serial.OddParity
	case "even":
		mode.Parity = serial.EvenParity
	default:
		return nil, fmtConfig("parity %q (want none, odd or even)", cfg.Parity)
	}
	if cfg.ReopenMin <= 0 {
		cfg.ReopenMin = 2 * time.Second
	}
	p := &Port{cfg: cfg, mode: mode, clk: clock.Or(cfg.Clock), log: halog.Or(cfg.Logger)}
	p.mu.Lock()
	err := p.openLocked()
	p.mu.Unlock()
	if err != nil {
		if cfg.MustOpen {
			return nil, err
		}
		p.log.Warn("display port not available; retrying on the next write", "path", cfg.Path, "err", err)
	}
	return p, nil
}

// Listen sets who hears the board's answers.
func (p *Port) Listen(l Listener) { p.lis.Store(&l) }

func (p *Port) openLocked() error {
	p.lastTry = p.clk.Now()
	sp, err := serial.Open(p.cfg.Path, p.mode)
	if err != nil {
		return fmt.Errorf("display: open %s: %w", p.cfg.Path, err)
	}
	if err := sp.SetReadTimeout(100 * time.Millisecond); err != nil {
		sp.Close()
		return fmt.Errorf("display: open %s: read timeout: %w", p.cfg.Path, err)
	}
	p.sp = sp
	p.sessions.Add(1)
	go p.read(sp)
	return nil
}

func (p *Port) read(sp serial.Port) {
	defer p.sessions.Done()
	buf := make([]byte, 512)
	pending := false
	for {
		n, err := sp.Read(buf)
		lp := p.lis.Load()
		switch {
		case n > 0 && lp != nil:
			(*lp).Heard(bytes.Clone(buf[:n]))
			pending = true
		case n == 0 && pending && lp != nil:
			(*lp).Gap()
			pending = false
		}
		if err != nil {
			p.mu.Lock()
			if p.sp == sp {
				p.sp = nil
				sp.Close()
				if !p.closed {
					p.log.Warn("display port failed; reopening on the next write", "path", p.cfg.Path, "err", err)
				}
			}
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		gone := p.sp != sp
		p.mu.Unlock()
		if gone {
			return
		}
	}
}

// Write sends frame whole; ctx is not used past the start (the port is
// the board's alone, there is no turn to wait for).
func (p *Port) Write(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrHalted
	}
	if p.sp == nil {
		if p.clk.Now().Sub(p.lastTry) < p.cfg.ReopenMin {
			return ErrNotConnected
		}
		if err := p.openLocked(); err != nil {
			return fmt.Errorf("%w: %v", ErrNotConnected, err)
		}
		p.log.Info("display port reopened", "path", p.cfg.Path)
	}
	for rest := frame; len(rest) > 0; {
		n, err := p.sp.Write(rest)
		if err == nil && n == 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			p.sp.Close()
			p.sp = nil
			return fmt.Errorf("write %s: %w", p.cfg.Path, err)
		}
		rest = rest[n:]
	}
	return nil
}

// Close closes the port and waits for its reader.
func (p *Port) Close() error {
	p.mu.Lock()
	p.closed = true
	sp := p.sp
	p.sp = nil
	p.mu.Unlock()
	var err error
	if sp != nil {
		err = sp.Close()
	}
	p.sessions.Wait()
	return err
}
