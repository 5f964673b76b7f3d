package gpio

import (
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"laned/hal/clock"
)

// input is a debounced, edge-driven digital input. A goroutine blocks in
// WaitForEdge; every edge (re)starts the debounce timer; when the timer
// runs out the pin is read and, if its active state differs from the last
// debounced one, onChange is called with the time the level became steady.
// A chatter shorter than the debounce therefore gives nothing.
type input struct {
	pin       gpio.PinIn
	activeLow bool
	debounce  time.Duration
	clk       clock.Clock
	timers    clock.Clock                     // makes the debounce timer; clk unless set after newInput
	onChange  func(active bool, at time.Time) // called with mu held, in order

	edges atomic.Int64
	stop  atomic.Bool
	done  chan struct{}

	mu     sync.Mutex
	active bool        // debounced
	level  bool        // read at the last edge: what the running debounce times
	due    time.Time   // when the running debounce ends
	timer  clock.Timer // the running debounce; nil when none
	gen    int
}

// newInput configures pin as a pull-up input on both edges and reads its
// initial state; start starts the reader. onChange must not call back
// into the input.
func newInput(pin gpio.PinIn, activeLow bool, debounce time.Duration, clk clock.Clock, onChange func(bool, time.Time)) (*input, error) {
	if err := pin.In(gpio.PullUp, gpio.BothEdges); err != nil {
		return nil, err
	}
	in := &input{pin: pin, activeLow: activeLow, debounce: debounce, clk: clk, timers: clk, onChange: onChange, done: make(chan struct{})}
	in.active = in.read()
	return in, nil
}

func (in *input) start() { go in.run() }

func (in *input) read() bool {
	l := in.pin.Read()
	return (l == gpio.Low) == in.activeLow
}

func (in *input) run() {
	defer close(in.done)
	for !in.stop.Load() {
		if in.pin.WaitForEdge(edgeWait) {
			if in.stop.Load() {
				return
			}
			in.edge(true)
			continue
		}
		if !in.stop.Load() {
			in.edge(false)
		}
	}
}

// edge restarts the debounce after an edge (real) or, after a quiet wait,
// when the pin disagrees with the debounced state and no debounce is
// running (a lost edge). A debounce already due whose timer has not run
// yet is applied first, with the level it was timing: a late timer
// goroutine never loses a change.
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
		in.apply(in.level, in.due)
	}
	level := in.read()
	if !real && (in.timer != nil || level == in.active) {
		return
	}
	if in.timer != nil {
		in.timer.Stop()
	}
	in.gen++
	gen := in.gen
	in.level, in.due = level, now.Add(in.debounce)
	in.timer = in.timers.AfterFunc(in.debounce, func() { in.settle(gen) })
	if real {
		in.edges.Add(1)
	}
}

func (in *input) settle(gen int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.gen != gen || in.timer == nil || in.stop.Load() {
		return
	}
	in.timer = nil
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
// WaitForEdge where the pin supports it (gpioioctl does) and returns at
// once otherwise, the reader ending within edgeWait.
func (in *input) halt() {
	if in.stop.Swap(true) {
		return
	}
	in.mu.Lock()
	in.gen++
	if in.timer != nil {
		in.timer.Stop()
		in.timer = nil
	}
	in.mu.Unlock()
	_ = in.pin.Halt()
}
