package cameratest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/hal/clock"

	"laned/internal/progress"
)

func TestFakeCameraRetriesUntilAcked(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	ctl, err := os.OpenFile(slave, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	clk := clock.NewFake(time.Unix(1700000000, 0))
	cam := cameratest.NewFakeCamera(master, 3, clk)
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall) // hang guard
	defer cancel()
	cam.Start(ctx)

	ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: "鲁Q8", Conf: 80}
	res := make(chan error, 1)
	go func() { res <- cam.SendPlate(ctx, ev) }()
	// Nobody answers: the camera sends the frame 3 times, 200 ms apart.
	dec := camera.LaneFrame{}.NewDecoder()
	buf := make([]byte, 256)
	var frames []*camera.Frame
	for len(frames) < 3 {
		n, err := ctl.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range dec.Feed(buf[:n], clk.Now()) {
			if r.Frame == nil {
				t.Fatalf("the camera sent undecodable bytes: %+v", r)
			}
			frames = append(frames, r.Frame)
		}
		if len(frames) < 3 {
			clk.WaitPending(1)
			clk.Advance(200 * time.Millisecond)
		}
	}
	clk.WaitPending(1)
	clk.Advance(200 * time.Millisecond)
	if err := <-res; !errors.Is(err, cameratest.ErrNoAck) {
		t.Errorf("SendPlate without a controller = %v; want ErrNoAck", err)
	}
	for i, f := range frames {
		if f.Seq != 0 || f.Addr != 3 || f.Event.Plate != "鲁Q8" {
			t.Errorf("try %d = addr %d seq %d %q; want addr 3 seq 0 鲁Q8", i, f.Addr, f.Seq, f.Event.Plate)
		}
	}

	// Now acknowledged at the first try.
	go func() { res <- cam.SendPlate(ctx, ev) }()
	for {
		n, err := ctl.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if rs := dec.Feed(buf[:n], clk.Now()); len(rs) > 0 {
			if _, err := ctl.Write(camera.EncodeAck(3, 0, byte(rs[0].Frame.Seq))); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if err := <-res; err != nil {
		t.Errorf("SendPlate acknowledged = %v; want nil", err)
	}
	if got := cam.Acks(); len(got) != 1 || got[0] != 1 {
		t.Errorf("Acks() = %v; want [1]", got)
	}
}
