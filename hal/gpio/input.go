package gpio

import (
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/hal/clock"
)

// Pull is an input's bias resistor. The zero value is the pull-up.
type Pull int

const (
	// PullUp: the internal pull-up; a contact closes to ground. A cut wire
	// reads High.
	PullUp Pull = iota
	// PullDown: the internal pull-down; a contact closes to 3.3 V. A cut
	// wire reads Low.
	PullDown
	// PullNone: no internal resistor, for an input driven by an output
	// (an opto-coupler, a detector's transistor output) or an external
	// resistor. A cut wire floats.
	PullNone
)

func (p Pull) String() string {
	switch p {
	case PullDown:
		return "pull-down"
	case PullNone:
		return "no pull"
	}
	return "pull-up"
}

func (p Pull) periph() gpio.Pull {
	switch p {
	case PullDown:
		return gpio.PullDown
	case PullNone:
		return gpio.Float
	}
	return gpio.PullUp
}

// CutReadsActive reports whether a cut wire (the pin left to its pull)
// reads active: true for an active-high input with a pull-up and an
// active-low one with a pull-down. A loop whose cut wire reads active —
// occupied — fails safe. With no pull a cut wire floats and reads
// anything.
func CutReadsActive(activeLow bool, p Pull) bool {
	return (p == PullUp && !activeLow) || (p == PullDown && activeLow)
}

// Bounds of the reader's back-off when WaitForEdge returns at once (an
// error: a line not configured for edges, a closed descriptor), so that a
// broken input does not spin a core.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 5 * time.Second
	// earlyReturn: a WaitForEdge without an edge that returns sooner than
	// this did not wait.
	earlyReturn = edgeWait / 2
	// haltWait bounds Halt's wait for the reader: a reader ends within
	// edgeWait even on a pin whose wait Halt cannot interrupt; the rest is
	// a margin for a busy machine.
	haltWait = 2 * time.Second
)

// input is a debounced, edge-driven digital input. A goroutine blocks in
// WaitForEdge; every edge (re)starts the debounce timer; when the timer
// runs out the pin is read again and, if it still shows the level that
// was timed and that level's active state differs from the last debounced
// one, onChange is called with the time the level became steady. A
// chatter shorter than the debounce therefore gives nothing, and neither
// does a glitch whose return edge the reader has not seen yet.
type input struct {
	pin       gpio.PinIn
	activeLow bool
	debounce  time.Duration
	clk       clock.Clock
	timers    clock.Clock                     // makes the debounce timer; clk unless set after newInput
	onChange  func(active bool, at time.Time) // called with mu held, in order

	edges    atomic.Int64
	backoffs atomic.Int64 // early WaitForEdge returns backed off from
	backoff  atomic.Int64 // the current back-off, a time.Duration; 0 when none
	stop     atomic.Bool
	quit     chan struct{} // closed by halt
	done     chan struct{} // closed when the reader ends
	started  bool

	mu     sync.Mutex
	active bool        // debounced
	level  bool        // read at the last edge: what the running debounce times
	due    time.Time   // when the running debounce ends
	timer  clock.Timer // the running debounce; nil when none
	gen    int
}

// newInput configures pin as an input with pull on both edges and reads
// its initial state; start starts the reader. onChange must not call back
// into the input.
func newInput(pin gpio.PinIn, activeLow bool, pull Pull, debounce time.Duration, clk clock.Clock, onChange func(bool, time.Time)) (*input, error) {
	if err := pin.In(pull.periph(), gpio.BothEdges); err != nil {
		return nil, err
	}
	in := &input{pin: pin, activeLow: activeLow, debounce: debounce, clk: clk, timers: clk, onChange: onChange,
		quit: make(chan struct{}), done: make(chan struct{})}
	in.active = in.read()
	return in, nil
}

func (in *input) start() {
	in.started = true
	go in.run()
}

func (in *input) read() bool {
	l := in.pin.Read()
	return (l == gpio.Low) == in.activeLow
}

func (in *input) run() {
	defer close(in.done)
	var backoff time.Duration
	for !in.stop.Load() {
		start := time.Now() // WaitForEdge's timeout is real time
		got := in.pin.WaitForEdge(edgeWait)
		if in.stop.Load() {
			return
		}
		if got {
			backoff = 0
			in.edge(true)
			continue
		}
		in.edge(false)
		if time.Since(start) >= earlyReturn {
			backoff = 0
			in.backoff.Store(0)
			continue
		}
		backoff = min(max(2*backoff, backoffMin), backoffMax)
		in.backoff.Store(int64(backoff))
		in.backoffs.Add(1)
		t := in.clk.NewTimer(backoff)
		select {
		case <-t.C():
		case <-in.quit:
			t.Stop()
			return
		}
	}
}

// edge restarts the debounce after an edge (real) or, after a quiet wait,
// when the pin disagrees with the debounced state and no debounce is
// running (a lost edge). A debounce already due whose timer has not run
// yet is ended first: after an edge with the level it was timing (no edge
// came between, so it held: a late timer goroutine never loses a change),
// after a quiet wait as its timer would (the pin read again).
func (in *input) edge(real bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stop.Load() {
		return
	}
	now := in.clk.Now()
	if in.timer != nil && !now.Before(in.due) {
		in.timer.Stop()
		in.timer = nil
		if !real {
			in.end()
			return
		}
		in.apply(in.level, in.due)
	}
	level := in.read()
	if !real && (in.timer != nil || level == in.active) {
		return
	}
	in.timeLevel(level, now)
	if real {
		in.edges.Add(1)
	}
}

// timeLevel starts (or restarts) the debounce of level from now; it must be
// called with in.mu held.
func (in *input) timeLevel(level bool, now time.Time) {
	if in.timer != nil {
		in.timer.Stop()
	}
	in.gen++
	gen := in.gen
	in.level, in.due = level, now.Add(in.debounce)
	in.timer = in.timers.AfterFunc(in.debounce, func() { in.settle(gen) })
}

// settle is the debounce timer's function.
func (in *input) settle(gen int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.gen != gen || in.timer == nil || in.stop.Load() {
		return
	}
	in.timer = nil
	in.end()
}

// end ends a debounce: the pin is read again, and only a level still
// there is applied. A level that has gone (a glitch whose return edge is
// still on its way) is not; if the pin now shows a change, that change is
// timed afresh. It must be called with in.mu held.
func (in *input) end() {
	now := in.read()
	if now != in.level {
		if now != in.active {
			in.timeLevel(now, in.clk.Now())
		}
		return
	}
	in.apply(in.level, in.due)
}

// apply must be called with in.mu held.
func (in *input) apply(active bool, at time.Time) {
	if active != in.active {
		in.active = active
		in.onChange(active, at)
	}
}

// Active reports the debounced state.
func (in *input) Active() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.active
}

// halt stops the reader and the debounce timer; it interrupts a pending
// WaitForEdge where the pin supports it (gpioioctl does) and a back-off.
// wait then waits for the reader to end.
func (in *input) halt() {
	if in.stop.Swap(true) {
		return
	}
	close(in.quit)
	in.mu.Lock()
	in.gen++
	if in.timer != nil {
		in.timer.Stop()
		in.timer = nil
	}
	in.mu.Unlock()
	_ = in.pin.Halt()
}

// wait waits until the reader has ended, at most haltWait: on a pin whose
// Halt cannot interrupt WaitForEdge (gpiotest's) the reader ends within
// edgeWait. It reports whether the reader ended.
func (in *input) wait() bool {
	if !in.started {
		return true
	}
	t := time.NewTimer(haltWait)
	defer t.Stop()
	select {
	case <-in.done:
		return true
	case <-t.C:
		return false
	}
}
