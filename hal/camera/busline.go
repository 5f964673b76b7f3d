package camera

// The bus's side of the serial line: writing under DE, opening the port,
// and the reader goroutine of one port session.

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"go.bug.st/serial"
)

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
