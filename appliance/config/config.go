package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"laned/board"
	"laned/edge"
	"laned/edge/tariff"
)

// Config is laned's configuration: one TOML file (see
// scripts/laned.example.toml, which documents every key). Load
// reads and validates it; a Config it returns without problems is ready
// to run. Relative paths in the file resolve against the file's
// directory.
type Config struct {
	Path      string // the file, absolute
	DataDir   string // data_dir: the store and the update state
	LogLevel  slog.Level
	LogFormat string // text or json

	// store_check_timeout: the bound on the page check of the store file
	// at start (default 10s; "-1s" skips it). A damaged file is salvaged.
	StoreCheckTimeout time.Duration

	Park     ParkConfig
	Platform PlatformConfig
	Board    board.Config // profile and chip from [board], lanes from [[lanes]]
	// SimClock is [board] clock = "sim": the daemon runs on a simulated
	// clock that follows real time and that the console's `sim advance`
	// moves forward (sim profile only).
	SimClock bool
	Lanes    []LaneConfig
	Tariff   tariff.Config // [tariff], with zone and reserved_out_time from [park]
	Vehicles []VehicleConfig
	Console  ConsoleConfig
	Update   UpdateConfig
	Cameras  CamerasConfig  // [cameras]: the network cameras' listener
	Pictures PicturesConfig // [pictures]: their pictures' budget
	Display  DisplaySection // [display]: the lanes' boards' texts (displayconfig.go)
	Site     SiteConfig     // [site]: the other boxes of the car park (site.go); Box "" = alone
}

// ParkConfig is [park]: the car park.
type ParkConfig struct {
	ParkCode        int64    `toml:"park_code"`
	Zone            string   `toml:"zone"`
	SpacesTotal     int      `toml:"spaces_total"`
	SpacesVIP       int      `toml:"spaces_vip"`
	ReservedOutTime Duration `toml:"reserved_out_time"`
	ReplaceStale    bool     `toml:"replace_stale"`
	DedupeWindow    Duration `toml:"dedupe_window"`
	RetentionDays   int      `toml:"retention_days"` // closed records kept this long; default 90
	TollCollector   string   `toml:"toll_collector"`

	Location *time.Location `toml:"-"` // Zone loaded
}

// PlatformConfig is [platform]: the CMB open platform in both directions.
type PlatformConfig struct {
	Environment string   `toml:"environment"` // st, uat or prod; or BaseURL
	BaseURL     string   `toml:"base_url"`
	AppID       string   `toml:"appid"`
	SecretFile  string   `toml:"secret_file"` // root-only file holding the appsecret
	Listen      string   `toml:"listen"`      // callback server address
	Prefix      string   `toml:"prefix"`      // path before cmbParking/
	TLSCert     string   `toml:"tls_cert"`
	TLSKey      string   `toml:"tls_key"`
	Allow       []string `toml:"allow"` // source addresses or CIDRs; empty: any
	// TrustLoopback lets loopback callers past the allow list (default
	// true: the technician's tools on the box); false behind a local
	// reverse proxy or tunnel, whose callers all arrive from loopback.
	TrustLoopback *bool `toml:"trust_loopback"`
	// TrustedProxy: the allow list checks the last X-Forwarded-For
	// address of a request from loopback (what a local proxy appends); a
	// request from anywhere else never has its header honoured.
	TrustedProxy bool `toml:"trusted_proxy"`
	Guaranteed   bool `toml:"guaranteed"`
	// OfflineRelease lets a bound vehicle out owing when the platform
	// does not answer its AutoPay within the wait (see edge.Config).
	OfflineRelease bool     `toml:"offline_release"`
	SendTimeout    Duration `toml:"send_timeout"`
	// MaxRefusals: an uplink refused this many times in a row with the
	// same answer is dead-lettered (audited). 0: the default, 5.
	MaxRefusals int `toml:"max_refusals"`

	Secret  Secret         `toml:"-"` // read from SecretFile; never printed
	Allowed []netip.Prefix `toml:"-"` // Allow parsed
}

// LaneConfig is one [[lanes]] table: what the lane is (name, kind, code)
// and its hardware (the board's keys: loops, relays, limit switches,
// camera). One table per lane, so a technician finds everything about a
// lane in one place.
type LaneConfig struct {
	Kind string `toml:"kind"` // entry or exit
	Code int    `toml:"code"` // in_code of an entry, out_code of an exit
	board.LaneConfig
	// Camera shadows board.LaneConfig.Camera (the shallower field wins in
	// decoding) to add the template file; Hardware() copies it back.
	Camera LaneCamera `toml:"camera"`
	// Display is [lanes.display], the lane's board (displayconfig.go).
	Display LaneDisplay `toml:"display"`
}

// LaneCamera is [lanes.camera]: the board's camera port and the template
// file of the template codec.
type LaneCamera struct {
	board.CameraPort
	Template string `toml:"template"` // template codec's file
	NetCamera
}

// Hardware returns the board's view of the lane.
func (l LaneConfig) Hardware() board.LaneConfig {
	h := l.LaneConfig
	h.Camera = l.Camera.CameraPort
	return h
}

// EdgeKind is the lane's kind for edge.
func (l LaneConfig) EdgeKind() edge.LaneKind {
	if l.Kind == "exit" {
		return edge.Exit
	}
	return edge.Entry
}

// VehicleConfig is one [[vehicles]] entry: a VIP, monthly or blacklisted
// plate, synced into the store on start and on SIGHUP.
type VehicleConfig struct {
	Plate string    `toml:"plate"`
	List  string    `toml:"list"` // vip, monthly or black
	From  CivilTime `toml:"from"`
	Until CivilTime `toml:"until"`
	Note  string    `toml:"note"`
}

// ConsoleConfig is [console]: the technician console.
type ConsoleConfig struct {
	SerialPort string `toml:"serial_port"` // "" or "none": no serial console
	SerialBaud int    `toml:"serial_baud"`
	PINHash    string `toml:"pin_hash"` // from `laned console hash-pin`
	Socket     string `toml:"socket"`   // root-only unix socket
}

// UpdateConfig is [update]: the pull updater and the trial.
type UpdateConfig struct {
	URL           string   `toml:"url"`
	Channel       string   `toml:"channel"`
	TrustedKeys   []string `toml:"trusted_keys"`
	ReservedBytes int64    `toml:"reserved_bytes"`
	MaxStarts     int      `toml:"max_starts"`
	TrialPeriod   Duration `toml:"trial_period"`
	Interval      Duration `toml:"interval"`
}

// Defaults of keys left out.
const (
	defaultDataDir    = "/var/lib/laned"
	defaultListen     = ":8080"
	defaultSerialBaud = 115200
)

// The data directory's layout.
const (
	StoreFile   = "laned.db" // the store
	PicturesDir = "pictures" // the network cameras' pictures
)

// DefaultConsoleSocket is where the daemon serves the root-only console.
const DefaultConsoleSocket = "/run/laned/console.sock"

// Secret is the platform's appsecret: every way of printing it masks it.
type Secret string

const masked = "********"

func (Secret) String() string               { return masked }
func (Secret) GoString() string             { return masked }
func (Secret) LogValue() slog.Value         { return slog.StringValue(masked) }
func (Secret) MarshalText() ([]byte, error) { return []byte(masked), nil }

// Duration is a Go duration ("10s", "5m") or integer seconds.
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(100*365*24*time.Hour/time.Second) {
			return fmt.Errorf("duration %d s out of range", n)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. \"10s\", \"5m\" or integer seconds)", s)
	}
	*d = Duration(v)
	return nil
}

// CivilTime is a vehicle entry's from/until: a TOML date or date-time, or
// a string "2006-01-02", "2006-01-02 15:04[:05]" or RFC 3339. Without an
// offset it is read in the car park's zone.
type CivilTime struct {
	t     time.Time
	local bool // no offset given: fields are in the park's zone
}

var civilLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func (c *CivilTime) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case time.Time:
		switch v.Location().String() {
		case "time-local":
			return errors.New("a time of day without a date")
		case "date-local", "datetime-local":
			*c = CivilTime{t: v, local: true}
		default:
			*c = CivilTime{t: v}
		}
		return nil
	case string:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			*c = CivilTime{t: t}
			return nil
		}
		for _, l := range civilLayouts {
			if t, err := time.Parse(l, v); err == nil {
				*c = CivilTime{t: t, local: true}
				return nil
			}
		}
		return fmt.Errorf("bad date %q (want 2006-01-02, 2006-01-02 15:04 or RFC 3339)", v)
	}
	return fmt.Errorf("want a date, got %T", v)
}

// In returns the time, reading a local one in loc; zero when unset.
func (c CivilTime) In(loc *time.Location) time.Time {
	if c.t.IsZero() || !c.local {
		return c.t
	}
	t := c.t
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

// StorePath is the store's file in data_dir.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, StoreFile) }
