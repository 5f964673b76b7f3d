package gpio

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/hal"
	"laned/hal/clock"

	"laned/internal/progress"
)

var t0 = time.Unix(1700000000, 0)

func newPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level)}
}

// sendEdge makes pin change to l and waits until the driver has taken the
// edge into its debounce (edges counts them).
func sendEdge(t *testing.T, pin *gpiotest.Pin, edges func() int64, l gpio.Level) {
	t.Helper()
	n := edges()
	pin.EdgesChan <- l
	progress.Until(t, fmt.Sprintf("edge %d on %s", n+1, pin), func() bool { return edges() > n }, nil)
}

func TestLoopDebounce(t *testing.T) {
	const ms = time.Millisecond
	type step struct {
		edge    string // "on" (occupied level) or "off"; "" for none
		advance time.Duration
	}
	tests := []struct {
		name      string
		activeLow bool
		steps     []step
		want      []bool // Occupied of each event, in order
		wantAt    []time.Duration
	}{
		{"steady change active-low", true,
			[]step{{"on", 29 * ms}, {"", ms}},
			[]bool{true}, []time.Duration{30 * ms}},
		{"steady change active-high", false,
			[]step{{"off", 30 * ms}, {"on", 50 * ms}},
			[]bool{false, true}, []time.Duration{30 * ms, 60 * ms}},
		{"chatter shorter than the debounce gives nothing", true,
			[]step{{"on", 10 * ms}, {"off", 10 * ms}, {"on", 10 * ms}, {"off", 10 * ms}, {"on", 5 * ms}, {"off", 100 * ms},
				{"on", 30 * ms}},
			[]bool{true}, []time.Duration{175 * ms}},
		{"chatter then steady gives one event at the last edge plus debounce", false,
			[]step{{"off", 10 * ms}, {"on", 10 * ms}, {"off", 10 * ms}, {"on", 10 * ms}, {"off", 30 * ms}},
			[]bool{false}, []time.Duration{70 * ms}},
		{"release and return", true,
			[]step{{"on", 30 * ms}, {"off", 30 * ms}, {"on", 30 * ms}},
			[]bool{true, false, true}, []time.Duration{30 * ms, 60 * ms, 90 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			pin := newPin("GPIO17")
			l, err := NewLoop(pin, LoopConfig{Name: "entry1/arming-loop", ActiveLow: tt.activeLow, Clock: clk})
			if err != nil {
				t.Fatalf("NewLoop: %v", err)
			}
			on, off := gpio.High, gpio.Low
			if tt.activeLow {
				on, off = gpio.Low, gpio.High
			}
			for _, s := range tt.steps {
				switch s.edge {
				case "on":
					sendEdge(t, pin, l.Edges, on)
				case "off":
					sendEdge(t, pin, l.Edges, off)
				}
				clk.Advance(s.advance)
			}
			for i, want := range tt.want {
				ev := progress.Recv(t, "an event of l", l.Events())
				wantEv := hal.LoopEvent{Loop: "entry1/arming-loop", Occupied: want, At: t0.Add(tt.wantAt[i])}
				if ev != wantEv {
					t.Errorf("event %d = %+v; want %+v", i, ev, wantEv)
				}
			}
			if got, want := l.Occupied(), tt.want[len(tt.want)-1]; got != want {
				t.Errorf("Occupied() = %v; want %v", got, want)
			}
			if err := l.Halt(); err != nil {
				t.Fatalf("Halt: %v", err)
			}
			if rest := progress.DrainClosed(t, "the events of l", l.Events()); len(rest) != 0 {
				t.Errorf("extra events %+v; want none", rest)
			}
		})
	}
}

func TestLoopInitialState(t *testing.T) {
	// gpiotest pins read High after In(PullUp): free when active-low,
	// occupied when active-high.
	for _, activeLow := range []bool{true, false} {
		l, err := NewLoop(newPin("GPIO5"), LoopConfig{Name: "l", ActiveLow: activeLow, Clock: clock.NewFake(t0)})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Occupied(); got == activeLow {
			t.Errorf("ActiveLow %v: Occupied() = %v at a High pin; want %v", activeLow, got, !activeLow)
		}
		l.Halt()
	}
}

func TestLoopStuck(t *testing.T) {
	clk := clock.NewFake(t0)
	pin := newPin("GPIO17")
	l, err := NewLoop(pin, LoopConfig{Name: "l", ActiveLow: true, StuckAfter: 10 * time.Minute, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	sendEdge(t, pin, l.Edges, gpio.Low)
	clk.Advance(DefaultDebounce)
	if ev := progress.Recv(t, "an event of l", l.Events()); !ev.Occupied || ev.Stuck {
		t.Fatalf("first event = %+v; want occupied", ev)
	}
	clk.Advance(10*time.Minute - time.Millisecond)
	clk.Advance(time.Millisecond)
	want := hal.LoopEvent{Loop: "l", Occupied: true, Stuck: true, At: t0.Add(DefaultDebounce + 10*time.Minute)}
	if ev := progress.Recv(t, "an event of l", l.Events()); ev != want {
		t.Fatalf("stuck event = %+v; want %+v", ev, want)
	}
	if !l.Occupied() {
		t.Error("Occupied() = false after the stuck warning; want true")
	}
	clk.Advance(time.Hour) // warned once per occupation
	sendEdge(t, pin, l.Edges, gpio.High)
	clk.Advance(DefaultDebounce)
	if ev := progress.Recv(t, "an event of l", l.Events()); ev.Occupied || ev.Stuck {
		t.Fatalf("event after the clear = %+v; want clear", ev)
	}
	l.Halt()
	if rest := progress.DrainClosed(t, "the events of l", l.Events()); len(rest) != 0 {
		t.Errorf("extra events %+v; want none", rest)
	}
}

func TestLoopStuckAtStart(t *testing.T) {
	clk := clock.NewFake(t0)
	l, err := NewLoop(newPin("GPIO5"), LoopConfig{Name: "l", StuckAfter: time.Minute, Clock: clk}) // active-high: occupied
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	want := hal.LoopEvent{Loop: "l", Occupied: true, Stuck: true, At: t0.Add(time.Minute)}
	if ev := progress.Recv(t, "an event of l", l.Events()); ev != want {
		t.Errorf("event = %+v; want %+v", ev, want)
	}
	l.Halt()
}

func TestLoopConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		pin  gpio.PinIn
		cfg  LoopConfig
	}{
		{"no pin", nil, LoopConfig{Name: "l"}},
		{"negative debounce", newPin("P"), LoopConfig{Name: "l", Debounce: -time.Millisecond}},
		{"negative stuck", newPin("P"), LoopConfig{Name: "l", StuckAfter: -time.Second}},
		{"pin without edges", &gpiotest.Pin{N: "P"}, LoopConfig{Name: "l"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewLoop(tt.pin, tt.cfg)
			if err == nil {
				l.Halt()
				t.Fatal("NewLoop = nil error; want one")
			}
			if tt.name != "pin without edges" && !errors.Is(err, ErrConfig) {
				t.Errorf("NewLoop = %v; want ErrConfig", err)
			}
		})
	}
}
