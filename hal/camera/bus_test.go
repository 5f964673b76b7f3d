package camera_test

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/hal/clock"

	"laned/internal/progress"
)

// busRig is a Bus on the slave of a pty with a camera per address, and a
// FakeCamera per address on the master, sharing it through a Line, plus a
// sniffer tap decoding everything the controller sends.
type busRig struct {
	bus    *camera.Bus
	ports  map[int]*camera.Port
	fakes  map[int]*cameratest.FakeCamera
	clk    *clock.Fake
	ctx    context.Context
	link   string
	master *os.File
	sent   chan *camera.Frame
}

func newBusRig(t *testing.T, cfg camera.BusConfig, addrs ...int) *busRig {
	t.Helper()
	ctx := hangGuard(t)
	r := &busRig{ports: map[int]*camera.Port{}, fakes: map[int]*cameratest.FakeCamera{}, clk: clock.NewFake(t0), ctx: ctx}
	master, link := ptyAt(t, "")
	r.link = link
	cfg.Path, cfg.Clock, cfg.Logger, cfg.MustOpen = r.link, r.clk, testLogger(t), true
	b, err := camera.OpenBus(ctx, cfg)
	if err != nil {
		t.Fatalf("OpenBus(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() { b.Close() })
	r.bus = b
	for _, a := range addrs {
		p, err := b.Camera(laneName(a)+"/camera", a, 10*time.Second)
		if err != nil {
			t.Fatalf("Camera(%d) = %v", a, err)
		}
		r.ports[a] = p
	}
	r.attach(master, addrs...)
	return r
}

func laneName(addr int) string { return "lane" + string(rune('0'+addr)) }

// attach puts FakeCameras at addrs and the sniffer on master.
func (r *busRig) attach(master *os.File, addrs ...int) {
	r.master = master
	line := cameratest.NewLine(master)
	for _, a := range addrs {
		r.fakes[a] = cameratest.NewFakeCamera(line.Tap(), a, r.clk)
		r.fakes[a].Start(r.ctx)
	}
	r.sent = make(chan *camera.Frame, 100)
	go sniff(r.ctx, line.Tap(), r.sent)
	line.Start(r.ctx)
}

func sniff(ctx context.Context, rd io.Reader, out chan<- *camera.Frame) {
	dec := camera.LaneFrame{}.NewDecoder()
	buf := make([]byte, 256)
	for {
		n, err := rd.Read(buf)
		for _, res := range dec.Feed(buf[:n], t0) {
			if res.Frame == nil {
				continue
			}
			select {
			case out <- res.Frame:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// sentFrame is what the controller sent: command, address, acknowledged
// SEQ (-1 for a trigger).
type sentFrame struct {
	cmd        byte
	addr, ackd int
}

// controller returns the next n frames the controller sent.
func (r *busRig) controller(t *testing.T, n int) []sentFrame {
	t.Helper()
	var got []sentFrame
	for len(got) < n {
		select {
		case f := <-r.sent:
			got = append(got, sentFrame{f.Cmd, f.Addr, f.AckSeq})
		case <-r.ctx.Done():
			t.Fatalf("controller sent %v; want %d frames", got, n)
		}
	}
	return got
}

func (r *busRig) next(t *testing.T, addr int) hal.PlateEvent {
	t.Helper()
	return nextEvent(t, r.ctx, laneName(addr)+"/camera", r.ports[addr].Events())
}

// expect reads len(want) events of camera addr and checks their kinds
// and that each carries the camera's name and address.
func (r *busRig) expect(t *testing.T, addr int, want ...hal.CameraEventKind) []hal.PlateEvent {
	t.Helper()
	var got []hal.PlateEvent
	for _, k := range want {
		ev := r.next(t, addr)
		if ev.Kind != k || ev.Addr != addr || ev.Camera != laneName(addr)+"/camera" {
			t.Fatalf("camera %d event %d = %v %+v; want %v from address %d", addr, len(got), ev.Kind, ev, k, addr)
		}
		got = append(got, ev)
	}
	return got
}

func (r *busRig) must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestBusRoutesByAddress(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1, 2)
	r.must(t, r.fakes[2].SendHeartbeat(r.ctx, t0, 0)) // camera 2 SEQ 0
	r.must(t, r.fakes[1].SendPlate(r.ctx, jingA))     // camera 1 SEQ 0
	r.must(t, r.fakes[2].SendPlate(r.ctx, yueB))      // camera 2 SEQ 1
	// Each camera's retransmission of SEQ 5 is its own: the same SEQ from
	// the other address is news.
	dup1, _ := camera.EncodePlate(1, 5, jingA)
	dup2, _ := camera.EncodePlate(2, 5, yueB)
	r.fakes[1].Write(dup1)
	r.fakes[2].Write(dup2)
	r.fakes[1].Write(dup1)
	r.must(t, r.fakes[1].SendHeartbeat(r.ctx, t0, 3)) // camera 1 SEQ 1
	r.must(t, r.fakes[2].SendHeartbeat(r.ctx, t0, 4)) // camera 2 SEQ 2

	evs1 := r.expect(t, 1, hal.KindOnline, hal.KindPlate, hal.KindPlate, hal.KindHeartbeat)
	evs2 := r.expect(t, 2, hal.KindOnline, hal.KindHeartbeat, hal.KindPlate, hal.KindPlate, hal.KindHeartbeat)
	want1 := jingA
	want1.Camera, want1.Addr, want1.At = "lane1/camera", 1, t0
	if evs1[1] != want1 || evs1[2] != want1 || evs1[3].Status != 3 {
		t.Errorf("camera 1 events = %+v; want two %s plates and a heartbeat with status 3", evs1, jingA.Plate)
	}
	want2 := yueB
	want2.Camera, want2.Addr, want2.At = "lane2/camera", 2, t0
	if evs2[2] != want2 || evs2[3] != want2 || evs2[4].Status != 4 {
		t.Errorf("camera 2 events = %+v; want two %s plates and a heartbeat with status 4", evs2, yueB.Plate)
	}
	// ACKs go to the sender's address with its SEQ, in the order heard.
	wantSent := []sentFrame{
		{camera.CmdAck, 2, 0}, {camera.CmdAck, 1, 0}, {camera.CmdAck, 2, 1},
		{camera.CmdAck, 1, 5}, {camera.CmdAck, 2, 5}, {camera.CmdAck, 1, 5},
		{camera.CmdAck, 1, 1}, {camera.CmdAck, 2, 2},
	}
	if got := r.controller(t, len(wantSent)); !slices.Equal(got, wantSent) {
		t.Errorf("controller sent %v; want %v", got, wantSent)
	}
	if got, want := r.fakes[1].Acks(), []int{0, 5, 5, 1}; !slices.Equal(got, want) {
		t.Errorf("camera 1 acknowledged SEQs = %v; want %v", got, want)
	}
	if got, want := r.fakes[2].Acks(), []int{0, 1, 5, 2}; !slices.Equal(got, want) {
		t.Errorf("camera 2 acknowledged SEQs = %v; want %v", got, want)
	}
	if st := r.bus.Stats(); st.Frames != 8 || st.Duplicates != 1 || st.Unclaimed != 0 {
		t.Errorf("bus Stats() = %+v; want 8 frames, 1 duplicate, 0 unclaimed", st)
	}
	if st := r.ports[1].Stats(); st.Frames != 4 || st.Duplicates != 1 {
		t.Errorf("camera 1 Stats() = %+v; want 4 frames, 1 duplicate", st)
	}
	if st := r.ports[2].Stats(); st.Frames != 4 || st.Duplicates != 0 {
		t.Errorf("camera 2 Stats() = %+v; want 4 frames, 0 duplicates", st)
	}
	for a, f := range r.fakes {
		if rej := f.Rejected(); len(rej) != 0 {
			t.Errorf("camera %d could not decode %d stretches from the controller: %+v", a, len(rej), rej)
		}
	}
}

func TestBusUnclaimedAddress(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1)
	stray := camera.EncodeHeartbeat(9, 0, t0, 0)
	r.fakes[1].Write(stray)
	r.fakes[1].Write(stray)
	r.must(t, r.fakes[1].SendHeartbeat(r.ctx, t0, 0))
	r.expect(t, 1, hal.KindOnline, hal.KindHeartbeat)
	// The only frame sent is camera 1's ACK: address 9 is not answered.
	if got, want := r.controller(t, 1), []sentFrame{{camera.CmdAck, 1, 0}}; !slices.Equal(got, want) {
		t.Errorf("controller sent %v; want %v", got, want)
	}
	if st := r.bus.Stats(); st.Unclaimed != 2 || st.Foreign != 2 || st.Frames != 1 {
		t.Errorf("bus Stats() = %+v; want 2 unclaimed (foreign) frames, 1 frame", st)
	}
}

func TestBusOfflinePerCamera(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1, 2)
	r.must(t, r.fakes[1].SendHeartbeat(r.ctx, t0, 0))
	r.must(t, r.fakes[2].SendHeartbeat(r.ctx, t0, 0))
	r.expect(t, 1, hal.KindOnline, hal.KindHeartbeat)
	r.expect(t, 2, hal.KindOnline, hal.KindHeartbeat)
	r.clk.Advance(20 * time.Second)
	r.must(t, r.fakes[2].SendHeartbeat(r.ctx, t0, 0))
	r.expect(t, 2, hal.KindHeartbeat)
	r.clk.Advance(10 * time.Second) // camera 1 silent for 30 s, camera 2 for 10 s
	if ev := r.expect(t, 1, hal.KindOffline)[0]; ev.Detail != "no frame for 30s" {
		t.Errorf("camera 1 offline detail = %q; want \"no frame for 30s\"", ev.Detail)
	}
	if r.ports[1].Online() || !r.ports[2].Online() {
		t.Errorf("Online() = %v, %v after camera 1's silence; want false, true", r.ports[1].Online(), r.ports[2].Online())
	}
	r.clk.Advance(20 * time.Second) // camera 2 silent for 30 s
	r.expect(t, 2, hal.KindOffline)
	// Camera 1 comes back alone.
	r.must(t, r.fakes[1].SendHeartbeat(r.ctx, t0, 0))
	r.expect(t, 1, hal.KindOnline, hal.KindHeartbeat)
	if !r.ports[1].Online() || r.ports[2].Online() {
		t.Errorf("Online() = %v, %v after camera 1's return; want true, false", r.ports[1].Online(), r.ports[2].Online())
	}
}

func TestBusTriggerAddressed(t *testing.T) {
	de := &fakeDE{}
	r := newBusRig(t, camera.BusConfig{RS485: camera.RS485GPIO, DE: de}, 1, 2)
	r.fakes[1].Show(jingA)
	r.fakes[2].Show(yueB)
	r.must(t, r.ports[2].Trigger(r.ctx))
	evs := r.expect(t, 2, hal.KindOnline, hal.KindPlate)
	if evs[1].Plate != yueB.Plate || evs[1].Trigger != hal.TriggerSoftware {
		t.Errorf("camera 2 plate after its trigger = %+v; want %s by software trigger", evs[1], yueB.Plate)
	}
	r.must(t, r.ports[1].Trigger(r.ctx))
	evs = r.expect(t, 1, hal.KindOnline, hal.KindPlate)
	if evs[1].Plate != jingA.Plate {
		t.Errorf("camera 1 plate after its trigger = %+v; want %s", evs[1], jingA.Plate)
	}
	// Camera 1 answered its own trigger after hearing camera 2's: it
	// counted every trigger it took for itself.
	if n1, n2 := r.fakes[1].Triggers(), r.fakes[2].Triggers(); n1 != 1 || n2 != 1 {
		t.Errorf("triggers seen by cameras 1, 2 = %d, %d; want 1, 1", n1, n2)
	}
	want := []sentFrame{{camera.CmdTrigger, 2, -1}, {camera.CmdAck, 2, 0}, {camera.CmdTrigger, 1, -1}, {camera.CmdAck, 1, 0}}
	if got := r.controller(t, len(want)); !slices.Equal(got, want) {
		t.Errorf("controller sent %v; want %v", got, want)
	}
	r.bus.Close()
	de.mu.Lock()
	defer de.mu.Unlock()
	// Low at open, high around each of the 4 writes, low at close.
	if want := []bool{false, true, false, true, false, true, false, true, false, false}; !slices.Equal(de.levels, want) {
		t.Errorf("DE levels = %v; want %v", de.levels, want)
	}
}

// TestBusConcurrentWriters checks that triggers from two lanes and the
// ACKs of a busy bus never interleave on the wire (-race and the
// cameras' decoders would see torn frames).
func TestBusConcurrentWriters(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1, 2)
	const n = 20
	var wg sync.WaitGroup
	for _, a := range []int{1, 2} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range n {
				if err := r.ports[a].Trigger(r.ctx); err != nil {
					t.Errorf("Trigger(%d) = %v", a, err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range n {
				if err := r.fakes[a].SendHeartbeat(r.ctx, t0, 0); err != nil {
					t.Errorf("camera %d SendHeartbeat = %v", a, err)
				}
			}
		}()
	}
	wg.Wait()
	got := r.controller(t, 4*n)
	count := map[sentFrame]int{}
	for _, f := range got {
		f.ackd = min(f.ackd, 0) // ACKs and triggers per address
		count[f]++
	}
	for _, a := range []int{1, 2} {
		if c := count[sentFrame{camera.CmdTrigger, a, -1}]; c != n {
			t.Errorf("triggers to %d = %d; want %d", a, c, n)
		}
		if c := count[sentFrame{camera.CmdAck, a, 0}]; c != n {
			t.Errorf("ACKs to %d = %d; want %d", a, c, n)
		}
		if rej := r.fakes[a].Rejected(); len(rej) != 0 {
			t.Errorf("camera %d could not decode %d stretches: %+v", a, len(rej), rej)
		}
	}
}

func TestBusTornFrameKeepsNeighbour(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1, 2)
	torn, _ := camera.EncodePlate(1, 40, jingA)
	r.fakes[1].Write(torn[:12]) // camera 1 stops mid-frame
	r.must(t, r.fakes[2].SendPlate(r.ctx, yueB))
	evs := r.expect(t, 2, hal.KindOnline, hal.KindPlate)
	if evs[1].Plate != yueB.Plate {
		t.Errorf("camera 2 plate = %q; want %q", evs[1].Plate, yueB.Plate)
	}
	r.must(t, r.fakes[1].SendPlate(r.ctx, jingA))
	evs = r.expect(t, 1, hal.KindOnline, hal.KindPlate)
	if evs[1].Plate != jingA.Plate {
		t.Errorf("camera 1 plate = %q; want %q", evs[1].Plate, jingA.Plate)
	}
	if st := r.bus.Stats(); st.Rejected == 0 || st.Frames != 2 {
		t.Errorf("bus Stats() = %+v; want the torn frame rejected and 2 frames", st)
	}
}

func TestBusHaltOneCamera(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1, 2)
	r.must(t, r.fakes[1].SendHeartbeat(r.ctx, t0, 0))
	r.expect(t, 1, hal.KindOnline, hal.KindHeartbeat)
	if err := r.ports[1].Halt(); err != nil {
		t.Fatalf("Halt() = %v", err)
	}
	if _, ok := <-r.ports[1].Events(); ok {
		t.Errorf("camera 1 Events() open after Halt")
	}
	if err := r.ports[1].Trigger(r.ctx); !errors.Is(err, camera.ErrHalted) {
		t.Errorf("camera 1 Trigger() after Halt = %v; want ErrHalted", err)
	}
	// Camera 2 goes on; camera 1's frames are now unclaimed.
	r.fakes[1].Write(camera.EncodeHeartbeat(1, 9, t0, 0))
	r.must(t, r.fakes[2].SendPlate(r.ctx, yueB))
	r.expect(t, 2, hal.KindOnline, hal.KindPlate)
	r.must(t, r.ports[2].Trigger(r.ctx))
	if st := r.bus.Stats(); st.Unclaimed != 1 {
		t.Errorf("bus Stats().Unclaimed = %d; want 1", st.Unclaimed)
	}
	// The address is free again for a new camera.
	p, err := r.bus.Camera("lane1/camera", 1, 0)
	if err != nil {
		t.Fatalf("Camera(1) after its Halt = %v", err)
	}
	r.ports[1] = p
	r.must(t, r.fakes[1].SendHeartbeat(r.ctx, t0, 0))
	r.expect(t, 1, hal.KindOnline, hal.KindHeartbeat)
	// The last camera's Halt closes the bus.
	r.must(t, r.ports[1].Halt())
	r.must(t, r.ports[2].Halt())
	if _, err := r.bus.Camera("lane3/camera", 3, 0); !errors.Is(err, camera.ErrHalted) {
		t.Errorf("Camera() on a bus whose cameras all halted = %v; want ErrHalted", err)
	}
	if err := r.ports[2].Halt(); err != nil {
		t.Errorf("second Halt() = %v; want nil", err)
	}
}

func TestBusCloseHaltsCameras(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{}, 1, 2)
	r.must(t, r.bus.Close())
	for a, p := range r.ports {
		if _, ok := <-p.Events(); ok {
			t.Errorf("camera %d Events() open after Close", a)
		}
		if err := p.Trigger(r.ctx); !errors.Is(err, camera.ErrHalted) {
			t.Errorf("camera %d Trigger() after Close = %v; want ErrHalted", a, err)
		}
		if err := p.Halt(); err != nil {
			t.Errorf("camera %d Halt() after Close = %v", a, err)
		}
	}
}

func TestBusReopenAfterUnplug(t *testing.T) {
	r := newBusRig(t, camera.BusConfig{ReopenMin: 500 * time.Millisecond}, 1, 2)
	for _, a := range []int{1, 2} {
		r.must(t, r.fakes[a].SendHeartbeat(r.ctx, t0, 0))
		r.expect(t, a, hal.KindOnline, hal.KindHeartbeat)
	}
	old := r.fakes[1]
	pending := r.clk.Pending()
	r.master.Close() // the adapter is unplugged
	for _, a := range []int{1, 2} {
		if ev := r.expect(t, a, hal.KindOffline)[0]; !strings.HasPrefix(ev.Detail, "port error") {
			t.Errorf("camera %d offline detail = %q; want a port error", a, ev.Detail)
		}
		if r.ports[a].Online() {
			t.Errorf("camera %d Online() after unplug = true", a)
		}
	}
	old.Wait()
	master, slave := cameratest.OpenPTY(t) // the adapter comes back as another tty
	os.Remove(r.link)
	if err := os.Symlink(slave, r.link); err != nil {
		t.Fatal(err)
	}
	r.attach(master, 1, 2)
	r.clk.WaitPending(pending + 1) // the silence timer and the reopen timer
	r.clk.Advance(500 * time.Millisecond)
	for _, a := range []int{1, 2} {
		// The bus reopens asynchronously; bytes wait in the pty until then.
		for r.fakes[a].SendHeartbeat(r.ctx, t0, 0) != nil {
			if r.ctx.Err() != nil {
				t.Fatalf("camera %d: no ACK after the reopen", a)
			}
		}
		r.expect(t, a, hal.KindOnline, hal.KindHeartbeat)
	}
	if st := r.bus.Stats(); st.Reopens != 1 {
		t.Errorf("bus Stats().Reopens = %d; want 1", st.Reopens)
	}
}

func TestBusAttachErrors(t *testing.T) {
	ctx := context.Background()
	plain := specCodec(t) // no addr field
	addressed := specCodec(t)
	addressed.Fields = append(addressed.Fields, camera.FieldAddr)
	tests := []struct {
		name  string
		codec camera.Codec
		first int
		addr  int
		text  string
	}{
		{"address taken", camera.LaneFrame{}, 1, 1, "address 1 already used by camera first"},
		{"out of range", camera.LaneFrame{}, 1, 248, "out of range"},
		{"any address beside another", camera.LaneFrame{}, 1, 0, "needs a bus of its own"},
		{"beside an any-address camera", camera.LaneFrame{}, 0, 2, "listens to any address"},
		{"template without addr", plain, 1, 2, "give the template an addr field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, slave := cameratest.OpenPTY(t)
			b, err := camera.OpenBus(ctx, camera.BusConfig{Path: slave, Codec: tt.codec, MustOpen: true})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := b.Camera("first", tt.first, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Camera("second", tt.addr, 0); !errors.Is(err, camera.ErrConfig) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Camera(%d) = %v; want ErrConfig containing %q", tt.addr, err, tt.text)
			}
		})
	}
	if !camera.Addressed(addressed) || camera.Addressed(plain) || !camera.Addressed(camera.LaneFrame{}) {
		t.Errorf("Addressed(with addr, without, lane-frame) = %v, %v, %v; want true, false, true",
			camera.Addressed(addressed), camera.Addressed(plain), camera.Addressed(camera.LaneFrame{}))
	}
}

func TestBusTemplateRoutesByAddrField(t *testing.T) {
	tm := specCodec(t)
	tm.Fields = append(tm.Fields, camera.FieldAddr)
	master, slave := cameratest.OpenPTY(t)
	clk := clock.NewFake(t0)
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall) // hang guard
	defer cancel()
	b, err := camera.OpenBus(ctx, camera.BusConfig{Path: slave, Codec: tm, MustOpen: true, Clock: clk, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ports := map[int]*camera.Port{}
	for _, a := range []int{1, 2} {
		if ports[a], err = b.Camera(laneName(a)+"/camera", a, 0); err != nil {
			t.Fatalf("Camera(%d) on an addressed template = %v", a, err)
		}
	}
	for _, f := range []struct {
		addr int
		ev   hal.PlateEvent
	}{{2, yueB}, {3, jingA}, {1, jingA}} {
		ev := f.ev
		ev.Addr = f.addr
		line, err := tm.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := master.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		addr  int
		plate string
	}{{1, jingA.Plate}, {2, yueB.Plate}} {
		var kinds []hal.CameraEventKind
		var got hal.PlateEvent
		for len(kinds) < 2 {
			select {
			case ev := <-ports[c.addr].Events():
				kinds, got = append(kinds, ev.Kind), ev
			case <-ctx.Done():
				t.Fatalf("camera %d: events %v; want online, plate", c.addr, kinds)
			}
		}
		if kinds[0] != hal.KindOnline || got.Kind != hal.KindPlate || got.Plate != c.plate || got.Addr != c.addr {
			t.Errorf("camera %d events %v, last %+v; want online then plate %s", c.addr, kinds, got, c.plate)
		}
	}
	if st := b.Stats(); st.Unclaimed != 1 || st.Frames != 2 {
		t.Errorf("Stats() = %+v; want 2 frames and address 3's unclaimed", st)
	}
	if err := ports[1].Trigger(ctx); !errors.Is(err, camera.ErrUnsupported) {
		t.Errorf("Trigger() over a template = %v; want ErrUnsupported", err)
	}
}

func TestBusCameraWhilePortDown(t *testing.T) {
	clk := clock.NewFake(t0)
	b, err := camera.OpenBus(context.Background(), camera.BusConfig{Path: "/dev/nonexistent-tty", Clock: clk, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("OpenBus(missing device, not MustOpen) = %v; want a bus that retries", err)
	}
	defer b.Close()
	for _, a := range []int{1, 2} {
		p, err := b.Camera("", a, 0)
		if err != nil {
			t.Fatal(err)
		}
		ev := <-p.Events()
		if ev.Kind != hal.KindOffline || ev.Addr != a || !strings.Contains(ev.Detail, "/dev/nonexistent-tty") || p.Online() {
			t.Errorf("camera %d first event = %+v, Online() %v; want offline naming the device", a, ev, p.Online())
		}
		if want := "bus:/dev/nonexistent-tty#" + string(rune('0'+a)); p.String() != want || ev.Camera != want {
			t.Errorf("camera %d String() = %q, event camera %q; want %q", a, p.String(), ev.Camera, want)
		}
		if err := p.Trigger(context.Background()); !errors.Is(err, camera.ErrNotConnected) {
			t.Errorf("Trigger() while the port is down = %v; want ErrNotConnected", err)
		}
	}
}
