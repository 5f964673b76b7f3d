package sim_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/display"
	halgpio "laned/hal/gpio"
	"laned/hal/sim"

	"laned/internal/progress"
)

var t0 = time.Unix(1700000000, 0)

const deb = halgpio.DefaultDebounce

func TestLoopSet(t *testing.T) {
	clk := clock.NewFake(t0)
	l := sim.NewLoop("entry1/arming-loop", clk)
	if l.Occupied() {
		t.Fatal("new loop Occupied() = true; want false")
	}
	steps := []struct {
		advance  time.Duration
		occupied bool
	}{{0, true}, {time.Second, true}, {2 * time.Second, false}, {0, false}, {time.Second, true}}
	for _, s := range steps {
		clk.Advance(s.advance)
		l.Set(s.occupied)
		if got := l.Occupied(); got != s.occupied {
			t.Errorf("after Set(%v) Occupied() = %v; want %v (the driver's debounced state)", s.occupied, got, s.occupied)
		}
		if got := l.Present(); got != s.occupied {
			t.Errorf("after Set(%v) Present() = %v", s.occupied, got)
		}
	}
	if got := l.Edges(); got != 3 {
		t.Errorf("driver Edges() = %d; want 3 (one per change)", got)
	}
	if clk.Now() != t0.Add(4*time.Second) {
		t.Errorf("clock moved by Set: %v", clk.Now().Sub(t0))
	}
	l.Halt()
	l.Set(false) // ignored after Halt
	got := progress.DrainClosed(t, "the events of l", l.Events())
	want := []hal.LoopEvent{ // stamped by the driver: a debounce after the change
		{Loop: "entry1/arming-loop", Occupied: true, At: t0.Add(deb)},
		{Loop: "entry1/arming-loop", Occupied: false, At: t0.Add(3*time.Second + deb)},
		{Loop: "entry1/arming-loop", Occupied: true, At: t0.Add(4*time.Second + deb)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %v; want %v", got, want)
	}
	if l.Halt() != nil {
		t.Error("second Halt() failed; want idempotent")
	}
}

// A contact that bounces within the debounce reaches the driver as edges
// and gives no event: the debounce code of hal/gpio filters it.
func TestLoopChatter(t *testing.T) {
	clk := clock.NewFake(t0)
	l := sim.NewLoop("l", clk)
	l.Chatter(5)
	l.Set(true)
	l.Chatter(3)
	l.Halt()
	got := progress.DrainClosed(t, "the events of l", l.Events())
	if len(got) != 1 || !got[0].Occupied {
		t.Errorf("events = %+v; want one occupied", got)
	}
	if e := l.Edges(); e != 10+1+6 {
		t.Errorf("driver Edges() = %d; want 17", e)
	}
}

func TestLoopStuck(t *testing.T) {
	clk := clock.NewFake(t0)
	l, err := sim.OpenLoop("l", clk, sim.LoopConfig{StuckAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	l.Set(true)
	if ev := progress.Recv(t, "an event of l", l.Events()); !ev.Occupied || ev.Stuck {
		t.Fatalf("first event = %+v; want occupied, not stuck", ev)
	}
	clk.Advance(59 * time.Second)
	l.Set(false) // cleared before the limit: no warning
	l.Set(true)
	clk.Advance(time.Minute + deb)
	evs := []hal.LoopEvent{progress.Recv(t, "an event of l", l.Events()), progress.Recv(t, "an event of l", l.Events()), progress.Recv(t, "an event of l", l.Events())}
	if evs[0].Occupied || !evs[1].Occupied || evs[1].Stuck {
		t.Fatalf("events = %+v; want clear then occupied", evs[:2])
	}
	want := hal.LoopEvent{Loop: "l", Occupied: true, Stuck: true, At: t0.Add(119*time.Second + deb)}
	if evs[2] != want {
		t.Errorf("stuck event = %+v; want %+v", evs[2], want)
	}
	l.Halt()
	if rest := progress.DrainClosed(t, "the events of l", l.Events()); len(rest) != 0 {
		t.Errorf("events after the stuck warning = %+v; want none", rest)
	}
	if _, err := sim.OpenLoop("bad", clk, sim.LoopConfig{Debounce: -1}); err == nil {
		t.Error("OpenLoop with a negative debounce succeeded; want an error")
	}
}

func TestLoopManyEventsInOrder(t *testing.T) {
	l := sim.NewLoop("l", clock.NewFake(t0))
	const n = 1000 // far beyond the channel buffer
	for i := range n {
		l.Set(i%2 == 0)
	}
	for i := range n {
		if ev := progress.Recv(t, "an event of l", l.Events()); ev.Occupied != (i%2 == 0) {
			t.Fatalf("event %d Occupied = %v; want %v", i, ev.Occupied, i%2 == 0)
		}
	}
	l.Halt()
}

func command(ctx context.Context, b *sim.Barrier, op string) error {
	switch op {
	case "open":
		return b.Open(ctx)
	case "close":
		return b.Close(ctx)
	case "stop":
		return b.Stop(ctx)
	}
	return nil
}

// The driver's state follows the simulated arm's limit switches (closed
// within a twentieth of the travel of each end: 100ms of 2s).
func TestBarrierTravel(t *testing.T) {
	ctx := context.Background()
	type step struct {
		advance time.Duration
		op      string // "", "open", "close", "stop"
		want    hal.BarrierState
		arm     hal.BarrierState
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"open then close", []step{
			{0, "", hal.BarrierDown, hal.BarrierDown},
			{0, "open", hal.BarrierOpening, hal.BarrierOpening},
			{1999 * time.Millisecond, "", hal.BarrierOpening, hal.BarrierOpening},
			{time.Millisecond, "", hal.BarrierUp, hal.BarrierUp},
			{time.Second, "open", hal.BarrierUp, hal.BarrierUp},
			{0, "close", hal.BarrierClosing, hal.BarrierClosing},
			{2 * time.Second, "", hal.BarrierDown, hal.BarrierDown},
		}},
		{"reverse mid-travel takes the distance covered", []step{
			{0, "open", hal.BarrierOpening, hal.BarrierOpening},
			{time.Second, "close", hal.BarrierClosing, hal.BarrierClosing},
			{500 * time.Millisecond, "open", hal.BarrierOpening, hal.BarrierOpening},
			{1499 * time.Millisecond, "", hal.BarrierOpening, hal.BarrierOpening},
			{time.Millisecond, "", hal.BarrierUp, hal.BarrierUp},
		}},
		{"stop between the limits", []step{
			{0, "open", hal.BarrierOpening, hal.BarrierOpening},
			{time.Second, "stop", hal.BarrierStopped, hal.BarrierStopped},
			{time.Hour, "", hal.BarrierStopped, hal.BarrierStopped},
			{0, "close", hal.BarrierClosing, hal.BarrierClosing},
			{time.Second, "", hal.BarrierDown, hal.BarrierDown},
		}},
		{"re-opened before the arm left the up switch", []step{
			{0, "open", hal.BarrierOpening, hal.BarrierOpening},
			{2 * time.Second, "", hal.BarrierUp, hal.BarrierUp},
			{0, "close", hal.BarrierClosing, hal.BarrierClosing},
			{50 * time.Millisecond, "open", hal.BarrierUp, hal.BarrierOpening},
			{time.Hour, "", hal.BarrierUp, hal.BarrierUp},
		}},
		{"one long advance: no fault, as on a Pi", []step{
			{0, "open", hal.BarrierOpening, hal.BarrierOpening},
			{time.Hour, "", hal.BarrierUp, hal.BarrierUp},
			{0, "close", hal.BarrierClosing, hal.BarrierClosing},
			{time.Hour, "", hal.BarrierDown, hal.BarrierDown},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			b := sim.NewBarrier("b", clk, 2*time.Second, nil)
			for i, s := range tt.steps {
				clk.Advance(s.advance)
				if err := command(ctx, b, s.op); err != nil {
					t.Fatalf("step %d: %s: %v", i, s.op, err)
				}
				if got := b.State(); got != s.want {
					t.Fatalf("step %d (%s): State() = %v; want %v", i, s.op, got, s.want)
				}
				if got := b.Arm(); got != s.arm {
					t.Fatalf("step %d (%s): Arm() = %v; want %v", i, s.op, got, s.arm)
				}
			}
			if f := b.Faults(); len(f) != 0 {
				t.Errorf("Faults() = %+v; want none", f)
			}
			b.Halt()
			for _, ev := range progress.DrainClosed(t, "the events of b", b.Events()) {
				if ev.Fault != "" {
					t.Errorf("driver fault %+v; want none", ev)
				}
			}
		})
	}
}

func TestBarrierEventsAndLog(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	b := sim.NewBarrier("exit1/barrier", clk, 3*time.Second, nil)
	b.Open(ctx)
	clk.Advance(5 * time.Second)
	b.Close(ctx)
	clk.Advance(3 * time.Second)
	if got := b.State(); got != hal.BarrierDown {
		t.Fatalf("State() = %v; want down", got)
	}
	b.Halt()
	if err := b.Open(ctx); !errors.Is(err, halgpio.ErrHalted) {
		t.Errorf("Open after Halt = %v; want the driver's ErrHalted", err)
	}
	got := progress.DrainClosed(t, "the events of b", b.Events())
	want := []hal.BarrierEvent{ // the switch closes at the end; the driver reports it a debounce later
		{Barrier: "exit1/barrier", State: hal.BarrierOpening, At: t0},
		{Barrier: "exit1/barrier", State: hal.BarrierUp, At: t0.Add(3*time.Second + deb)},
		{Barrier: "exit1/barrier", State: hal.BarrierClosing, At: t0.Add(5 * time.Second)},
		{Barrier: "exit1/barrier", State: hal.BarrierDown, At: t0.Add(8*time.Second + deb)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events =\n%v\nwant\n%v", got, want)
	}
	ops := ""
	for _, c := range b.Log() {
		ops += c.Op + "@" + c.At.Sub(t0).String() + " "
	}
	if want := "open@0s close@5s halt@8s "; ops != want {
		t.Errorf("Log() = %q; want %q", ops, want)
	}
}

// Without limit switches the driver infers the arm's position from its
// worst-case travel; in level mode it holds the relay.
func TestBarrierNoLimitsLevel(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	b, err := sim.OpenBarrier("b", clk, sim.BarrierConfig{Travel: time.Second, Timeout: 3 * time.Second, Level: true, NoLimits: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Halt()
	if got := b.State(); got != hal.BarrierUnknown {
		t.Errorf("State() without switches = %v; want unknown", got)
	}
	b.Open(ctx)
	clk.Advance(time.Second)
	if got, arm := b.State(), b.Arm(); got != hal.BarrierOpening || arm != hal.BarrierUp {
		t.Errorf("after the travel: State() = %v, Arm() = %v; want opening (inferred), up", got, arm)
	}
	clk.Advance(2 * time.Second)
	if got := b.State(); got != hal.BarrierUp {
		t.Errorf("after the timeout: State() = %v; want up", got)
	}
	if _, err := sim.OpenBarrier("bad", clk, sim.BarrierConfig{Travel: -1}, nil); err == nil {
		t.Error("OpenBarrier with a negative travel succeeded; want an error")
	}
}

func TestBarrierSafetyFaults(t *testing.T) {
	ctx := context.Background()
	// Each script is a list of steps: open, close, a safety loop change
	// (on, off) or seconds the clock moves on (2s).
	tests := []struct {
		name   string
		script string
		faults int
	}{
		{"close with the safety loop clear", "open 2s on off close 2s", 0},
		{"close onto a vehicle", "open 2s on close off 2s", 1},
		{"vehicle under a closing arm, not re-opened", "open 2s close 1s on 1s", 1},
		{"vehicle under a closing arm, re-opened", "open 2s close 1s on open 1s", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			safety := sim.NewLoop("safety", clk)
			b := sim.NewBarrier("b", clk, 2*time.Second, safety)
			for _, step := range strings.Fields(tt.script) {
				switch step {
				case "open":
					b.Open(ctx)
				case "close":
					b.Close(ctx)
				case "on", "off":
					safety.Set(step == "on")
				default:
					d, err := time.ParseDuration(step)
					if err != nil {
						t.Fatalf("script step %q: %v", step, err)
					}
					clk.Advance(d)
				}
			}
			faults := b.Faults()
			if len(faults) != tt.faults {
				t.Fatalf("Faults() = %+v; want %d", faults, tt.faults)
			}
			b.Halt()
			safety.Halt()
			for _, f := range faults {
				if !strings.HasPrefix(f.Fault, sim.FaultHit) {
					t.Errorf("fault %q; want prefix %q", f.Fault, sim.FaultHit)
				}
			}
		})
	}
}

func TestCamera(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	c := sim.NewCamera("exit1/camera", 3, clk)
	if !c.Online() {
		t.Fatal("new camera Online() = false; want true")
	}
	c.Show("京A12345", hal.ColourBlue, 96)
	c.ShowNoPlate()
	c.Heartbeat()
	if err := c.Trigger(ctx); err != nil { // nobody there: recorded, no answer
		t.Fatalf("Trigger: %v", err)
	}
	c.SetVehicle("粤B12345D")
	clk.Advance(time.Second)
	c.Trigger(ctx)
	c.SetVehicle("")
	c.Trigger(ctx)
	c.SetAnswerTriggers(false)
	c.Trigger(ctx)
	c.SetOnline(false)
	c.Show("lost", hal.ColourBlue, 90)
	if err := c.Trigger(ctx); !errors.Is(err, sim.ErrOffline) {
		t.Errorf("Trigger offline = %v; want ErrOffline", err)
	}
	c.SetOnline(true)
	if got := len(c.Triggers()); got != 5 {
		t.Errorf("len(Triggers()) = %d; want 5", got)
	}
	c.Halt()
	if err := c.Trigger(ctx); !errors.Is(err, sim.ErrHalted) {
		t.Errorf("Trigger after Halt = %v; want ErrHalted", err)
	}
	got := progress.DrainClosed(t, "the events of c", c.Events())
	t1 := t0.Add(time.Second)
	want := []hal.PlateEvent{
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindPlate, Plate: "京A12345", Colour: 0, Conf: 96, Trigger: hal.TriggerAuto, CameraTime: t0, At: t0},
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindNoPlate, Colour: -1, Trigger: hal.TriggerAuto, CameraTime: t0, At: t0},
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindHeartbeat, Colour: -1, CameraTime: t0, At: t0},
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindPlate, Plate: "粤B12345D", Colour: hal.ColourGreen, Conf: 95, Trigger: hal.TriggerSoftware, CameraTime: t1, At: t1},
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindNoPlate, Colour: -1, Conf: 95, Trigger: hal.TriggerSoftware, CameraTime: t1, At: t1},
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindOffline, Colour: -1, At: t1, Detail: "sim: link down"},
		{Camera: "exit1/camera", Addr: 3, Kind: hal.KindOnline, Colour: -1, At: t1},
	}
	if len(got) != len(want) {
		t.Fatalf("events = %+v; want %d of them", got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v; want %+v", i, got[i], want[i])
		}
	}
}

func TestLane(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	l := sim.NewLane(clk, sim.LaneConfig{Name: "entry1", Travel: time.Second})
	arming, safety, barrier, camera := l.Devices()
	l.Arrive("京A12345")
	if ev := progress.Recv(t, "an event of arming", arming.Events()); !ev.Occupied || ev.Loop != "entry1/arming-loop" {
		t.Errorf("arming event = %+v; want entry1/arming-loop occupied", ev)
	}
	if ev := progress.Recv(t, "an event of camera", camera.Events()); ev.Plate != "京A12345" || ev.Trigger != hal.TriggerIO || ev.Camera != "entry1/camera" {
		t.Errorf("camera event = %+v; want 京A12345 by io trigger", ev)
	}
	barrier.Open(ctx)
	clk.Advance(time.Second)
	l.PassThrough()
	if got := []bool{progress.Recv(t, "an event of safety", safety.Events()).Occupied, progress.Recv(t, "an event of arming", arming.Events()).Occupied, progress.Recv(t, "an event of safety", safety.Events()).Occupied}; fmt.Sprint(got) != "[true false false]" {
		t.Errorf("loop events after PassThrough = %v; want safety on, arming off, safety off", got)
	}
	camera.Trigger(ctx) // the vehicle has gone: no answer
	barrier.Close(ctx)
	clk.Advance(time.Second)
	if f := l.Barrier.Faults(); len(f) != 0 {
		t.Errorf("safe sequence Faults() = %+v; want none", f)
	}
	// An unsafe controller closes on the next vehicle standing under the arm.
	l.Arrive("")
	barrier.Open(ctx)
	clk.Advance(time.Second)
	l.Enter()
	barrier.Close(ctx)
	if f := l.Barrier.Faults(); len(f) != 1 {
		t.Errorf("unsafe close Faults() = %+v; want 1", f)
	}
	l.Leave()
	l.Back()
	if err := l.Halt(); err != nil {
		t.Fatalf("Halt: %v", err)
	}
	evs := progress.DrainClosed(t, "the events of camera", camera.Events())
	if len(evs) != 1 || evs[0].Kind != hal.KindNoPlate {
		t.Errorf("camera events after the first = %+v; want one no-plate", evs)
	}
}

// TestConcurrent runs scripts, readers and commands at once for -race.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	l := sim.NewLane(clk, sim.LaneConfig{Name: "x", StuckAfter: time.Second})
	var wg sync.WaitGroup
	counts := make([]int, 4)
	readers := []func(){
		func() {
			for range l.Arming.Events() {
				counts[0]++
			}
		},
		func() {
			for range l.Safety.Events() {
				counts[1]++
			}
		},
		func() {
			for range l.Barrier.Events() {
				counts[2]++
			}
		},
		func() {
			for range l.Camera.Events() {
				counts[3]++
			}
		},
	}
	for _, r := range readers {
		wg.Add(1)
		go func() { defer wg.Done(); r() }()
	}
	var scripts sync.WaitGroup
	for i := range 4 {
		scripts.Add(1)
		go func() {
			defer scripts.Done()
			for j := range 200 {
				switch (i + j) % 6 {
				case 0:
					l.Arrive("京A1234" + fmt.Sprint(j%10))
				case 1:
					l.Barrier.Open(ctx)
				case 2:
					clk.Advance(300 * time.Millisecond)
				case 3:
					l.PassThrough()
				case 4:
					l.Camera.Trigger(ctx)
					l.Barrier.State()
				case 5:
					l.Barrier.Close(ctx)
				}
			}
		}()
	}
	scripts.Wait()
	l.Halt()
	wg.Wait()
	if counts[0] == 0 || counts[1] == 0 || counts[2] == 0 || counts[3] == 0 {
		t.Errorf("event counts = %v; want every device to have reported", counts)
	}
}

func TestSimDisplayDecodesWhatTheBoardWrites(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	var seen []string
	sd := sim.NewDisplay("exit1", display.AA55{}, 100, 4, nil, clk, func(name, s string) { seen = append(seen, name+": "+s) })
	b, err := display.NewBoard(display.Config{Name: "exit1/display", Link: sd, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i, text := range []string{"京A12345", "停车 2时05分", "请缴费 11.00元", "请扫码支付"} {
		if err := b.Show(ctx, i+1, text, 0, hal.DisplayRed); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Say(ctx, display.DefaultVoices().Phrases("京A12345请缴费11元")...); err != nil {
		t.Fatal(err)
	}
	want := "exit1: 京A12345 | 停车 2时05分 | 请缴费 11.00元 | 请扫码支付 ♪ 京A12345请缴费11元"
	if len(seen) != 5 || seen[4] != want {
		t.Fatalf("changes = %q; want 5, the last %q", seen, want)
	}
	// A frame for another board, and one with a bad CRC, change nothing.
	other, _ := display.AA55{}.Encode(0, 101, display.Command{Op: display.OpCancel})
	bad, _ := display.AA55{}.Encode(0, 100, display.Command{Op: display.OpCancel})
	bad[len(bad)-2] ^= 0xFF
	sd.Write(ctx, append(other, bad...))
	if got := sd.Ignored(); got != 2 {
		t.Errorf("Ignored = %d; want 2", got)
	}
	if got := sd.Shown(); got != "京A12345 | 停车 2时05分 | 请缴费 11.00元 | 请扫码支付" {
		t.Errorf("Shown = %q", got)
	}
	sd.Unplug(true)
	if err := b.Cancel(ctx); err == nil {
		t.Error("Cancel on an unplugged board = nil; want an error")
	}
}
