package sim

import (
	"slices"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/hal/clock"
)

// line is a GPIO line of the simulated board: periph's fake pin, with
// what the sim needs on top.
//
// As an input it is driven by a simulated device (a loop detector's
// output, a limit switch): the device sets the level, whatever pull the
// driver asks for, and every change is an edge the driver's WaitForEdge
// takes. As an output it tells the device wired to it (the barrier
// controller) of every level the driver sets.
type line struct {
	gpiotest.Pin

	dc    *debounceClock     // the driver's debounce timers (inputs)
	onOut func(l gpio.Level) // the device wired to an output; called with the driver's lock held
	quit  chan struct{}      // closed by Halt: the driver stopped reading
	once  sync.Once
}

func newLine(name string, level gpio.Level, dc *debounceClock) *line {
	p := &line{dc: dc, quit: make(chan struct{})}
	p.N, p.L, p.EdgesChan = name, level, make(chan gpio.Level) // unbuffered: a send returns once the driver took the edge
	return p
}

// In records the pull and keeps the level: the simulated device drives the
// line both ways.
func (p *line) In(pull gpio.Pull, edge gpio.Edge) error {
	p.Lock()
	p.P = pull
	p.Unlock()
	return nil
}

// WaitForEdge waits for the device's next change, timeout, or Halt, which
// interrupts it as on the GPIO character device.
func (p *line) WaitForEdge(timeout time.Duration) bool {
	var expire <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	select {
	case l := <-p.EdgesChan:
		p.Lock()
		p.L = l
		p.Unlock()
		return true
	case <-expire:
		return false
	case <-p.quit:
		return false
	}
}

// Halt interrupts a pending WaitForEdge for good.
func (p *line) Halt() error {
	p.once.Do(func() { close(p.quit) })
	return nil
}

// Out sets the level and tells the device wired to the output.
func (p *line) Out(l gpio.Level) error {
	if err := p.Pin.Out(l); err != nil {
		return err
	}
	if p.onOut != nil {
		p.onOut(l)
	}
	return nil
}

// drive changes an input's level as the device does, once or through a
// series of levels (a chattering contact), and plays the changes through
// the driver: the driver takes each edge and (re)arms its debounce, then
// the debounce runs out at once (see debounceClock). On return the driver
// has applied the last level, or has stopped reading (false). It must not
// be called with a lock the driver's change callback takes.
func (p *line) drive(levels ...gpio.Level) bool {
	for _, l := range levels {
		armed, _ := p.dc.armed()
		select {
		case p.EdgesChan <- l:
		case <-p.quit:
			return false
		}
		for {
			n, wake := p.dc.armed()
			if n > armed {
				break
			}
			select {
			case <-wake:
			case <-p.quit:
				return false
			}
		}
	}
	p.dc.flush()
	return true
}

// debounceClock is the clock of a simulated input's debounce timers: it
// tells the lane clock's time, and keeps the timers until the simulated
// device flushes them. A scripted change therefore goes through the
// driver's real debounce code (edge, timer, re-arm on chatter, apply,
// event stamped debounce after the change) without moving the lane's
// clock, which a test or the console owns.
type debounceClock struct {
	base clock.Clock

	mu     sync.Mutex
	timers []*debounceTimer
	arms   int
	wake   chan struct{} // closed and replaced at every arm
}

var _ clock.Clock = (*debounceClock)(nil)

func newDebounceClock(base clock.Clock) *debounceClock {
	return &debounceClock{base: base, wake: make(chan struct{})}
}

func (c *debounceClock) Now() time.Time      { return c.base.Now() }
func (c *debounceClock) Mono() time.Duration { return c.base.Mono() }

func (c *debounceClock) NewTimer(d time.Duration) clock.Timer {
	t := &debounceTimer{c: c, ch: make(chan time.Time, 1)}
	c.add(t)
	return t
}

func (c *debounceClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &debounceTimer{c: c, fn: f}
	c.add(t)
	return t
}

func (c *debounceClock) add(t *debounceTimer) {
	c.mu.Lock()
	c.remove(t)
	c.timers = append(c.timers, t)
	c.arms++
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

// armed reports how many timers have been armed so far, and a channel
// closed at the next arm.
func (c *debounceClock) armed() (int, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arms, c.wake
}

// flush fires every armed timer, in the caller's goroutine.
func (c *debounceClock) flush() {
	c.mu.Lock()
	ts := c.timers
	c.timers = nil
	c.mu.Unlock()
	now := c.base.Now()
	for _, t := range ts {
		if t.fn != nil {
			t.fn()
			continue
		}
		select {
		case t.ch <- now:
		default:
		}
	}
}

// remove must be called with c.mu held.
func (c *debounceClock) remove(t *debounceTimer) bool {
	i := slices.Index(c.timers, t)
	if i >= 0 {
		c.timers = slices.Delete(c.timers, i, i+1)
	}
	return i >= 0
}

type debounceTimer struct {
	c  *debounceClock
	fn func()
	ch chan time.Time
}

func (t *debounceTimer) C() <-chan time.Time { return t.ch }

func (t *debounceTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.c.remove(t)
}

func (t *debounceTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	was := t.c.remove(t)
	t.c.mu.Unlock()
	t.c.add(t)
	return was
}
