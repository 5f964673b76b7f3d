package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"laned/appliance/config"
	"laned/edge"
	"laned/hal/camera"
	"laned/store"
)

// netCameras is the network cameras' side of the daemon: their listener
// (a server of its own, never the platform's) and the picture store.
type netCameras struct {
	cams map[string]*camera.NetCamera // by lane
	ln   net.Listener                 // nil: no network camera
	srv  *http.Server
	pics *store.Pictures
	done chan error
}

// openNetCameras opens the picture store and, when a lane has a network
// camera, its NetCamera and the listener; lanes get their network
// cameras in place of the board's. adjust (nil: none) may change each
// camera's settings.
func openNetCameras(cfg *config.Config, lanes []edge.LaneConfig, adjust func(*camera.NetConfig), logger *slog.Logger) (*netCameras, error) {
	n := &netCameras{cams: map[string]*camera.NetCamera{}}
	var err error
	n.pics, err = store.OpenPictures(filepath.Join(cfg.DataDir, config.PicturesDir), store.PictureOptions{
		MaxBytes: cfg.Pictures.MaxBytes, MaxAge: time.Duration(cfg.Pictures.MaxDays) * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	l := camera.NewListener(logger)
	for i, lc := range cfg.Lanes {
		c := lc.Camera
		lanes[i].MinConfidence = c.MinConfidence
		if !c.IsNetwork() {
			continue
		}
		fam := camera.FamilyPush
		if c.Kind == config.CamISAPI {
			fam = camera.FamilyISAPI
		}
		nc := camera.NetConfig{
			Name: lc.Name + "/camera", Family: fam, SerialNo: c.SerialNo, OpensBarrier: c.OpensBarrier, Logger: logger,
		}
		if adjust != nil {
			adjust(&nc)
		}
		cam, err := camera.NewNet(nc)
		if err != nil {
			return nil, fmt.Errorf("run: lane %s: %w", lc.Name, err)
		}
		if err := l.Add(lc.Name, camera.NetSource{Camera: cam, Allow: c.Allowed, Token: string(c.Token)}); err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		if old := lanes[i].Camera; old != nil {
			_ = old.Halt() // the sim lane's own camera: nobody reads it
		}
		lanes[i].Camera = cam
		n.cams[lc.Name] = cam
	}
	if len(n.cams) == 0 {
		return n, nil
	}
	if n.ln, err = net.Listen("tcp", cfg.Cameras.Listen); err != nil {
		return nil, fmt.Errorf("run: camera listener: %w", err)
	}
	n.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second, // a 4 MiB push on the lane LAN takes well under a second
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.With("part", "camera-http").Handler(), slog.LevelWarn),
	}
	logger.Info("network cameras listening", "addr", n.ln.Addr().String(), "cameras", len(n.cams))
	return n, nil
}

// serve starts the listener (if any).
func (n *netCameras) serve(logger *slog.Logger) {
	if n == nil || n.srv == nil {
		return
	}
	n.done = make(chan error, 1)
	go func() {
		err := n.srv.Serve(n.ln)
		if err != nil && err != http.ErrServerClosed {
			logger.Error("camera listener stopped; the network cameras are not heard", "err", err)
		}
		n.done <- err
	}()
}

// shutdown stops the listener, waiting for the pushes in flight within
// ctx.
func (n *netCameras) shutdown(ctx context.Context) {
	if n == nil || n.srv == nil {
		return
	}
	if n.done == nil {
		n.ln.Close()
		return
	}
	if err := n.srv.Shutdown(ctx); err != nil {
		n.srv.Close()
	}
	<-n.done
	n.done = nil
}

// addr is the listener's address; nil without network cameras.
func (n *netCameras) addr() net.Addr {
	if n == nil || n.ln == nil {
		return nil
	}
	return n.ln.Addr()
}
