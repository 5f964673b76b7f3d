package camera_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/hal/clock"
)

type rig struct {
	port    *camera.Port
	cam     *cameratest.FakeCamera
	clk     *clock.Fake
	master  *os.File
	rejects chan camera.Result
	ctx     context.Context
}

// newRig opens a Port on the slave of a pty (or on path, a symlink the
// test points at the slave) and a FakeCamera on its master.
func newRig(t *testing.T, cfg camera.Config) *rig {
	t.Helper()
	var master *os.File
	if cfg.Path == "" {
		master, cfg.Path = cameratest.OpenPTY(t)
	} else {
		master, _ = ptyAt(t, cfg.Path)
	}
	ctx := hangGuard(t)
	r := &rig{clk: clock.NewFake(t0), master: master, rejects: make(chan camera.Result, 1000), ctx: ctx}
	cfg.Clock, cfg.Logger, cfg.MustOpen = r.clk, testLogger(t), true
	if cfg.Name == "" {
		cfg.Name = "exit1/camera"
	}
	cfg.OnReject = func(res camera.Result) { r.rejects <- res }
	p, err := camera.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() { p.Halt() })
	r.port = p
	r.cam = cameratest.NewFakeCamera(master, 1, r.clk)
	r.cam.Start(ctx)
	return r
}

// next returns the next event, failing the test if none comes before the
// hang guard.
func (r *rig) next(t *testing.T) hal.PlateEvent {
	t.Helper()
	return nextEvent(t, r.ctx, "exit1/camera", r.port.Events())
}

func (r *rig) expect(t *testing.T, want ...hal.CameraEventKind) []hal.PlateEvent {
	t.Helper()
	var got []hal.PlateEvent
	for _, k := range want {
		ev := r.next(t)
		if ev.Kind != k {
			t.Fatalf("event %d = %v %+v; want %v", len(got), ev.Kind, ev, k)
		}
		got = append(got, ev)
	}
	return got
}

func (r *rig) nextReject(t *testing.T) camera.Result {
	t.Helper()
	select {
	case res := <-r.rejects:
		return res
	case <-r.ctx.Done():
		t.Fatal("no rejection")
	}
	return camera.Result{}
}

func TestPortPlateAckDuplicate(t *testing.T) {
	r := newRig(t, camera.Config{Addr: 1})
	if err := r.cam.SendPlate(r.ctx, jingA); err != nil {
		t.Fatalf("SendPlate = %v; want acknowledged", err)
	}
	evs := r.expect(t, hal.KindOnline, hal.KindPlate)
	want := jingA
	want.Camera, want.Addr, want.At = "exit1/camera", 1, t0
	if evs[1] != want {
		t.Errorf("plate event = %+v; want %+v", evs[1], want)
	}
	if !r.port.Online() {
		t.Errorf("Online() = false after a frame; want true")
	}
	// A retransmission (same SEQ, same bytes) is acknowledged again but
	// reported once.
	dup, err := camera.EncodePlate(1, 42, jingA)
	if err != nil {
		t.Fatal(err)
	}
	r.cam.Write(dup)
	r.cam.Write(dup)
	if err := r.cam.SendHeartbeat(r.ctx, t0, 0); err != nil {
		t.Fatalf("SendHeartbeat = %v; want acknowledged", err)
	}
	r.expect(t, hal.KindPlate, hal.KindHeartbeat)
	if got, want := r.cam.Acks(), []int{0, 42, 42, 1}; !slices.Equal(got, want) {
		t.Errorf("acknowledged SEQs = %v; want %v", got, want)
	}
	if st := r.port.Stats(); st.Duplicates != 1 || st.Frames != 4 {
		t.Errorf("Stats() = %+v; want 1 duplicate of 4 frames", st)
	}
	// Another camera on the bus is neither reported nor acknowledged.
	other, _ := camera.EncodePlate(2, 1, jingA)
	r.cam.Write(other)
	if err := r.cam.SendHeartbeat(r.ctx, t0, 5); err != nil {
		t.Fatal(err)
	}
	if ev := r.expect(t, hal.KindHeartbeat)[0]; ev.Status != 5 {
		t.Errorf("heartbeat status = %d; want 5", ev.Status)
	}
	if st := r.port.Stats(); st.Foreign != 1 {
		t.Errorf("Stats().Foreign = %d; want 1", st.Foreign)
	}
	// The same bytes again after the retransmission window are news (a
	// camera whose SEQ restarted), not a retransmission.
	r.cam.Write(dup)
	r.expect(t, hal.KindPlate)
	r.clk.Advance(6 * time.Second)
	r.cam.Write(dup)
	if err := r.cam.SendHeartbeat(r.ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	r.expect(t, hal.KindPlate, hal.KindHeartbeat)
	if rej := r.cam.Rejected(); len(rej) != 0 {
		t.Errorf("the camera could not decode %d stretches from the controller: %+v", len(rej), rej)
	}
}

func TestPortResynchronises(t *testing.T) {
	r := newRig(t, camera.Config{})
	good, _ := camera.EncodePlate(1, 9, jingA)
	bad := slices.Clone(good)
	bad[10] ^= 0x01
	stream := [][]byte{[]byte("\x00\xFFnoise"), good[:12] /* torn */, bad, good}
	for _, b := range stream {
		r.cam.Write(b)
	}
	r.expect(t, hal.KindOnline, hal.KindPlate)
	// The port reports exactly what the decoder rejects in that stream.
	var want, got []string
	for _, res := range (camera.LaneFrame{}).NewDecoder().Feed(cat(stream...), t0) {
		if res.Frame == nil {
			want = append(want, res.Reason)
		}
	}
	for range want {
		got = append(got, r.nextReject(t).Reason)
	}
	if len(want) < 2 || !slices.Equal(got, want) {
		t.Errorf("rejections = %q; want %q (at least garbage and a crc mismatch)", got, want)
	}
	// A half frame is discarded after the inter-frame gap.
	r.cam.Write(good[:5])
	r.clk.WaitPending(2) // the silence watchdog and the gap timer
	r.clk.Advance(100 * time.Millisecond)
	if res := r.nextReject(t); res.Reason != "incomplete frame" || len(res.Rejected) != 5 {
		t.Errorf("after the gap: rejected %d bytes for %q; want 5 for incomplete frame", len(res.Rejected), res.Reason)
	}
	r.cam.Write(good[:len(good)-2]) // the next frame arrives with a different SEQ
	r.cam.Write(good[len(good)-2:])
	// Same bytes as the last frame: a duplicate; a new SEQ must come through.
	if err := r.cam.SendPlate(r.ctx, jingA); err != nil {
		t.Fatal(err)
	}
	r.expect(t, hal.KindPlate)
	if st := r.port.Stats(); st.Duplicates != 1 {
		t.Errorf("Stats().Duplicates = %d; want 1", st.Duplicates)
	}
}

func TestPortOfflineAfterSilence(t *testing.T) {
	r := newRig(t, camera.Config{HeartbeatPeriod: 10 * time.Second})
	if err := r.cam.SendHeartbeat(r.ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	r.expect(t, hal.KindOnline, hal.KindHeartbeat)
	r.clk.Advance(29 * time.Second)
	if !r.port.Online() {
		t.Errorf("Online() = false after 29 s of silence; want true")
	}
	r.clk.Advance(time.Second)
	ev := r.expect(t, hal.KindOffline)[0]
	if ev.Detail != "no frame for 30s" || r.port.Online() {
		t.Errorf("offline event detail %q, Online() = %v; want \"no frame for 30s\", false", ev.Detail, r.port.Online())
	}
	if err := r.cam.SendHeartbeat(r.ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	r.expect(t, hal.KindOnline, hal.KindHeartbeat)
}

func TestPortTrigger(t *testing.T) {
	r := newRig(t, camera.Config{Addr: 1})
	r.cam.Show(jingA)
	if err := r.port.Trigger(r.ctx); err != nil {
		t.Fatalf("Trigger() = %v", err)
	}
	evs := r.expect(t, hal.KindOnline, hal.KindPlate)
	if evs[1].Trigger != hal.TriggerSoftware || evs[1].Plate != jingA.Plate {
		t.Errorf("plate after trigger = %+v; want %s by software trigger", evs[1], jingA.Plate)
	}
	if n := r.cam.Triggers(); n != 1 {
		t.Errorf("camera saw %d triggers; want 1", n)
	}
	if errs := r.cam.Errs(); len(errs) != 0 {
		t.Errorf("camera errors: %v", errs)
	}
}

type fakeDE struct {
	mu     sync.Mutex
	levels []bool
}

func (d *fakeDE) Out(high bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.levels = append(d.levels, high)
	return nil
}

func TestPortDriverEnable(t *testing.T) {
	de := &fakeDE{}
	r := newRig(t, camera.Config{BusConfig: camera.BusConfig{RS485: camera.RS485GPIO, DE: de}, Addr: 1})
	if err := r.port.Trigger(r.ctx); err != nil {
		t.Fatalf("Trigger() = %v", err)
	}
	if err := r.cam.SendHeartbeat(r.ctx, t0, 0); err != nil { // its ACK is a second write
		t.Fatal(err)
	}
	r.expect(t, hal.KindOnline, hal.KindHeartbeat)
	r.port.Halt()
	de.mu.Lock()
	defer de.mu.Unlock()
	if want := []bool{false, true, false, true, false, false}; !slices.Equal(de.levels, want) {
		t.Errorf("DE levels = %v; want %v (low at open, high around each write, low at halt)", de.levels, want)
	}
}

func TestPortReopensAfterUnplug(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB0")
	r := newRig(t, camera.Config{BusConfig: camera.BusConfig{Path: link, ReopenMin: 500 * time.Millisecond}})
	if err := r.cam.SendHeartbeat(r.ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	r.expect(t, hal.KindOnline, hal.KindHeartbeat)
	pending := r.clk.Pending()
	r.master.Close() // the adapter is unplugged
	ev := r.expect(t, hal.KindOffline)[0]
	if !strings.HasPrefix(ev.Detail, "port error") || r.port.Online() {
		t.Errorf("offline detail %q, Online() %v; want a port error, false", ev.Detail, r.port.Online())
	}
	os.Remove(link)
	r.clk.Advance(500 * time.Millisecond) // first retry: the device is still gone
	r.clk.WaitPending(pending + 1)        // the silence watchdog and the re-armed reopen timer
	if st := r.port.Stats(); st.Reopens != 0 {
		t.Fatalf("Stats().Reopens = %d with the device gone; want 0", st.Reopens)
	}
	master2, slave2 := cameratest.OpenPTY(t)
	if err := os.Symlink(slave2, link); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(999 * time.Millisecond) // backoff doubled: not yet
	if st := r.port.Stats(); st.Reopens != 0 {
		t.Fatalf("Stats().Reopens = %d before the doubled backoff; want 0", st.Reopens)
	}
	r.clk.Advance(time.Millisecond)
	cam2 := cameratest.NewFakeCamera(master2, 1, r.clk)
	cam2.Start(r.ctx)
	// The port reopens asynchronously: the camera retries until heard.
	for cam2.SendHeartbeat(r.ctx, t0, 0) != nil {
		if r.ctx.Err() != nil {
			t.Fatal("no ACK after the reopen")
		}
	}
	r.expect(t, hal.KindOnline, hal.KindHeartbeat)
	if st := r.port.Stats(); st.Reopens != 1 {
		t.Errorf("Stats().Reopens = %d; want 1", st.Reopens)
	}
}

func TestPortSlowConsumerDropsHeartbeatsFirst(t *testing.T) {
	r := newRig(t, camera.Config{})
	for i := range 300 {
		r.cam.Write(camera.EncodeHeartbeat(1, byte(1+i%200), t0, 0))
	}
	plate, _ := camera.EncodePlate(1, 250, jingA)
	r.cam.Write(plate)
	// Wait until everything was read: the fake camera's own SEQs start
	// at 0, which no frame above used.
	if err := r.cam.SendHeartbeat(r.ctx, t0, 7); err != nil {
		t.Fatal(err)
	}
	if st := r.port.Stats(); st.Dropped == 0 {
		t.Fatalf("Stats().Dropped = 0 with a stuck consumer; want drops")
	}
	var kinds []hal.CameraEventKind
	for {
		ev := r.next(t)
		kinds = append(kinds, ev.Kind)
		if ev.Kind == hal.KindHeartbeat && ev.Status == 7 {
			break
		}
	}
	if kinds[0] != hal.KindOnline || !slices.Contains(kinds, hal.KindPlate) || len(kinds) >= 303 {
		t.Errorf("events after a stuck consumer = %v; want online first, some heartbeats dropped, the plate kept", kinds)
	}
}

func TestPortHalt(t *testing.T) {
	r := newRig(t, camera.Config{})
	if err := r.port.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := r.port.Halt(); err != nil {
		t.Errorf("second Halt() = %v; want nil", err)
	}
	if _, ok := <-r.port.Events(); ok {
		t.Errorf("Events() open after Halt")
	}
	if err := r.port.Trigger(context.Background()); !errors.Is(err, camera.ErrHalted) {
		t.Errorf("Trigger() after Halt = %v; want ErrHalted", err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, slave := cameratest.OpenPTY(t)
	tmpl := specCodec(t)
	tests := []struct {
		name string
		cfg  camera.Config
		want error
		text string
	}{
		{"no path", camera.Config{}, camera.ErrConfig, "no serial path"},
		{"bad bits", camera.Config{BusConfig: camera.BusConfig{Path: slave, DataBits: 5}}, camera.ErrConfig, "data bits 5"},
		{"gpio without pin", camera.Config{BusConfig: camera.BusConfig{Path: slave, RS485: camera.RS485GPIO}}, camera.ErrConfig, "driver-enable"},
		{"missing device", camera.Config{BusConfig: camera.BusConfig{Path: "/dev/nonexistent-tty", MustOpen: true}}, nil, "/dev/nonexistent-tty"},
		{"kernel rs485 on a pty", camera.Config{BusConfig: camera.BusConfig{Path: slave, RS485: camera.RS485Kernel, MustOpen: true}}, nil, "TIOCSRS485"},
		{"template trigger", camera.Config{BusConfig: camera.BusConfig{Path: slave, Codec: tmpl, MustOpen: true}}, camera.ErrUnsupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := camera.Open(context.Background(), tt.cfg)
			if tt.name == "template trigger" {
				if err != nil {
					t.Fatal(err)
				}
				err = p.Trigger(context.Background())
				p.Halt()
			}
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Open(%s) = %v; want an error (%v) containing %q", tt.name, err, tt.want, tt.text)
			}
		})
	}
}
