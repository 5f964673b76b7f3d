package cameratest

import (
	"context"
	"io"
	"sync"
	"time"
)

// Line is the cameras' side of a shared RS-485 pair: several FakeCameras
// on one pty master, as several cameras hang on one bus. Every camera
// hears every byte the controller sends (a copy each, from one reader),
// and each camera's write goes onto the line whole, never interleaved
// with another's.
type Line struct {
	rw  io.ReadWriter
	wmu sync.Mutex

	mu     sync.Mutex
	taps   []*tap
	closed bool
	done   chan struct{}
}

// NewLine returns a line on rw (a pty master). Attach cameras with Tap,
// then Start it.
func NewLine(rw io.ReadWriter) *Line { return &Line{rw: rw, done: make(chan struct{})} }

// Tap returns a camera's connection to the line: reads return what the
// controller sent from now on, writes go to the line.
func (l *Line) Tap() io.ReadWriter {
	t := &tap{l: l, ready: make(chan struct{}, 1)}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.closed = l.closed
	l.taps = append(l.taps, t)
	return t
}

// Start runs the reader until ctx ends or rw fails (the adapter is
// unplugged); then every tap reads EOF. If rw has SetReadDeadline (an
// *os.File pty master does), the end of ctx unblocks the pending read.
func (l *Line) Start(ctx context.Context) {
	unblockReads(ctx, l.rw, l.done)
	go l.read(ctx)
}

// unblockReads makes the end of ctx unblock a read pending on rw, when rw
// has SetReadDeadline, until done is closed.
func unblockReads(ctx context.Context, rw any, done <-chan struct{}) {
	if d, ok := rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		stop := context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Unix(1, 0)) })
		go func() { <-done; stop() }()
	}
}

// Wait blocks until the reader has ended.
func (l *Line) Wait() { <-l.done }

func (l *Line) read(ctx context.Context) {
	defer close(l.done)
	defer func() {
		l.mu.Lock()
		l.closed = true
		taps := l.taps
		l.mu.Unlock()
		for _, t := range taps {
			t.close()
		}
	}()
	buf := make([]byte, 1024)
	for ctx.Err() == nil {
		n, err := l.rw.Read(buf)
		if n > 0 {
			l.mu.Lock()
			taps := l.taps
			l.mu.Unlock()
			for _, t := range taps {
				t.put(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

// tap is one camera's end of a Line.
type tap struct {
	l      *Line
	ready  chan struct{} // data or close (one slot)
	mu     sync.Mutex
	buf    []byte
	closed bool
}

func (t *tap) put(p []byte) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	t.mu.Unlock()
	t.signal()
}

func (t *tap) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.signal()
}

func (t *tap) signal() {
	select {
	case t.ready <- struct{}{}:
	default:
	}
}

func (t *tap) Read(p []byte) (int, error) {
	for {
		t.mu.Lock()
		if len(t.buf) > 0 {
			n := copy(p, t.buf)
			t.buf = t.buf[n:]
			t.mu.Unlock()
			return n, nil
		}
		if t.closed {
			t.mu.Unlock()
			return 0, io.EOF
		}
		t.mu.Unlock()
		<-t.ready
	}
}

func (t *tap) Write(p []byte) (int, error) {
	t.l.wmu.Lock()
	defer t.l.wmu.Unlock()
	return t.l.rw.Write(p)
}
