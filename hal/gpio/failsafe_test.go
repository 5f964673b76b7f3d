package gpio

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/hal"
	"laned/hal/clock"
	"laned/internal/progress"
)

// recPin records every level driven, in order.
type recPin struct {
	*gpiotest.Pin
	mu  sync.Mutex
	out []gpio.Level
}

func newRecPin(name string) *recPin { return &recPin{Pin: newPin(name)} }

func (p *recPin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.out = append(p.out, l)
	p.mu.Unlock()
	return p.Pin.Out(l)
}

func (p *recPin) first() (gpio.Level, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.out) == 0 {
		return false, false
	}
	return p.out[0], true
}

// TestRelayFirstLevelIsInactive: every relay's first level is its
// inactive one (item 4's other half: board's character-device lines turn
// output at their first level).
func TestRelayFirstLevelIsInactive(t *testing.T) {
	for _, mode := range []Mode{Pulse, Level} {
		open, close, stop := newRecPin("GPIO5"), newRecPin("GPIO6"), newRecPin("GPIO13")
		b, err := NewBarrier(BarrierConfig{Name: "b", Mode: mode, Clock: clock.NewFake(t0),
			Open: Relay{Pin: open, ActiveLow: true}, Close: Relay{Pin: close, ActiveLow: true}, Stop: Relay{Pin: stop}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			p    *recPin
			want gpio.Level
		}{{open, gpio.High}, {close, gpio.High}, {stop, gpio.Low}} {
			if got, ok := c.p.first(); !ok || got != c.want {
				t.Errorf("%v: %s first level = %v (driven %v); want %v (inactive)", mode, c.p.N, got, ok, c.want)
			}
		}
		b.Halt()
	}
}

// TestBarrierLearnsArmAtStart: the limit switches are read before a relay
// is driven; in level mode an arm found up keeps its open relay energised
// from the first instant, and Halt leaves it so.
func TestBarrierLearnsArmAtStart(t *testing.T) {
	tests := []struct {
		name      string
		mode      Mode
		up, down  gpio.Level // active-low switches, no pull: the pins read as preset
		wantState hal.BarrierState
		wantFirst gpio.Level // the open relay's first level (active-low)
		wantAfter gpio.Level // the open relay after Halt
	}{
		{"level, arm up", Level, gpio.Low, gpio.High, hal.BarrierUp, gpio.Low, gpio.Low},
		{"level, arm down", Level, gpio.High, gpio.Low, hal.BarrierDown, gpio.High, gpio.High},
		{"level, both switches", Level, gpio.Low, gpio.Low, hal.BarrierUnknown, gpio.High, gpio.High},
		{"pulse, arm up", Pulse, gpio.Low, gpio.High, hal.BarrierUp, gpio.High, gpio.High},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := newRecPin("GPIO5")
			up, down := newPin("GPIO16"), newPin("GPIO20")
			up.L, down.L = tt.up, tt.down
			b, err := NewBarrier(BarrierConfig{Name: "b", Mode: tt.mode, Clock: clock.NewFake(t0),
				Open: Relay{Pin: open, ActiveLow: true}, Close: Relay{Pin: newRecPin("GPIO6"), ActiveLow: true},
				Up: Switch{Pin: up, ActiveLow: true, Pull: PullNone}, Down: Switch{Pin: down, ActiveLow: true, Pull: PullNone}})
			if err != nil {
				t.Fatal(err)
			}
			if got := b.State(); got != tt.wantState {
				t.Errorf("State() at start = %v; want %v", got, tt.wantState)
			}
			if got, _ := open.first(); got != tt.wantFirst {
				t.Errorf("open relay's first level = %v; want %v", got, tt.wantFirst)
			}
			if up.P != gpio.Float {
				t.Errorf("up limit pull = %v; want none (Float)", up.P)
			}
			b.Halt()
			if got := open.Read(); got != tt.wantAfter {
				t.Errorf("open relay after Halt = %v; want %v", got, tt.wantAfter)
			}
		})
	}
}

// TestLoopPolarity: which wiring reads a cut wire (the pin left to its
// pull) as occupied.
func TestLoopPolarity(t *testing.T) {
	tests := []struct {
		activeLow bool
		pull      Pull
		cutPin    gpio.Level // what gpiotest reads after In with the pull
		failSafe  bool
	}{
		{false, PullUp, gpio.High, true},   // NC contact to ground: opens on presence and on a cut
		{true, PullUp, gpio.High, false},   // NO contact to ground: a cut reads free
		{true, PullDown, gpio.Low, true},   // NC contact to 3.3 V
		{false, PullDown, gpio.Low, false}, // NO contact to 3.3 V
	}
	for _, tt := range tests {
		if got := CutReadsActive(tt.activeLow, tt.pull); got != tt.failSafe {
			t.Errorf("CutReadsActive(activeLow %v, %v) = %v; want %v", tt.activeLow, tt.pull, got, tt.failSafe)
		}
		pin := newPin("GPIO27")
		l, err := NewLoop(pin, LoopConfig{Name: "l", ActiveLow: tt.activeLow, Pull: tt.pull, Clock: clock.NewFake(t0)})
		if err != nil {
			t.Fatal(err)
		}
		if pin.P != tt.pull.periph() || pin.L != tt.cutPin {
			t.Errorf("%v: pin pull %v level %v; want %v %v", tt.pull, pin.P, pin.L, tt.pull.periph(), tt.cutPin)
		}
		if got := l.Occupied(); got != tt.failSafe {
			t.Errorf("activeLow %v, %v, nothing connected: Occupied() = %v; want %v", tt.activeLow, tt.pull, got, tt.failSafe)
		}
		l.Halt()
	}
	if _, err := NewLoop(newPin("P"), LoopConfig{Name: "l", Pull: Pull(7)}); err == nil {
		t.Error("NewLoop with an unknown pull = nil error; want ErrConfig")
	}
}

// TestLoopFaultInput: the detector's fault output makes the loop read
// occupied while it is active.
func TestLoopFaultInput(t *testing.T) {
	clk := clock.NewFake(t0)
	pin, fault := newPin("GPIO27"), newPin("GPIO25")
	l, err := NewLoop(pin, LoopConfig{Name: "lane1/safety-loop", ActiveLow: false, Fault: fault, FaultActiveLow: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Halt()
	// The loop's NC contact closes to ground: free.
	sendEdge(t, pin, l.in.edges.Load, gpio.Low)
	clk.Advance(DefaultDebounce)
	if ev := progress.Recv(t, "an event of l", l.Events()); ev.Occupied || ev.Fault {
		t.Fatalf("event = %+v; want free", ev)
	}
	sendEdge(t, fault, l.fault.edges.Load, gpio.Low) // the detector reports a fault
	clk.Advance(DefaultDebounce)
	want := hal.LoopEvent{Loop: "lane1/safety-loop", Occupied: true, Fault: true, At: t0.Add(2 * DefaultDebounce)}
	if ev := progress.Recv(t, "an event of l", l.Events()); ev != want {
		t.Errorf("event on a detector fault = %+v; want %+v", ev, want)
	}
	if !l.Occupied() || !l.Faulted() {
		t.Errorf("Occupied() %v Faulted() %v; want both true", l.Occupied(), l.Faulted())
	}
	sendEdge(t, fault, l.fault.edges.Load, gpio.High)
	clk.Advance(DefaultDebounce)
	if ev := progress.Recv(t, "an event of l", l.Events()); ev.Occupied || ev.Fault {
		t.Errorf("event once the fault clears = %+v; want free", ev)
	}
}

// TestDebounceRereadsThePin: when the debounce ends, a level that has
// gone is not applied (a glitch whose return edge was missed), and a
// level that is there is.
func TestDebounceRereadsThePin(t *testing.T) {
	clk := clock.NewFake(t0)
	pin := newPin("GPIO17")
	l, err := NewLoop(pin, LoopConfig{Name: "l", ActiveLow: true, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	sendEdge(t, pin, l.Edges, gpio.Low) // occupied… timed
	pin.Out(gpio.High)                  // …and gone again, its edge not seen
	clk.Advance(DefaultDebounce)
	progress.Until(t, "the debounce to end", func() bool {
		l.in.mu.Lock()
		defer l.in.mu.Unlock()
		return l.in.timer == nil
	}, nil)
	if l.Occupied() {
		t.Error("Occupied() after a glitch gone before the debounce ended = true; want false")
	}
	// A level that holds is applied, at the end of its debounce.
	sendEdge(t, pin, l.Edges, gpio.Low)
	clk.Advance(DefaultDebounce)
	if ev := progress.Recv(t, "an event of l", l.Events()); !ev.Occupied || !ev.At.Equal(t0.Add(2*DefaultDebounce)) {
		t.Errorf("event = %+v; want occupied at %v", ev, t0.Add(2*DefaultDebounce))
	}
	// The timed level gone but another change there: timed afresh.
	sendEdge(t, pin, l.Edges, gpio.High) // free… timed
	clk.Advance(DefaultDebounce / 2)
	sendEdge(t, pin, l.Edges, gpio.Low) // back: the glitch ends, debounce restarts
	clk.Advance(DefaultDebounce)
	l.Halt()
	if rest := progress.DrainClosed(t, "the events of l", l.Events()); len(rest) != 0 {
		t.Errorf("events after a glitch = %+v; want none", rest)
	}
}

// earlyPin's WaitForEdge returns false at once, as a line whose wait
// fails does.
type earlyPin struct {
	*gpiotest.Pin
	calls atomic.Int64
}

func (p *earlyPin) WaitForEdge(time.Duration) bool { p.calls.Add(1); return false }

// TestInputBacksOff: a WaitForEdge that returns at once is retried after a
// growing back-off on the clock, not in a spin; Halt ends the back-off.
func TestInputBacksOff(t *testing.T) {
	clk := clock.NewFake(t0)
	pin := &earlyPin{Pin: newPin("GPIO17")}
	l, err := NewLoop(pin, LoopConfig{Name: "l", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	want := backoffMin
	for i := int64(1); i <= 8; i++ {
		progress.Until(t, "a back-off", func() bool { return l.in.backoffs.Load() >= i && clk.Pending() == 1 }, nil)
		if got := time.Duration(l.in.backoff.Load()); got != want {
			t.Fatalf("back-off %d = %v; want %v", i, got, want)
		}
		clk.Advance(want)
		want = min(2*want, backoffMax)
	}
	if n := pin.calls.Load(); n > 12 {
		t.Errorf("WaitForEdge called %d times over 8 back-offs; want about one per back-off", n)
	}
	l.Halt()
	select {
	case <-l.in.done:
	default:
		t.Error("reader still running after Halt")
	}
}

// TestHaltWaitsForReaders: when Halt returns, the reading goroutines have
// ended, also on a pin whose Halt cannot interrupt WaitForEdge.
func TestHaltWaitsForReaders(t *testing.T) {
	l, err := NewLoop(newPin("GPIO17"), LoopConfig{Name: "l", Fault: newPin("GPIO25"), Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	l.Halt()
	for _, in := range []*input{l.in, l.fault} {
		select {
		case <-in.done:
		default:
			t.Errorf("reader of %s still running after Loop.Halt", in.pin)
		}
	}
	r := newRig(t, Pulse, true, false)
	r.b.Halt()
	for _, in := range []*input{r.b.up, r.b.down} {
		select {
		case <-in.done:
		default:
			t.Errorf("reader of %s still running after Barrier.Halt", in.pin)
		}
	}
}
