package board_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/board"
	"laned/hal"
	"laned/hal/clock"
	halgpio "laned/hal/gpio"
	"laned/hal/sim"
	"laned/internal/progress"
)

var t0 = time.Unix(1700000000, 0)

func TestWithDefaultsPi(t *testing.T) {
	for _, p := range []string{board.ProfileRPi3, board.ProfileRPi4, board.ProfileRPi5} {
		cfg := board.Config{Profile: p}.WithDefaults()
		if len(cfg.Lanes) != 2 {
			t.Fatalf("%s: %d default lanes; want 2", p, len(cfg.Lanes))
		}
		l := cfg.Lanes[0]
		if l.Name != "lane1" || l.ArmingLoop != (board.PinSpec{Pin: "GPIO17", ActiveLow: true}) || l.OpenRelay.Pin != "GPIO5" || l.UpLimit.Pin != board.None {
			t.Errorf("%s: lane 1 = %+v; want the README's pins", p, l)
		}
		if l.Pulse.D() != 500*time.Millisecond || l.Debounce.D() != 30*time.Millisecond || l.Camera.Baud != 115200 || l.Camera.Addr != 1 || cfg.Lanes[1].Camera.Addr != 2 {
			t.Errorf("%s: lane 1 settings = %+v; want defaults", p, l)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: default configuration: Validate() = %v; want nil", p, err)
		}
		// GPIO14/15 is /dev/serial0 on a Pi 3 or 4; on a Pi 5 serial0 is
		// the debug UART (ttyAMA10) and the header's UART0 is ttyAMA0.
		want := "/dev/serial0"
		if p == board.ProfileRPi5 {
			want = "/dev/ttyAMA0"
		}
		if got := l.Camera.Path; got != want {
			t.Errorf("%s: default camera path = %s; want %s", p, got, want)
		}
	}
}

func TestWithDefaultsOverride(t *testing.T) {
	cfg := board.Config{Profile: board.ProfileRPi4, Lanes: []board.LaneConfig{{
		Name:       "exit1",
		ArmingLoop: board.PinSpec{Pin: "GPIO12"}, // active-high detector
		UpLimit:    board.PinSpec{Pin: "16", ActiveLow: true},
		Level:      true,
		Travel:     board.Duration(3 * time.Second),
	}}}.WithDefaults()
	l := cfg.Lanes[0]
	if len(cfg.Lanes) != 1 || l.Name != "exit1" {
		t.Fatalf("lanes = %+v; want exit1 only", cfg.Lanes)
	}
	if l.ArmingLoop != (board.PinSpec{Pin: "GPIO12"}) || l.SafetyLoop.Pin != "GPIO27" || l.UpLimit.Pin != "16" || l.DownLimit.Pin != board.None {
		t.Errorf("lane = %+v; want arming GPIO12 active-high, defaults elsewhere", l)
	}
	if l.Travel.D() != 3*time.Second || !l.Level {
		t.Errorf("lane travel %v level %v; want 3s level", l.Travel, l.Level)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v; want nil", err)
	}
}

func TestValidate(t *testing.T) {
	pi := func(mod func(l *board.LaneConfig)) board.Config {
		c := board.Config{Profile: board.ProfileRPi4}.WithDefaults()
		mod(&c.Lanes[1])
		return c
	}
	tests := []struct {
		name string
		cfg  board.Config
		want []string // "lane|key|message part"
	}{
		{"unknown profile", board.Config{Profile: "rpi9"}, []string{`|profile|unknown profile "rpi9"`}},
		{"pin used twice", pi(func(l *board.LaneConfig) { l.SafetyLoop.Pin = "17" }),
			[]string{"lane2|safety_loop.pin|already used by lane1/arming_loop"}},
		{"unknown pin name", pi(func(l *board.LaneConfig) { l.OpenRelay.Pin = "GPIO40" }),
			[]string{`lane2|open_relay.pin|unknown pin "GPIO40"`}},
		{"required pin missing", pi(func(l *board.LaneConfig) { l.CloseRelay.Pin = board.None }),
			[]string{"lane2|close_relay.pin|required pin missing"}},
		{"bad durations", pi(func(l *board.LaneConfig) {
			l.Pulse = board.Duration(-time.Second)
			l.Debounce = board.Duration(5 * time.Second)
		}), []string{"lane2|pulse|out of range", "lane2|debounce|out of range"}},
		{"camera settings", pi(func(l *board.LaneConfig) {
			l.Camera = board.CameraPort{Path: "/dev/serial0", Addr: 1, Baud: 1200, Parity: "mark", Codec: "jpeg", RS485: "gpio", DEPin: board.None}
		}), []string{"lane2|camera.addr|address 1 on /dev/serial0 already used by lane lane1", "lane2|camera.baud|", "lane2|camera.parity|", "lane2|camera.codec|", "lane2|camera.de_pin|needs a driver-enable pin"}},
		{"DE pin on a loop's pin", pi(func(l *board.LaneConfig) { l.Camera.Path = "/dev/ttyUSB0"; l.Camera.DEPin = "GPIO22" }),
			[]string{"lane2|camera.de_pin|already used by lane2/arming_loop"}},
		{"gpiochip without chip or serial path", board.Config{Profile: board.ProfileGPIOChip, Lanes: []board.LaneConfig{{
			Name:       "a",
			ArmingLoop: board.PinSpec{Pin: "3"}, SafetyLoop: board.PinSpec{Pin: "PA4"},
			OpenRelay: board.PinSpec{Pin: "5"}, CloseRelay: board.PinSpec{Pin: "PA4"},
		}}}, []string{"|chip|needs a chip", "a|close_relay.pin|already used by a/safety_loop", "a|camera.path|serial device missing"}},
		{"a bench camera on the sim profile", board.Config{Profile: board.ProfileSim, Lanes: []board.LaneConfig{
			{Name: "a", Camera: board.CameraPort{Path: "/dev/ttyUSB0", Baud: 1200, DEPin: "GPIO4"}},
			{Name: "b", Camera: board.CameraPort{Path: "/dev/ttyUSB0", Addr: 1}},
		}}, []string{"a|camera.baud|unsupported baud rate 1200", "a|camera.de_pin|the sim profile has no GPIO", "b|camera.addr|address 1 on /dev/ttyUSB0 already used by lane a"}},
		{"lane names twice", board.Config{Profile: board.ProfileSim, Lanes: []board.LaneConfig{{Name: "x"}, {Name: "x"}}},
			[]string{"x|name|used twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if !errors.Is(err, board.ErrInvalid) {
				t.Fatalf("Validate() = %v; want ErrInvalid", err)
			}
			var ps board.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Validate() = %T; want Problems", err)
			}
			if len(ps) != len(tt.want) {
				t.Errorf("Validate() found %d problems: %v; want %d", len(ps), err, len(tt.want))
			}
			for _, w := range tt.want {
				f := strings.SplitN(w, "|", 3)
				found := false
				for _, p := range ps {
					if p.Lane == f[0] && p.Key == f[1] && strings.Contains(p.Msg, f[2]) {
						found = true
					}
				}
				if !found {
					t.Errorf("Validate() = %v; want a problem %q", err, w)
				}
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	var d board.Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.D() != 90*time.Second {
		t.Errorf("UnmarshalText(1m30s) = %v, %v; want 1m30s", d, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon) = nil; want an error")
	}
	if b, _ := board.Duration(500 * time.Millisecond).MarshalText(); string(b) != "500ms" {
		t.Errorf("MarshalText = %q; want 500ms", b)
	}
}

func TestOpenSim(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	b, err := board.Open(ctx, board.Config{Profile: board.ProfileSim, Clock: clk})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if len(b.Lanes) != 2 || b.Lane("lane2") == nil || b.Lane("nope") != nil {
		t.Fatalf("lanes = %+v; want lane1, lane2", b.Lanes)
	}
	l := b.Lane("lane1")
	l.Sim.Arrive("京A12345")
	if ev := <-l.Arming.Events(); !ev.Occupied || ev.Loop != "lane1/arming-loop" {
		t.Errorf("arming event = %+v; want occupied", ev)
	}
	if ev := <-l.Camera.Events(); ev.Plate != "京A12345" || ev.Addr != 1 {
		t.Errorf("camera event = %+v; want 京A12345 from address 1", ev)
	}
	l.Barrier.Open(ctx)
	clk.Advance(board.DefaultTravel)
	if got := l.Barrier.State(); got != hal.BarrierUp {
		t.Errorf("barrier State() after the travel = %v; want up", got)
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-l.Safety.Events(); ok {
		t.Error("safety Events open after Halt; want closed")
	}
}

// A sim lane whose camera has a path gets the opener's camera (a real
// one on a bench); the others keep their simulated cameras.
func TestOpenSimBenchCamera(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	var opened []string
	bench := sim.NewCamera("bench", 1, clk)
	defer bench.Halt()
	cfg := board.Config{
		Profile: board.ProfileSim, Clock: clk,
		Lanes: []board.LaneConfig{{Name: "a", Camera: board.CameraPort{Path: "/dev/ttyUSB0"}}, {Name: "b"}},
		OpenCamera: func(ctx context.Context, name string, port board.CameraPort) (hal.Camera, error) {
			opened = append(opened, fmt.Sprintf("%s %s@%d#%d", name, port.Path, port.Baud, port.Addr))
			return bench, nil
		},
	}
	b, err := board.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Halt()
	if want := "[a/camera /dev/ttyUSB0@115200#1]"; fmt.Sprint(opened) != want {
		t.Errorf("cameras opened = %v; want %s", opened, want)
	}
	if a := b.Lane("a"); a.Camera != hal.Camera(bench) || a.Sim == nil {
		t.Errorf("lane a camera = %v, sim %v; want the bench camera on a sim lane", a.Camera, a.Sim)
	}
	if l := b.Lane("b"); l.Camera != hal.Camera(l.Sim.Camera) {
		t.Errorf("lane b camera = %v; want its simulated camera", l.Camera)
	}
	cfg.OpenCamera = func(context.Context, string, board.CameraPort) (hal.Camera, error) {
		return nil, errors.New("no such device")
	}
	if _, err := board.Open(ctx, cfg); err == nil || !strings.Contains(err.Error(), "lane a: camera /dev/ttyUSB0: no such device") {
		t.Errorf("Open with a camera that fails = %v; want the lane's camera error", err)
	}
}

// fakePins hands out gpiotest pins by normalised name.
type fakePins struct {
	mu   sync.Mutex
	pins map[string]*gpiotest.Pin
}

func (f *fakePins) Pin(name string) (gpio.PinIO, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(name, "GPIO") {
		name = "GPIO" + name
	}
	if p, ok := f.pins[name]; ok {
		return p, nil
	}
	p := &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level, 1)}
	f.pins[name] = p
	return p, nil
}

func TestOpenWithPins(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	pins := &fakePins{pins: map[string]*gpiotest.Pin{}}
	var opened []string
	cfg := board.Config{
		Profile: board.ProfileRPi4, Clock: clk, Pins: pins,
		Lanes: []board.LaneConfig{{}, {DownLimit: board.PinSpec{Pin: "GPIO16", ActiveLow: true}}},
		OpenCamera: func(ctx context.Context, name string, port board.CameraPort) (hal.Camera, error) {
			opened = append(opened, fmt.Sprintf("%s %s#%d", name, port.Path, port.Addr))
			return nil, nil
		},
	}
	b, err := board.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Halt()
	if want := "[lane1/camera /dev/serial0#1 lane2/camera /dev/serial0#2]"; fmt.Sprint(opened) != want {
		t.Errorf("cameras opened = %v; want %s", opened, want)
	}
	l := b.Lane("lane1")
	if err := l.Barrier.Open(ctx); err != nil {
		t.Fatal(err)
	}
	open, _ := pins.Pin("GPIO5")
	if got := open.Read(); got != gpio.Low {
		t.Errorf("lane1 open relay (GPIO5, active-low) after Open = %v; want Low", got)
	}
	if got := b.Lane("lane2").Barrier.State(); got != hal.BarrierUnknown {
		t.Errorf("lane2 barrier with an open down limit: State() = %v; want unknown", got)
	}
	arming, _ := pins.Pin("GPIO17")
	loop := l.Arming.(*halgpio.Loop)
	arming.(*gpiotest.Pin).EdgesChan <- gpio.Low
	for deadline := time.Now().Add(progress.Stall); loop.Edges() == 0; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("edge not taken after %s", progress.Stall)
		}
	}
	clk.Advance(board.DefaultDebounce)
	if ev := <-l.Arming.Events(); !ev.Occupied {
		t.Errorf("arming event = %+v; want occupied", ev)
	}
}

func TestOpenNoHardware(t *testing.T) {
	// This test runs on a machine that is not the board: a clear error,
	// never a panic.
	for _, c := range []board.Config{
		{Profile: board.ProfileRPi4},
		{Profile: board.ProfileRPi5},
		{Profile: board.ProfileGPIOChip, Chip: "no-such-chip", Lanes: []board.LaneConfig{{
			Name: "a", ArmingLoop: board.PinSpec{Pin: "1"}, SafetyLoop: board.PinSpec{Pin: "2"},
			OpenRelay: board.PinSpec{Pin: "3"}, CloseRelay: board.PinSpec{Pin: "4"},
			Camera: board.CameraPort{Path: "/dev/ttyS1"},
		}}},
	} {
		b, err := board.Open(context.Background(), c)
		if err == nil {
			b.Halt()
			t.Skipf("%s: hardware present; nothing to check", c.Profile)
		}
		if !errors.Is(err, board.ErrNoHardware) {
			t.Errorf("Open(%s) = %v; want ErrNoHardware", c.Profile, err)
		}
	}
}

func TestBootLines(t *testing.T) {
	cfg := board.Config{Profile: board.ProfileRPi4, Lanes: []board.LaneConfig{
		{},
		{OpenRelay: board.PinSpec{Pin: "GPIO12"}, StopRelay: board.PinSpec{Pin: board.None}, Level: true}, // active-high open relay
	}}
	got, err := cfg.BootLines()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"# lane1 open_relay", "gpio=5=op,dh", "# lane1 close_relay", "gpio=6=op,dh", "# lane1 stop_relay", "gpio=13=op,dh",
		"# lane2 open_relay", "gpio=12=op,dl", "# lane2 close_relay", "gpio=26=op,dh",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("BootLines() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rs := cfg.Relays()
	if len(rs) != 5 || !rs[3].HeldOpen || rs[0].HeldOpen {
		t.Errorf("Relays() = %+v; want 5, only lane2's open relay held open (level mode)", rs)
	}
	if lines, _ := (board.Config{Profile: board.ProfileGPIOChip, Chip: "gpiochip0"}).BootLines(); lines != nil {
		t.Errorf("gpiochip BootLines() = %v; want none (not a Pi's firmware)", lines)
	}
}

// TestSafetyLoopFailSafe: the Pi profiles wire the safety loop to the
// detector's normally-closed output (active-high, pull-up): with nothing
// connected — a cut wire — it reads occupied; a detector fault input
// makes it occupied too.
func TestSafetyLoopFailSafe(t *testing.T) {
	for _, p := range []string{board.ProfileRPi4, board.ProfileRPi5} {
		for _, l := range (board.Config{Profile: p}).WithDefaults().Lanes {
			if ok, why := l.SafetyLoop.FailSafe(); !ok {
				t.Errorf("%s %s: default safety loop %+v: %s; want fail-safe", p, l.Name, l.SafetyLoop, why)
			}
		}
	}
	if ok, _ := (board.PinSpec{Pin: "GPIO27", ActiveLow: true}).FailSafe(); ok {
		t.Error("an active-low pull-up loop (normally-open contact) reported fail-safe")
	}
	if ok, _ := (board.PinSpec{Pin: "GPIO27", ActiveLow: true, Pull: "down"}).FailSafe(); !ok {
		t.Error("an active-low pull-down loop reported not fail-safe")
	}
	pins := &fakePins{pins: map[string]*gpiotest.Pin{}}
	b, err := board.Open(context.Background(), board.Config{
		Profile: board.ProfileRPi4, Clock: clock.NewFake(t0), Pins: pins,
		Lanes: []board.LaneConfig{{SafetyFault: board.PinSpec{Pin: "GPIO25", ActiveLow: true, Pull: "none"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Halt()
	if !b.Lane("lane1").Safety.Occupied() {
		t.Error("safety loop with nothing connected (pin pulled up): Occupied() = false; want true")
	}
	if b.Lane("lane1").Arming.Occupied() {
		t.Error("arming loop (active-low) with nothing connected reads occupied")
	}
	fault, _ := pins.Pin("GPIO25")
	if fault.(*gpiotest.Pin).P != gpio.Float {
		t.Errorf("safety_fault pull = %v; want none", fault.(*gpiotest.Pin).P)
	}
	cfg := board.Config{Profile: board.ProfileRPi4, Lanes: []board.LaneConfig{{SafetyLoop: board.PinSpec{Pin: "GPIO27", Pull: "sideways"}}}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `safety_loop.pull: unknown pull "sideways"`) {
		t.Errorf("Validate(pull sideways) = %v; want the key named", err)
	}
}
