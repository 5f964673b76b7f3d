package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"laned/appliance/config"
	"laned/edge"
	"laned/hal"
	"laned/hal/camera"
	"laned/hal/sim"
	"laned/store"
)

// The demo's network camera lane: entry2 has the loops and barrier of the
// simulated board and a network camera (臻识 JSON push) on a listener of
// its own, whose pictures go up to the platform as PicUpload.

type demoNetLane struct {
	lane   *sim.Lane
	cam    *camera.NetCamera
	url    string // the push URL
	srv    *http.Server
	frames map[string][]byte // plate → the full frame pushed
}

// openNetLane starts entry2's network camera and its listener.
func (d *demo) openNetLane(logger *slog.Logger) (edge.LaneConfig, error) {
	n := &demoNetLane{lane: sim.NewLane(d.clk, sim.LaneConfig{Name: "entry2", CameraAddr: 3}), frames: map[string][]byte{}}
	cam, err := camera.NewNet(camera.NetConfig{Name: "entry2/camera", Family: camera.FamilyPush, Clock: d.clk, Logger: logger,
		Silence: 24 * time.Hour}) // the demo camera sends no heartbeats
	if err != nil {
		return edge.LaneConfig{}, err
	}
	l := camera.NewListener(logger.With("who", "camera listener"))
	if err := l.Add("entry2", camera.NetSource{Camera: cam, Token: "demo"}); err != nil {
		return edge.LaneConfig{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return edge.LaneConfig{}, fmt.Errorf("demo: listen: %w", err)
	}
	n.srv = &http.Server{Handler: l, ReadHeaderTimeout: 5 * time.Second}
	go n.srv.Serve(ln)
	n.cam, n.url = cam, "http://"+ln.Addr().String()+"/camera/push/entry2?token=demo"
	d.net = n
	return edge.LaneConfig{Name: "entry2", Kind: edge.Entry, Code: 2, Arming: n.lane.Arming, Safety: n.lane.Safety, Barrier: n.lane.Barrier, Camera: cam}, nil
}

func (n *demoNetLane) close() {
	if n != nil {
		n.srv.Close()
	}
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

// demoPictures opens the demo's picture store in its data directory.
func demoPictures(dataDir string) (*store.Pictures, error) {
	return store.OpenPictures(filepath.Join(dataDir, config.PicturesDir), store.PictureOptions{})
}
