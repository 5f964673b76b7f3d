package cameratest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/clock"
)

// ErrNoAck is returned by SendPlate when no ACK came after every try.
var ErrNoAck = errors.New("cameratest: no ack")

// FakeCamera is a lane-frame camera on the master side of a pty (or any
// io.ReadWriter): it pushes PLATE and HEARTBEAT frames, retries a PLATE
// until it is acknowledged (up to Tries times RetryInterval apart, 3 and
// 200 ms as the spec says), records the controller's ACKs and answers a
// TRIGGER by pushing the plate it was told to Show.
type FakeCamera struct {
	Addr          int
	Tries         int
	RetryInterval time.Duration

	rw  io.ReadWriter
	clk clock.Clock

	wmu      sync.Mutex // one frame at a time on the wire
	mu       sync.Mutex
	seq      byte
	acks     []int
	waiters  map[byte]chan struct{}
	triggers int
	show     *hal.PlateEvent
	rejects  []camera.Result
	errs     []error

	done chan struct{}
}

// NewFakeCamera returns a camera at bus address addr speaking on rw,
// timing its retries with clk (nil: real time). Start its reader with
// Start.
func NewFakeCamera(rw io.ReadWriter, addr int, clk clock.Clock) *FakeCamera {
	return &FakeCamera{Addr: addr, Tries: 3, RetryInterval: 200 * time.Millisecond,
		rw: rw, clk: clock.Or(clk), waiters: map[byte]chan struct{}{}, done: make(chan struct{})}
}

// Start runs the reader until ctx ends or rw fails. If rw has
// SetReadDeadline (an *os.File pty master does), the end of ctx unblocks
// the pending read.
func (c *FakeCamera) Start(ctx context.Context) {
	unblockReads(ctx, c.rw, c.done)
	go c.read(ctx)
}

// Wait blocks until the reader has ended.
func (c *FakeCamera) Wait() { <-c.done }

func (c *FakeCamera) read(ctx context.Context) {
	defer close(c.done)
	dec := camera.LaneFrame{}.NewDecoder()
	buf := make([]byte, 1024)
	for ctx.Err() == nil {
		n, err := c.rw.Read(buf)
		for _, r := range dec.Feed(buf[:n], c.clk.Now()) {
			c.handle(ctx, r)
		}
		if err != nil {
			return
		}
	}
}

func (c *FakeCamera) handle(ctx context.Context, r camera.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := r.Frame
	if f == nil {
		c.rejects = append(c.rejects, r)
		return
	}
	if f.Addr != 0 && f.Addr != c.Addr {
		return
	}
	switch f.Cmd {
	case camera.CmdAck:
		c.acks = append(c.acks, f.AckSeq)
		if w, ok := c.waiters[byte(f.AckSeq)]; ok {
			close(w)
			delete(c.waiters, byte(f.AckSeq))
		}
	case camera.CmdTrigger:
		c.triggers++
		if c.show != nil {
			ev := *c.show
			ev.Trigger = hal.TriggerSoftware
			go func() {
				if err := c.SendPlate(ctx, ev); err != nil {
					c.mu.Lock()
					c.errs = append(c.errs, err)
					c.mu.Unlock()
				}
			}()
		}
	}
}

// Show sets the plate pushed in answer to a TRIGGER.
func (c *FakeCamera) Show(ev hal.PlateEvent) {
	c.mu.Lock()
	c.show = &ev
	c.mu.Unlock()
}

// Acks returns the SEQs the controller acknowledged, in order.
func (c *FakeCamera) Acks() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.acks...)
}

// Triggers returns how many TRIGGER frames reached the camera.
func (c *FakeCamera) Triggers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.triggers
}

// Rejected returns what the camera's decoder could not decode (it should
// be empty: the controller only sends valid frames).
func (c *FakeCamera) Rejected() []camera.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]camera.Result(nil), c.rejects...)
}

// Errs returns the errors of plates sent in answer to triggers.
func (c *FakeCamera) Errs() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

func (c *FakeCamera) nextSeq() byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.seq
	c.seq++
	return s
}

// Write puts raw bytes on the line (garbage, torn frames, hand-made
// frames).
func (c *FakeCamera) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.rw.Write(p)
}

// SendPlate pushes ev as a PLATE frame with the next SEQ and repeats it
// until acknowledged; it returns ErrNoAck after Tries sends.
func (c *FakeCamera) SendPlate(ctx context.Context, ev hal.PlateEvent) error {
	seq := c.nextSeq()
	frame, err := camera.EncodePlate(c.Addr, seq, ev)
	if err != nil {
		return err
	}
	return c.sendAcked(ctx, seq, frame, c.Tries)
}

// SendHeartbeat pushes a HEARTBEAT (once) and waits for its ACK for one
// RetryInterval.
func (c *FakeCamera) SendHeartbeat(ctx context.Context, cameraTime time.Time, status int) error {
	seq := c.nextSeq()
	frame := camera.EncodeHeartbeat(c.Addr, seq, cameraTime, status)
	return c.sendAcked(ctx, seq, frame, 1)
}

func (c *FakeCamera) sendAcked(ctx context.Context, seq byte, frame []byte, tries int) error {
	acked := make(chan struct{})
	c.mu.Lock()
	c.waiters[seq] = acked
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, seq)
		c.mu.Unlock()
	}()
	tries = max(tries, 1)
	for try := 0; try < tries; try++ {
		if _, err := c.Write(frame); err != nil {
			return fmt.Errorf("cameratest: send seq %d: %w", seq, err)
		}
		t := c.clk.NewTimer(c.RetryInterval)
		select {
		case <-acked:
			t.Stop()
			return nil
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C():
		}
	}
	return fmt.Errorf("cameratest: seq %d after %d tries: %w", seq, tries, ErrNoAck)
}
