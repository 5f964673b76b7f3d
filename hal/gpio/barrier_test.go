package gpio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/hal"
	"laned/hal/clock"
	"laned/internal/progress"
)

type rig struct {
	clk               *clock.Fake
	open, close, stop *gpiotest.Pin
	up, down          *gpiotest.Pin
	b                 *Barrier
}

// newRig wires a barrier: open relay active-low, close and stop relays
// active-high, limit switches (when limits) active-low.
func newRig(t *testing.T, mode Mode, limits, stop bool) *rig {
	t.Helper()
	r := &rig{clk: clock.NewFake(t0), open: newPin("GPIO22"), close: newPin("GPIO23")}
	cfg := BarrierConfig{
		Name: "exit1/barrier", Mode: mode, Clock: r.clk, Travel: 4 * time.Second,
		Open:  Relay{Pin: r.open, ActiveLow: true},
		Close: Relay{Pin: r.close},
	}
	if stop {
		r.stop = newPin("GPIO24")
		cfg.Stop = Relay{Pin: r.stop}
	}
	if limits {
		r.up, r.down = newPin("GPIO5"), newPin("GPIO6")
		cfg.Up = Switch{Pin: r.up, ActiveLow: true}
		cfg.Down = Switch{Pin: r.down, ActiveLow: true}
	}
	b, err := NewBarrier(cfg)
	if err != nil {
		t.Fatalf("NewBarrier: %v", err)
	}
	r.b = b
	return r
}

// relays reports which relays are energised, e.g. "open", "" or "close+stop".
func (r *rig) relays() string {
	var on []string
	if r.open.Read() == gpio.Low {
		on = append(on, "open")
	}
	if r.close.Read() == gpio.High {
		on = append(on, "close")
	}
	if r.stop != nil && r.stop.Read() == gpio.High {
		on = append(on, "stop")
	}
	return strings.Join(on, "+")
}

func (r *rig) limit(t *testing.T, up bool, at bool) {
	t.Helper()
	pin, in := r.down, r.b.down
	if up {
		pin, in = r.up, r.b.up
	}
	l := gpio.High
	if at {
		l = gpio.Low
	}
	sendEdge(t, pin, in.edges.Load, l)
	r.clk.Advance(DefaultDebounce)
	progress.Until(t, "limit switch debounced", func() bool { return in.Active() == at }, nil)
}

func TestBarrierPulse(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Pulse, false, true)
	defer r.b.Halt()
	if got := r.relays(); got != "" {
		t.Fatalf("relays after NewBarrier = %q; want none", got)
	}
	if got := r.b.State(); got != hal.BarrierUnknown {
		t.Errorf("State() without feedback or command = %v; want unknown", got)
	}
	if err := r.b.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.relays(); got != "open" {
		t.Fatalf("relays after Open = %q; want open", got)
	}
	r.clk.Advance(DefaultPulse - time.Millisecond)
	if got := r.relays(); got != "open" {
		t.Fatalf("relays 1ms before the pulse ends = %q; want open", got)
	}
	r.clk.Advance(time.Millisecond)
	progress.Until(t, "open relay released", func() bool { return r.relays() == "" }, nil)

	// A command during a pulse releases the other relay at once.
	r.b.Close(ctx)
	r.clk.Advance(100 * time.Millisecond)
	r.b.Open(ctx)
	if got := r.relays(); got != "open" {
		t.Fatalf("relays after Close then Open within a pulse = %q; want open only", got)
	}
	r.clk.Advance(DefaultPulse - 100*time.Millisecond)
	if got := r.relays(); got != "open" {
		t.Errorf("relays when the first pulse would have ended = %q; want open (the second pulse runs)", got)
	}
	r.clk.Advance(100 * time.Millisecond)
	progress.Until(t, "open relay released", func() bool { return r.relays() == "" }, nil)

	r.b.Stop(ctx)
	if got := r.relays(); got != "stop" {
		t.Errorf("relays after Stop = %q; want stop", got)
	}
	r.clk.Advance(DefaultPulse)
	progress.Until(t, "stop relay released", func() bool { return r.relays() == "" }, nil)
}

func TestBarrierLevel(t *testing.T) {
	ctx := context.Background()
	steps := []struct {
		op   string
		want string
	}{
		// Halt never closes a level-mode barrier: the held open relay stays.
		{"open", "open"}, {"", "open"}, {"close", "close"}, {"", "close"}, {"stop", "stop"}, {"open", "open"}, {"halt", "open"},
	}
	r := newRig(t, Level, false, true)
	for i, s := range steps {
		switch s.op {
		case "open":
			r.b.Open(ctx)
		case "close":
			r.b.Close(ctx)
		case "stop":
			r.b.Stop(ctx)
		case "halt":
			if err := r.b.Halt(); err != nil {
				t.Fatal(err)
			}
		case "":
			r.clk.Advance(time.Hour)
		}
		if got := r.relays(); got != s.want {
			t.Errorf("step %d %q: relays = %q; want %q", i, s.op, got, s.want)
		}
	}
	if err := r.b.Open(ctx); !errors.Is(err, ErrHalted) {
		t.Errorf("Open after Halt = %v; want ErrHalted", err)
	}
	if got := r.relays(); got != "open" {
		t.Errorf("relays after a refused Open = %q; want open, as Halt left them", got)
	}
	// Halted while closing (or stopped): every relay released.
	for _, op := range []string{"close", "stop"} {
		r := newRig(t, Level, false, true)
		r.b.Open(ctx)
		if op == "close" {
			r.b.Close(ctx)
		} else {
			r.b.Stop(ctx)
		}
		r.b.Halt()
		if got := r.relays(); got != "" {
			t.Errorf("level mode, Halt after %s: relays = %q; want none", op, got)
		}
	}
}

func TestBarrierHaltReleasesPulse(t *testing.T) {
	r := newRig(t, Pulse, false, false)
	r.b.Open(context.Background())
	r.b.Halt()
	if got := r.relays(); got != "" {
		t.Errorf("relays after Halt during a pulse = %q; want none", got)
	}
	if err := r.b.Stop(context.Background()); !errors.Is(err, ErrHalted) {
		t.Errorf("Stop after Halt = %v; want ErrHalted", err)
	}
	if rest := progress.DrainClosed(t, "the events of b", r.b.Events()); len(rest) != 1 || rest[0].State != hal.BarrierOpening {
		t.Errorf("events = %+v; want opening", rest)
	}
}

func TestBarrierNoStopRelay(t *testing.T) {
	r := newRig(t, Pulse, false, false)
	defer r.b.Halt()
	if err := r.b.Stop(context.Background()); !errors.Is(err, ErrNoStopRelay) {
		t.Errorf("Stop without a stop relay in pulse mode = %v; want ErrNoStopRelay", err)
	}
}

func TestBarrierInferred(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, Pulse, false, true)
	r.b.Open(ctx)
	if got := r.b.State(); got != hal.BarrierOpening {
		t.Fatalf("State() after Open = %v; want opening", got)
	}
	r.clk.Advance(4*time.Second - time.Millisecond)
	if got := r.b.State(); got != hal.BarrierOpening {
		t.Fatalf("State() before the travel time = %v; want opening", got)
	}
	r.clk.Advance(time.Millisecond)
	if got := r.b.State(); got != hal.BarrierUp {
		t.Fatalf("State() after the travel time = %v; want up", got)
	}
	r.b.Open(ctx) // repeated: stays up
	r.b.Close(ctx)
	r.clk.Advance(time.Second)
	r.b.Stop(ctx)
	r.clk.Advance(time.Hour)
	if got := r.b.State(); got != hal.BarrierStopped {
		t.Fatalf("State() after Stop mid-travel = %v; want stopped", got)
	}
	r.b.Halt()
	want := []hal.BarrierEvent{
		{Barrier: "exit1/barrier", State: hal.BarrierOpening, At: t0},
		{Barrier: "exit1/barrier", State: hal.BarrierUp, At: t0.Add(4 * time.Second)},
		{Barrier: "exit1/barrier", State: hal.BarrierClosing, At: t0.Add(4 * time.Second)},
		{Barrier: "exit1/barrier", State: hal.BarrierStopped, At: t0.Add(5 * time.Second)},
	}
	got := progress.DrainClosed(t, "the events of b", r.b.Events())
	if len(got) != len(want) {
		t.Fatalf("events = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestBarrierLimitSwitches(t *testing.T) {
	ctx := context.Background()
	type step struct {
		do   string // open, close, stop, up+, up-, down+, down-, wait:<duration>
		want hal.BarrierState
	}
	tests := []struct {
		name   string
		steps  []step
		faults []string // substrings of the faults, in order
	}{
		{"confirmed open and close", []step{
			{"down+", hal.BarrierDown},
			{"open", hal.BarrierOpening},
			{"down-", hal.BarrierOpening},
			{"wait:3s", hal.BarrierOpening},
			{"up+", hal.BarrierUp},
			{"wait:1h", hal.BarrierUp},
			{"close", hal.BarrierClosing},
			{"up-", hal.BarrierClosing},
			{"down+", hal.BarrierDown},
			{"wait:1h", hal.BarrierDown},
		}, nil},
		{"re-opened before the arm left the up limit", []step{
			{"up+", hal.BarrierUp},
			{"close", hal.BarrierClosing},
			{"open", hal.BarrierUp}, // the switch never opened: it cannot close again to confirm
			{"wait:1h", hal.BarrierUp},
		}, nil},
		{"open not confirmed", []step{
			{"down+", hal.BarrierDown},
			{"open", hal.BarrierOpening},
			{"wait:3999ms", hal.BarrierOpening},
			{"wait:1ms", hal.BarrierDown},
		}, []string{"open not confirmed by the up limit switch within 4s"}},
		{"close not confirmed, arm between the limits", []step{
			{"up+", hal.BarrierUp},
			{"close", hal.BarrierClosing},
			{"up-", hal.BarrierClosing},
			{"wait:4s", hal.BarrierUnknown},
		}, []string{"close not confirmed by the down limit switch within 4s"}},
		{"arm reverses while closing", []step{
			{"up+", hal.BarrierUp},
			{"close", hal.BarrierClosing},
			{"up-", hal.BarrierClosing},
			{"up+", hal.BarrierUp},
		}, []string{"arm reached the up limit while commanded down"}},
		{"arm leaves the up limit without a command", []step{
			{"up+", hal.BarrierUp},
			{"up-", hal.BarrierUnknown},
			{"down+", hal.BarrierDown},
		}, []string{"arm left the up limit without a command"}},
		{"both limits active", []step{
			{"up+", hal.BarrierUp},
			{"down+", hal.BarrierUnknown},
		}, []string{"both limit switches active"}},
		{"stop between the limits", []step{
			{"down+", hal.BarrierDown},
			{"open", hal.BarrierOpening},
			{"down-", hal.BarrierOpening},
			{"stop", hal.BarrierStopped},
			{"wait:1h", hal.BarrierStopped},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Pulse, true, true)
			if got := r.b.State(); got != hal.BarrierUnknown {
				t.Fatalf("State() with both switches open = %v; want unknown", got)
			}
			var faults []string
			for i, s := range tt.steps {
				switch {
				case s.do == "open":
					r.b.Open(ctx)
				case s.do == "close":
					r.b.Close(ctx)
				case s.do == "stop":
					r.b.Stop(ctx)
				case strings.HasPrefix(s.do, "wait:"):
					d, _ := time.ParseDuration(s.do[5:])
					r.clk.Advance(d)
				default:
					r.limit(t, strings.HasPrefix(s.do, "up"), strings.HasSuffix(s.do, "+"))
				}
				if got := r.b.State(); got != s.want {
					t.Fatalf("step %d %s: State() = %v; want %v", i, s.do, got, s.want)
				}
			}
			r.b.Halt()
			for _, ev := range progress.DrainClosed(t, "the events of b", r.b.Events()) {
				if ev.Fault != "" {
					faults = append(faults, ev.Fault)
				}
			}
			if len(faults) != len(tt.faults) {
				t.Fatalf("faults = %q; want %q", faults, tt.faults)
			}
			for i := range faults {
				if !strings.Contains(faults[i], tt.faults[i]) {
					t.Errorf("fault %d = %q; want it to contain %q", i, faults[i], tt.faults[i])
				}
			}
		})
	}
}

func TestBarrierConfigErrors(t *testing.T) {
	p := func() *gpiotest.Pin { return newPin("P") }
	tests := []struct {
		name string
		cfg  BarrierConfig
	}{
		{"no open relay", BarrierConfig{Close: Relay{Pin: p()}}},
		{"no close relay", BarrierConfig{Open: Relay{Pin: p()}}},
		{"negative pulse", BarrierConfig{Open: Relay{Pin: p()}, Close: Relay{Pin: p()}, Pulse: -1}},
		{"unknown mode", BarrierConfig{Open: Relay{Pin: p()}, Close: Relay{Pin: p()}, Mode: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBarrier(tt.cfg)
			if !errors.Is(err, ErrConfig) {
				if b != nil {
					b.Halt()
				}
				t.Errorf("NewBarrier = %v; want ErrConfig", err)
			}
		})
	}
}
