package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/sim"
)

// The demo's network camera lane: entry2 has the loops and barrier of the
// simulated board and a network camera (臻识 JSON push) on a listener of
// its own, whose pictures go up to the platform as PicUpload.

type demoNetLane struct {
	lane   *sim.Lane         // the sim board's lane: loops and barrier
	url    string            // the push URL
	frames map[string][]byte // plate → the full frame pushed
}

// demoFrame is a small JPEG standing for a camera's frame.
func demoFrame(seed uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for y := range 90 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y * 2), seed, 255})
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 75})
	return b.Bytes()
}

// netEnter drives plate in through entry2: the network camera pushes the
// read with its pictures, the lane opens, the car passes.
func (d *demo) netEnter(ctx context.Context, plate string) error {
	n := d.net
	full, crop := demoFrame(uint8(len(n.frames)*40)), demoFrame(200)
	before := opensOf(n.lane)
	n.lane.Arming.Set(true)
	body := camera.EncodePush("demo-cam", plate, hal.ColourBlue, 96, d.clk.Now(), full, crop)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("demo: camera push: %w", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("demo: camera push: %s %s", resp.Status, answer)
	}
	d.say("camera → lane: pushed %s with a %d-byte frame and a %d-byte plate crop; answered %s", plate, len(full), len(crop), answer)
	n.frames[plate] = full
	if err := waitUntil(ctx, func() bool { return d.settle(ctx) != nil || opensOf(n.lane) > before }); err != nil {
		_, state, _ := d.ctl.LaneState("entry2")
		return fmt.Errorf("demo: %s was not let in at entry2 (%s): %w", plate, state, err)
	}
	n.lane.PassThrough()
	return d.settle(ctx)
}

// pictureSummary compares the pictures the platform holds with the
// frames the camera pushed: ok when each entry frame arrived byte for byte.
func (d *demo) pictureSummary() (string, bool, error) {
	if d.net == nil {
		return "", true, nil
	}
	same := 0
	for plate, full := range d.net.frames {
		recs, err := d.db.Records(plate, 10)
		if err != nil {
			return "", false, err
		}
		for _, r := range recs {
			for _, p := range d.sim.Pictures(r.ID) {
				if p.InOutFlag == 1 && bytes.Equal(p.Data, full) {
					same++
				}
			}
		}
	}
	line := fmt.Sprintf("pictures: %d of %d network camera frames at the platform byte for byte", same, len(d.net.frames))
	return line, same == len(d.net.frames), nil
}
