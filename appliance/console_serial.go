package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.bug.st/serial"

	"laned/edge/console"
	"laned/hal/clock"
)

// serialConsole runs console sessions on a serial port, one after the
// other, reopening the port with backoff when it fails.
type serialConsole struct {
	path string
	baud int
	c    *console.Console
	log  *slog.Logger
	clk  clock.Clock
	open func(path string, baud int) (io.ReadWriteCloser, error)
	// backoff after a failed open or a session ended by a port error
	minBackoff, maxBackoff time.Duration
}

// serveConsoleSerial serves c on the serial port at path (8N1 at baud)
// until ctx ends: a session ends on Ctrl-D, exit or the Console's idle
// timeout, and the port is reopened for the next greeting; when the port
// cannot be opened or fails (a USB adapter pulled out), it is reopened
// with backoff from 1 s to 30 s. It returns nil when ctx ends.
func serveConsoleSerial(ctx context.Context, path string, baud int, c *console.Console, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &serialConsole{path: path, baud: baud, c: c, log: logger, clk: clock.Real{},
		open: openSerial, minBackoff: time.Second, maxBackoff: 30 * time.Second}
	return s.run(ctx)
}

func openSerial(path string, baud int) (io.ReadWriteCloser, error) {
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	p.ResetInputBuffer() // line noise from before the session
	return p, nil
}

func (s *serialConsole) run(ctx context.Context) error {
	backoff := s.minBackoff
	for ctx.Err() == nil {
		port, err := s.open(s.path, s.baud)
		if err == nil {
			backoff = s.minBackoff // the port works
			err = s.c.Serve(ctx, port)
			port.Close() // also ends the session's outstanding read
			if err == nil {
				continue // next greeting
			}
			if ctx.Err() != nil {
				return nil
			}
		}
		s.log.Warn("console serial: port failed; reopening", "port", s.path, "err", err, "retry_in", backoff)
		if !s.sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
	return nil
}

// sleep waits d on the clock; false if ctx ended first.
func (s *serialConsole) sleep(ctx context.Context, d time.Duration) bool {
	t := s.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}
