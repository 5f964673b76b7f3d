package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Network cameras and their pictures (shared/spec/camera-network.md).

// CamerasConfig is [cameras]: the listener network cameras push to, a
// server of its own on the lane LAN (never the bank-facing one).
type CamerasConfig struct {
	Listen string `toml:"listen"` // e.g. ":8081"; required when a lane has a network camera
}

// PicturesConfig is [pictures]: the budget of the network cameras'
// pictures under data_dir/pictures.
type PicturesConfig struct {
	MaxBytes int64 `toml:"max_bytes"` // default 2 GiB
	MaxDays  int   `toml:"max_days"`  // default 30
}

// Camera kinds of [lanes.camera] kind.
const (
	CamRS485 = "rs485"
	CamPush  = "http-push"
	CamISAPI = "isapi"
)

// NetCamera is what [lanes.camera] adds for a network camera.
type NetCamera struct {
	Kind          string `toml:"kind"`           // rs485 (default), http-push or isapi
	Source        string `toml:"source"`         // the camera's address(es) or CIDRs, comma separated; empty: any
	SerialNo      string `toml:"serialno"`       // when set, pushes from another serial number are refused
	Token         Secret `toml:"token"`          // when set, the push URL must carry ?token=…
	MinConfidence int    `toml:"min_confidence"` // reads below it are misread candidates (0–100; 0: none)
	OpensBarrier  bool   `toml:"opens_barrier"`  // the camera's own relay opens the barrier

	Allowed []netip.Prefix `toml:"-"` // Source parsed
}

// IsNetwork reports whether the lane's camera is a network camera.
func (c NetCamera) IsNetwork() bool { return c.Kind == CamPush || c.Kind == CamISAPI }

const (
	DefaultPictureBytes = 2 << 30
	DefaultPictureDays  = 30
)

// validateCameras checks [cameras], [pictures] and the network keys of
// each [lanes.camera]. It runs before validateLanes, which hands the
// board each lane's hardware.
func (d *configDecoder) validateCameras(cfg *Config) {
	network := false
	for i := range cfg.Lanes {
		c := &cfg.Lanes[i].Camera
		key := func(k string) string { return fmt.Sprintf("lanes[%d].camera.%s", i, k) }
		switch c.Kind {
		case "":
			c.Kind = CamRS485
		case CamRS485, CamPush, CamISAPI:
		default:
			d.add(key("kind"), "want %s, %s or %s, got %q", CamRS485, CamPush, CamISAPI, c.Kind)
			continue
		}
		c.CameraPort.Network = c.IsNetwork()
		if !c.IsNetwork() {
			if c.Source != "" || c.SerialNo != "" || c.Token != "" || c.MinConfidence != 0 || c.OpensBarrier {
				d.add(key("kind"), "source, serialno, token, min_confidence and opens_barrier are for a network camera (kind = %q or %q)", CamPush, CamISAPI)
			}
			continue
		}
		network = true
		if c.Path != "" {
			d.add(key("path"), "a network camera has no serial line here (kind is %q)", c.Kind)
		}
		c.Allowed = nil
		for _, s := range strings.Split(c.Source, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := parseAllow(s)
			if err != nil {
				d.add(key("source"), "%v", err)
				continue
			}
			c.Allowed = append(c.Allowed, p)
		}
		if c.MinConfidence < 0 || c.MinConfidence > 100 {
			d.add(key("min_confidence"), "%d out of range 0–100", c.MinConfidence)
		}
		if c.Kind == CamISAPI && c.Token != "" {
			d.add(key("token"), "an ISAPI camera cannot send a token: rely on source")
		}
		if strings.ContainsAny(string(c.Token), "&#?/ %") {
			d.add(key("token"), "use letters and digits only (it goes into a URL)")
		}
	}
	if network {
		if cfg.Cameras.Listen == "" {
			d.add("cameras.listen", `required for network cameras, e.g. ":8081"`)
		} else if _, p, err := splitListen(cfg.Cameras.Listen); err != nil {
			d.add("cameras.listen", "%v", err)
		} else if _, pp, _ := splitListen(cfg.Platform.Listen); pp == p && p != "0" {
			d.add("cameras.listen", "port %s is the platform's callback port: the cameras need a listener of their own", p)
		}
	} else if cfg.Cameras.Listen != "" {
		if _, _, err := splitListen(cfg.Cameras.Listen); err != nil {
			d.add("cameras.listen", "%v", err)
		}
	}
	if cfg.Pictures.MaxBytes < 1<<20 {
		d.add("pictures.max_bytes", "%d: at least 1 MiB (default 2 GiB)", cfg.Pictures.MaxBytes)
	}
	if cfg.Pictures.MaxDays < 1 || cfg.Pictures.MaxDays > 3650 {
		d.add("pictures.max_days", "%d out of range 1–3650 (default 30)", cfg.Pictures.MaxDays)
	}
}
