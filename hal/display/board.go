package display

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/halog"
)

// Link carries a board's frames: a serial port of its own (Port), or a
// turn on the camera's bus.
type Link interface {
	// Write sends one whole frame when the line is free. ctx bounds only
	// the wait for a turn; a frame that started goes out whole.
	Write(ctx context.Context, frame []byte) error
}

// Config configures a Board.
type Config struct {
	Name   string // for logs, e.g. "exit1/display"
	Codec  Codec  // default AA55{}
	Addr   int    // the board's address; default 100 (0x64)
	Link   Link
	Closer io.Closer // closed by Halt (the board's own port); nil on a shared bus
	Voices Voices    // names of voice indexes for the screen model; default DefaultVoices
	Clock  clock.Clock
	Logger *slog.Logger
}

// Status is a board's link health for the console.
type Status struct {
	Writes, Failed, Answers, Garbled uint64
	LastErr                          string    // the last write error; "" after a good write
	LastOK                           time.Time // the last good write
}

// Board is a lane's LED board and voice, driven through its codec over a
// Link. It keeps a model of what it shows (Screen) from what it was sent.
// Its methods may be called from any goroutine; frames go out one at a
// time in the order of the calls.
type Board struct {
	cfg Config
	clk clock.Clock
	log *slog.Logger

	mu     sync.Mutex // one command at a time: SEQ order is write order
	seq    byte
	halted bool

	smu    sync.Mutex
	screen Screen
	status Status

	dmu sync.Mutex
	dec Decoder

	writes, failed, answers, garbled atomic.Uint64
}

var _ hal.QRDisplay = (*Board)(nil)

// NewBoard returns a board on cfg.Link.
func NewBoard(cfg Config) (*Board, error) {
	if cfg.Link == nil {
		return nil, fmtConfig("board %s has no link", cfg.Name)
	}
	if cfg.Codec == nil {
		cfg.Codec = AA55{}
	}
	if cfg.Addr == 0 {
		cfg.Addr = 100
	}
	if cfg.Addr < 1 || cfg.Addr > 255 {
		return nil, fmtConfig("board %s: address %d out of range 1–255", cfg.Name, cfg.Addr)
	}
	if cfg.Voices == nil {
		cfg.Voices = DefaultVoices()
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("display#%d", cfg.Addr)
	}
	b := &Board{cfg: cfg, clk: clock.Or(cfg.Clock), log: halog.Or(cfg.Logger).With("display", cfg.Name), dec: cfg.Codec.NewDecoder()}
	return b, nil
}

// String names the board.
func (b *Board) String() string { return b.cfg.Name }

// Codec is the board's protocol family.
func (b *Board) Codec() Codec { return b.cfg.Codec }

// Halt stops the board's use; its own port is closed. The board keeps
// what it shows (it has no inert state to go back to).
func (b *Board) Halt() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.halted {
		return nil
	}
	b.halted = true
	if b.cfg.Closer != nil {
		return b.cfg.Closer.Close()
	}
	return nil
}

// Send encodes c with the next sequence number and writes it.
func (b *Board) Send(ctx context.Context, c Command) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.halted {
		return fmt.Errorf("display: %s: %s: %w", b.cfg.Name, c.Op, ErrHalted)
	}
	frame, err := b.cfg.Codec.Encode(b.seq, b.cfg.Addr, c)
	if err != nil {
		return fmt.Errorf("display: %s: %s: %w", b.cfg.Name, c.Op, err)
	}
	b.seq++ // wraps at 255
	err = b.cfg.Link.Write(ctx, frame)
	now := b.clk.Now()
	b.smu.Lock()
	defer b.smu.Unlock()
	if err != nil {
		b.failed.Add(1)
		b.status.LastErr = err.Error()
		return fmt.Errorf("display: %s: %s: %w", b.cfg.Name, c.Op, err)
	}
	b.writes.Add(1)
	b.status.LastErr, b.status.LastOK = "", now
	b.screen.Apply(c, now, b.cfg.Voices)
	b.log.Debug("display frame", "op", c.Op.String(), "hex", hex.EncodeToString(frame))
	return nil
}

// Heard takes bytes read from the link: the board's answers. A garbled
// answer is logged; a missing one is never an error.
func (b *Board) Heard(p []byte) {
	b.dmu.Lock()
	res := b.dec.Feed(p)
	b.dmu.Unlock()
	b.results(res)
}

// Gap tells the board the line went quiet: a partial answer is garbled.
func (b *Board) Gap() {
	b.dmu.Lock()
	res := b.dec.Flush()
	b.dmu.Unlock()
	b.results(res)
}

func (b *Board) results(res []Result) {
	for _, r := range res {
		if r.Frame == nil {
			b.garbled.Add(1)
			b.log.Warn("garbled answer from the display", "hex", hex.EncodeToString(r.Rejected), "reason", r.Reason)
			continue
		}
		if r.Frame.Addr != b.cfg.Addr {
			continue // another board on the line, or our own echo
		}
		b.answers.Add(1)
		b.log.Debug("display answered", "seq", r.Frame.Seq, "cmd", fmt.Sprintf("%02X", r.Frame.Cmd), "data", hex.EncodeToString(r.Frame.Data))
	}
}

// Screen returns the model of what the board shows.
func (b *Board) Screen() Screen {
	b.smu.Lock()
	defer b.smu.Unlock()
	return b.screen
}

// Status returns the board's link counters.
func (b *Board) Status() Status {
	b.smu.Lock()
	s := b.status
	b.smu.Unlock()
	s.Writes, s.Failed, s.Answers, s.Garbled = b.writes.Load(), b.failed.Load(), b.answers.Load(), b.garbled.Load()
	return s
}

// Show implements hal.Display.
func (b *Board) Show(ctx context.Context, line int, text string, secs int, c hal.DisplayColour) error {
	return b.Send(ctx, Command{Op: OpShow, Line: line, Text: text, Seconds: secs, Colour: c})
}

// Cancel implements hal.Display.
func (b *Board) Cancel(ctx context.Context, lines ...int) error {
	return b.Send(ctx, Command{Op: OpCancel, Lines: lines})
}

// SetIdle implements hal.Display.
func (b *Board) SetIdle(ctx context.Context, line int, text string, c hal.DisplayColour) error {
	return b.Send(ctx, Command{Op: OpIdle, Line: line, Text: text, Colour: c})
}

// Say implements hal.Display.
func (b *Board) Say(ctx context.Context, phrases ...hal.Phrase) error {
	return b.Send(ctx, Command{Op: OpSay, Speech: phrases})
}

// SetVolume implements hal.Display.
func (b *Board) SetVolume(ctx context.Context, v int) error {
	return b.Send(ctx, Command{Op: OpVolume, Volume: v})
}

// SetClock implements hal.Display.
func (b *Board) SetClock(ctx context.Context, t time.Time) error {
	return b.Send(ctx, Command{Op: OpClock, Time: t})
}

// CanShowQR reports whether the board's family has a QR command.
func (b *Board) CanShowQR() bool {
	_, err := b.cfg.Codec.Encode(0, b.cfg.Addr, Command{Op: OpQR, URL: "x"})
	return !errors.Is(err, ErrUnsupported)
}

// ShowQR implements hal.QRDisplay; on a family without QR it wraps
// ErrUnsupported.
func (b *Board) ShowQR(ctx context.Context, url, caption string, secs int) error {
	return b.Send(ctx, Command{Op: OpQR, URL: url, Text: caption, Seconds: secs})
}
