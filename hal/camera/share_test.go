package camera_test

import (
	"bytes"
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/hal/clock"
	"laned/hal/display"

	"laned/internal/progress"
)

// shareRig is a Bus on a pty slave with one camera at address 1; on the
// master a Line with a tap that writes as the camera and one that
// records, in order, every frame the controller sends: lane-frame ACKs
// and AA55 display frames.
type shareRig struct {
	ctx   context.Context
	bus   *camera.Bus
	cam   *camera.Port
	wire  io.ReadWriter
	heard chan string // "ack" or "display:<hex>"
	acks  atomic.Int64
}

func newShareRig(t *testing.T, clk clock.Clock) *shareRig {
	t.Helper()
	master, link := ptyAt(t, "")
	ctx := hangGuard(t)
	b, err := camera.OpenBus(ctx, camera.BusConfig{Path: link, Clock: clk, Logger: testLogger(t), MustOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cam, err := b.Camera("lane1/camera", 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	r := &shareRig{ctx: ctx, bus: b, cam: cam, heard: make(chan string, 1024)}
	line := cameratest.NewLine(master)
	r.wire = line.Tap()
	go r.sniff(line.Tap())
	line.Start(ctx)
	return r
}

// sniff splits what the controller sends with both decoders: the two
// protocols' frames never interleave on the wire, so each chunk the
// controller wrote is one decoder's whole frame.
func (r *shareRig) sniff(rd io.Reader) {
	lf := camera.LaneFrame{}.NewDecoder()
	aa := display.AA55{}.NewDecoder()
	buf := make([]byte, 512)
	for {
		n, err := rd.Read(buf)
		for _, res := range lf.Feed(buf[:n], t0) {
			if res.Frame != nil && res.Frame.Cmd == camera.CmdAck {
				r.acks.Add(1)
				r.heard <- "ack"
			}
		}
		for _, res := range aa.Feed(buf[:n]) {
			if res.Frame != nil {
				r.heard <- "display:" + string(res.Frame.Raw)
			}
		}
		if err != nil {
			return
		}
	}
}

func (r *shareRig) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r.heard:
		return s
	case <-r.ctx.Done():
		t.Fatal("the controller sent nothing more")
	}
	return ""
}

func TestTurnWaitsForCameraFrameAndGuard(t *testing.T) {
	clk := clock.NewFake(t0)
	r := newShareRig(t, clk)
	turn := r.bus.Share("lane1/display", 20*time.Millisecond) // gives in after 400 ms
	plate, _ := camera.EncodePlate(1, 7, jingA)
	// Half a camera frame is on the line.
	if _, err := r.wire.Write(plate[:10]); err != nil {
		t.Fatal(err)
	}
	progress.Until(t, "bus sees a frame arriving", turn.Busy, nil)
	show := display.AA55Frame(1, 0x64, display.AA55Show, []byte{1, 0, 1, 0, 'O', 'K'})
	done := make(chan error, 1)
	go func() { done <- turn.Write(r.ctx, show) }()
	progress.Until(t, "turn waits", func() bool { return turn.Stats().Waits >= 1 }, nil)
	clk.Advance(50 * time.Millisecond) // more than the guard, less than the inter-frame gap: the frame is still arriving
	progress.Until(t, "turn waits again", func() bool { return turn.Stats().Waits >= 2 }, nil)
	if s := turn.Stats(); s.Writes != 0 {
		t.Fatalf("turn wrote %d frames while a camera frame was arriving", s.Writes)
	}
	// The rest of the frame: the bus acknowledges it at once (the camera
	// is waiting), the display only after the guard.
	if _, err := r.wire.Write(plate[10:]); err != nil {
		t.Fatal(err)
	}
	if got := r.next(t); got != "ack" {
		t.Fatalf("first on the wire = %q; want the camera's ACK", got)
	}
	if ev := <-r.cam.Events(); ev.Kind != hal.KindOnline {
		t.Fatalf("event = %v; want online", ev.Kind)
	}
	if ev := <-r.cam.Events(); ev.Kind != hal.KindPlate || ev.Plate != jingA.Plate {
		t.Fatalf("event = %+v; want the plate", ev)
	}
	progress.Until(t, "frame complete", func() bool { return !turn.Busy() }, nil)
	lastByte := clk.Now()
	if s := turn.Stats(); s.Writes != 0 {
		t.Fatalf("turn wrote before the guard time after the last byte heard")
	}
	// Let fake time pass in small steps until the turn writes: not before
	// the guard after the last byte.
	var err error
	for wrote := false; !wrote; {
		select {
		case err = <-done:
			wrote = true
		case <-r.ctx.Done():
			t.Fatal("the turn never wrote")
		case <-time.After(time.Millisecond):
			clk.Advance(time.Millisecond)
		}
	}
	if err != nil {
		t.Fatalf("Write = %v", err)
	}
	if quiet := clk.Now().Sub(lastByte); quiet < 20*time.Millisecond {
		t.Fatalf("the turn wrote after %v of quiet; want the guard, 20ms", quiet)
	}
	if got := r.next(t); got != "display:"+string(show) {
		t.Fatalf("next on the wire = %q; want the display frame % X", got, show)
	}
}

// TestTurnUnderCameraFlood: a camera pushes frames back to back while a
// display writes through the bus: every camera frame arrives as an event,
// every display frame arrives whole and in order, nothing interleaves.
func TestTurnUnderCameraFlood(t *testing.T) {
	r := newShareRig(t, nil) // real time: the guard is real quiet on a real pty
	turn := r.bus.Share("lane1/display", time.Millisecond)
	const shows = 40
	var received atomic.Int64
	go func() { // the lane reads its camera all along
		for ev := range r.cam.Events() {
			if ev.Kind == hal.KindPlate {
				received.Add(1)
			}
		}
	}()
	flooding, showing := make(chan struct{}), make(chan struct{})
	sentC := make(chan int, 1)
	// The camera floods: each frame right after the ACK of the one
	// before (as fast as a camera may send), until the display is done,
	// and 200 frames at least.
	go func() {
		i := 0
		defer func() { sentC <- i }()
		for ; ; i++ {
			if i == 50 {
				close(flooding)
			}
			select {
			case <-showing:
				if i >= 200 {
					return
				}
			default:
			}
			ev := jingA
			ev.CameraTime = t0.Add(time.Duration(i) * time.Second)
			f, err := camera.EncodePlate(1, byte(i), ev)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := r.wire.Write(f); err != nil {
				t.Error(err)
				return
			}
			for r.acks.Load() <= int64(i) {
				select {
				case <-r.ctx.Done():
					return
				case <-time.After(50 * time.Microsecond):
				}
			}
		}
	}()
	var sent [][]byte
	<-flooding
	for i := range shows { // the display writes meanwhile
		f := display.AA55Frame(byte(i), 0x64, display.AA55Show, []byte{1, 0, 1, 0, 'N', byte('0' + i%10)})
		if err := turn.Write(r.ctx, f); err != nil {
			t.Fatalf("Write %d = %v", i, err)
		}
		sent = append(sent, f)
	}
	close(showing)
	plates := <-sentC
	progress.Until(t, "every camera frame an event", func() bool { return received.Load() == int64(plates) }, nil)
	var displayed [][]byte
	acks := 0
	for len(displayed) < shows || acks < plates {
		s := r.next(t)
		if s == "ack" {
			acks++
			continue
		}
		displayed = append(displayed, []byte(s[len("display:"):]))
	}
	for i := range sent {
		if !bytes.Equal(displayed[i], sent[i]) {
			t.Errorf("display frame %d on the wire = % X; want % X", i, displayed[i], sent[i])
		}
	}
	if st := r.bus.Stats(); st.Frames != uint64(plates) || st.Dropped != 0 || st.Rejected != 0 {
		t.Errorf("bus stats = %+v; want %d frames, none dropped or rejected", st, plates)
	}
	t.Logf("%d camera frames, %d display frames; turn %+v", plates, shows, turn.Stats())
}
