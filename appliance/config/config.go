package main

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"laned/board"
	"laned/cmb"
	"laned/edge"
	"laned/edge/console"
	"laned/edge/tariff"
	"laned/edge/update"
	"laned/hal/camera"
	"laned/store"
)

// Config is laned's configuration: one TOML file (see
// scripts/laned.example.toml, which documents every key). loadConfig
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
}

// ParkConfig is [park]: the car park.
type ParkConfig struct {
	ParkCode        int64    `toml:"park_code"`
	Zone            string   `toml:"zone"`
	SpacesTotal     int      `toml:"spaces_total"`
	SpacesVIP       int      `toml:"spaces_vip"`
	ReservedOutTime duration `toml:"reserved_out_time"`
	ReplaceStale    bool     `toml:"replace_stale"`
	DedupeWindow    duration `toml:"dedupe_window"`
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
	SendTimeout    duration `toml:"send_timeout"`
	// MaxRefusals: an uplink refused this many times in a row with the
	// same answer is dead-lettered (audited). 0: the default, 5.
	MaxRefusals int `toml:"max_refusals"`

	Secret  secret         `toml:"-"` // read from SecretFile; never printed
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
	From  civilTime `toml:"from"`
	Until civilTime `toml:"until"`
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
	TrialPeriod   duration `toml:"trial_period"`
	Interval      duration `toml:"interval"`
}

// Defaults of keys left out.
const (
	defaultDataDir     = "/var/lib/laned"
	defaultListen      = ":8080"
	defaultDedupe      = 10 * time.Second
	defaultSendTimeout = 10 * time.Second
	defaultSerialBaud  = 115200
	defaultReserved    = 64 << 20
	defaultTrialPeriod = 5 * time.Minute
	defaultInterval    = 6 * time.Hour
)

// Problem is one mistake in the configuration file, with where it is.
type Problem struct {
	File string
	Line int    // 0 when the key is absent from the file
	Key  string // e.g. "lanes[1].camera.baud"; "" for the file as a whole
	Msg  string

	absent bool // a whole required section is missing
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ProblemsError is the error of a configuration with problems.
type ProblemsError []Problem

func (ps ProblemsError) Error() string {
	if len(ps) == 1 {
		return "config: " + ps[0].String()
	}
	return fmt.Sprintf("config: %d problems, the first: %s", len(ps), ps[0])
}

// secret is the platform's appsecret: every way of printing it masks it.
type secret string

const masked = "********"

func (secret) String() string               { return masked }
func (secret) GoString() string             { return masked }
func (secret) LogValue() slog.Value         { return slog.StringValue(masked) }
func (secret) MarshalText() ([]byte, error) { return []byte(masked), nil }

// duration is a Go duration ("10s", "5m") or integer seconds.
type duration time.Duration

func (d duration) D() time.Duration { return time.Duration(d) }

func (d *duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(100*365*24*time.Hour/time.Second) {
			return fmt.Errorf("duration %d s out of range", n)
		}
		*d = duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. \"10s\", \"5m\" or integer seconds)", s)
	}
	*d = duration(v)
	return nil
}

// civilTime is a vehicle entry's from/until: a TOML date or date-time, or
// a string "2006-01-02", "2006-01-02 15:04[:05]" or RFC 3339. Without an
// offset it is read in the car park's zone.
type civilTime struct {
	t     time.Time
	local bool // no offset given: fields are in the park's zone
}

var civilLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func (c *civilTime) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case time.Time:
		switch v.Location().String() {
		case "time-local":
			return errors.New("a time of day without a date")
		case "date-local", "datetime-local":
			*c = civilTime{t: v, local: true}
		default:
			*c = civilTime{t: v}
		}
		return nil
	case string:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			*c = civilTime{t: t}
			return nil
		}
		for _, l := range civilLayouts {
			if t, err := time.Parse(l, v); err == nil {
				*c = civilTime{t: t, local: true}
				return nil
			}
		}
		return fmt.Errorf("bad date %q (want 2006-01-02, 2006-01-02 15:04 or RFC 3339)", v)
	}
	return fmt.Errorf("want a date, got %T", v)
}

// In returns the time, reading a local one in loc; zero when unset.
func (c civilTime) In(loc *time.Location) time.Time {
	if c.t.IsZero() || !c.local {
		return c.t
	}
	t := c.t
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

// rawFile is the file's top level; each key is decoded on its own so that
// a type error in one section does not hide the problems of the others.
type rawFile struct {
	DataDir   toml.Primitive `toml:"data_dir"`
	StoreChk  toml.Primitive `toml:"store_check_timeout"`
	LogLevel  toml.Primitive `toml:"log_level"`
	LogFormat toml.Primitive `toml:"log_format"`
	Park      toml.Primitive `toml:"park"`
	Platform  toml.Primitive `toml:"platform"`
	Board     toml.Primitive `toml:"board"`
	Lanes     toml.Primitive `toml:"lanes"`
	Tariff    toml.Primitive `toml:"tariff"`
	Vehicles  toml.Primitive `toml:"vehicles"`
	Console   toml.Primitive `toml:"console"`
	Update    toml.Primitive `toml:"update"`
	Cameras   toml.Primitive `toml:"cameras"`
	Pictures  toml.Primitive `toml:"pictures"`
	Display   toml.Primitive `toml:"display"`

	// The flat update keys of the first update configs, still read:
	// update_url, update_channel, trusted_keys, update_reserved_bytes,
	// update_max_starts, update_trial. [update] is the place for them.
	LegacyURL       toml.Primitive `toml:"update_url"`
	LegacyChannel   toml.Primitive `toml:"update_channel"`
	LegacyKeys      toml.Primitive `toml:"trusted_keys"`
	LegacyReserved  toml.Primitive `toml:"update_reserved_bytes"`
	LegacyMaxStarts toml.Primitive `toml:"update_max_starts"`
	LegacyTrial     toml.Primitive `toml:"update_trial"`
}

// boardSection is [board]: the profile; the lanes come from [[lanes]].
type boardSection struct {
	Profile string `toml:"profile"`
	Chip    string `toml:"chip"`
	Clock   string `toml:"clock"` // "real" (default) or "sim" (sim profile only)
}

// loadConfig reads and validates the configuration file at path. err is
// for a file that cannot be read; problems lists every mistake in it,
// each with its line and key. cfg is only usable when both are empty.
func loadConfig(path string) (*Config, []Problem, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	cfg, ps := parseConfig(abs, b, true)
	return cfg, ps, nil
}

// loadConfigErr is loadConfig with the problems as a ProblemsError.
func loadConfigErr(path string) (*Config, error) {
	cfg, ps, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	if len(ps) > 0 {
		return nil, ProblemsError(ps)
	}
	return cfg, nil
}

// configDecoder decodes one file, collecting problems with their lines.
type configDecoder struct {
	path  string
	dir   string
	md    toml.MetaData
	lines *lineIndex
	ps    []Problem
}

// addAbsent reports a required section the file does not have.
func (d *configDecoder) addAbsent(key, msg string) {
	d.add(key, "%s", msg)
	d.ps[len(d.ps)-1].absent = true
}

func (d *configDecoder) add(key, format string, args ...any) {
	d.ps = append(d.ps, Problem{File: d.path, Line: d.lines.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// decodeErrRE matches BurntSushi's type errors.
var decodeErrRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// decodeErr turns a decode error into a problem.
func (d *configDecoder) decodeErr(section string, err error) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key := pe.LastKey
		if section == "" {
			key = "" // a syntax error: the last key parsed is not where it is
		}
		d.ps = append(d.ps, Problem{File: d.path, Line: pe.Position.Line, Key: key, Msg: pe.Message})
		return
	}
	if m := decodeErrRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		d.ps = append(d.ps, Problem{File: d.path, Line: n, Key: m[2], Msg: m[3]})
		return
	}
	d.add(section, "%v", err)
}

// decode decodes the top-level key into v when the file has it and
// reports whether it did.
func (d *configDecoder) decode(key string, p toml.Primitive, v any) bool {
	if !d.md.IsDefined(key) {
		return false
	}
	if err := d.md.PrimitiveDecode(p, v); err != nil {
		d.decodeErr(key, err)
		return false
	}
	return true
}

// resolve makes a configured path absolute against the file's directory.
func (d *configDecoder) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

// parseConfig decodes and validates a configuration. withFiles also reads
// and checks the files the configuration names (secret, TLS, templates).
func parseConfig(path string, data []byte, withFiles bool) (*Config, []Problem) {
	d := &configDecoder{path: path, dir: filepath.Dir(path), lines: indexLines(data)}
	cfg := d.decodeFile(data)
	if cfg == nil {
		return nil, d.ps
	}
	d.validate(cfg, withFiles)
	sortProblems(d.ps)
	return cfg, d.ps
}

// sortProblems orders problems by line, those without a line last.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = math.MaxInt
		}
		if lb == 0 {
			lb = math.MaxInt
		}
		return cmp.Compare(la, lb)
	})
}

// decodeFile decodes everything, fills the defaults and reports type
// errors and unknown keys. nil when the file is not TOML at all.
func (d *configDecoder) decodeFile(data []byte) *Config {
	var raw rawFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		d.decodeErr("", err)
		return nil
	}
	d.md = md
	cfg := &Config{
		Path: d.path, DataDir: defaultDataDir, LogFormat: "text",
		Park: ParkConfig{
			Zone: tariff.DefaultZone, ReservedOutTime: duration(tariff.DefaultReservedOutTime),
			DedupeWindow: duration(defaultDedupe), TollCollector: "laned", RetentionDays: 90,
		},
		Platform: PlatformConfig{Listen: defaultListen, Prefix: "/", SendTimeout: duration(defaultSendTimeout)},
		Console:  ConsoleConfig{SerialBaud: defaultSerialBaud, Socket: defaultConsoleSocket},
		Update: UpdateConfig{
			Channel: update.DefaultChannel, ReservedBytes: defaultReserved, MaxStarts: update.DefaultMaxStarts,
			TrialPeriod: duration(defaultTrialPeriod), Interval: duration(defaultInterval),
		},
	}
	d.decode("data_dir", raw.DataDir, &cfg.DataDir)
	var chk duration
	if d.decode("store_check_timeout", raw.StoreChk, &chk) {
		cfg.StoreCheckTimeout = chk.D()
	}
	var level string
	if d.decode("log_level", raw.LogLevel, &level) {
		if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
			d.add("log_level", "unknown level %q (debug, info, warn, error)", level)
		}
	}
	d.decode("log_format", raw.LogFormat, &cfg.LogFormat)
	d.decode("park", raw.Park, &cfg.Park)
	d.decode("platform", raw.Platform, &cfg.Platform)
	var bs boardSection
	d.decode("board", raw.Board, &bs)
	cfg.Board.Profile, cfg.Board.Chip = bs.Profile, bs.Chip
	switch bs.Clock {
	case "", "real":
	case "sim":
		cfg.SimClock = true
		if bs.Profile != board.ProfileSim {
			d.add("board.clock", `"sim" is for the sim profile only: a lane on real hardware runs on the real clock`)
		}
	default:
		d.add("board.clock", `want "real" or "sim", got %q`, bs.Clock)
	}
	d.decode("lanes", raw.Lanes, &cfg.Lanes)
	d.decode("tariff", raw.Tariff, &cfg.Tariff)
	d.decode("vehicles", raw.Vehicles, &cfg.Vehicles)
	d.decode("console", raw.Console, &cfg.Console)
	d.decode("update", raw.Update, &cfg.Update)
	cfg.Pictures = PicturesConfig{MaxBytes: defaultPictureBytes, MaxDays: defaultPictureDays}
	d.decode("cameras", raw.Cameras, &cfg.Cameras)
	d.decode("pictures", raw.Pictures, &cfg.Pictures)
	d.decode("display", raw.Display, &cfg.Display)
	legacy := []struct {
		key, now string
		p        toml.Primitive
		v        any
	}{
		{"update_url", "url", raw.LegacyURL, &cfg.Update.URL},
		{"update_channel", "channel", raw.LegacyChannel, &cfg.Update.Channel},
		{"trusted_keys", "trusted_keys", raw.LegacyKeys, &cfg.Update.TrustedKeys},
		{"update_reserved_bytes", "reserved_bytes", raw.LegacyReserved, &cfg.Update.ReservedBytes},
		{"update_max_starts", "max_starts", raw.LegacyMaxStarts, &cfg.Update.MaxStarts},
		{"update_trial", "trial_period", raw.LegacyTrial, &cfg.Update.TrialPeriod},
	}
	for _, l := range legacy {
		if d.md.IsDefined("update", l.now) && d.md.IsDefined(l.key) {
			d.add(l.key, "set twice: here and as [update] %s; keep [update] %s", l.now, l.now)
			continue
		}
		d.decode(l.key, l.p, l.v)
	}
	d.undecoded()
	return cfg
}

// undecoded reports keys the configuration does not know (typos), at the
// line of each occurrence.
func (d *configDecoder) undecoded() {
	seen := map[string]bool{}
	keys := d.md.Undecoded()
	for _, k := range keys {
		plain := strings.Join(k, ".")
		if seen[plain] {
			continue
		}
		seen[plain] = true
		if len(k) > 1 && slices.ContainsFunc(keys, func(p toml.Key) bool { return slices.Equal(p, k[:len(k)-1]) }) {
			continue // its table is unknown as a whole
		}
		at := d.lines.occurrences(plain)
		if len(at) == 0 {
			d.add(plain, "unknown key")
			continue
		}
		for _, a := range at {
			d.ps = append(d.ps, Problem{File: d.path, Line: a.line, Key: a.key, Msg: "unknown key"})
		}
	}
}

// validate checks every value and fills the derived fields.
func (d *configDecoder) validate(cfg *Config, withFiles bool) {
	cfg.DataDir = d.resolve(cfg.DataDir)
	if cfg.DataDir == "" {
		d.add("data_dir", "empty")
	}
	if cfg.StoreCheckTimeout < -time.Second || cfg.StoreCheckTimeout > time.Hour {
		d.add("store_check_timeout", "%s out of range (-1s skips the check; up to 1h)", cfg.StoreCheckTimeout)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		d.add("log_format", "unknown format %q (text, json)", cfg.LogFormat)
	}
	d.validatePark(cfg)
	d.validatePlatform(cfg, withFiles)
	d.validateCameras(cfg)
	d.validateLanes(cfg, withFiles)
	d.validateTariff(cfg)
	d.validateVehicles(cfg)
	d.validateConsole(cfg)
	d.validateUpdate(cfg)
	d.validateDisplay(cfg)
}

func (d *configDecoder) validatePark(cfg *Config) {
	p := &cfg.Park
	if !d.md.IsDefined("park") {
		d.addAbsent("park", "missing section [park] (park_code, spaces_total …)")
		return
	}
	if p.ParkCode <= 0 {
		d.add("park.park_code", "required: the platform's park code, a positive number")
	}
	loc, err := time.LoadLocation(p.Zone)
	switch {
	case p.Zone == "" || p.Zone == "Local":
		d.add("park.zone", "name the car park's zone, e.g. \"Asia/Shanghai\"")
	case err != nil:
		d.add("park.zone", "unknown zone %q", p.Zone)
	default:
		p.Location = loc
	}
	if p.SpacesTotal <= 0 {
		d.add("park.spaces_total", "required: the number of spaces, positive")
	}
	if p.SpacesVIP < 0 || (p.SpacesTotal > 0 && p.SpacesVIP > p.SpacesTotal) {
		d.add("park.spaces_vip", "%d out of range 0–spaces_total", p.SpacesVIP)
	}
	if p.ReservedOutTime.D() <= 0 || p.ReservedOutTime.D() > 24*time.Hour {
		d.add("park.reserved_out_time", "%s out of range (0, 24h]", p.ReservedOutTime.D())
	}
	if p.RetentionDays < 1 || p.RetentionDays > 3650 {
		d.add("park.retention_days", "%d out of range [1, 3650]", p.RetentionDays)
	}
	if p.DedupeWindow.D() < 0 || p.DedupeWindow.D() > 10*time.Minute {
		d.add("park.dedupe_window", "%s out of range [0, 10m]", p.DedupeWindow.D())
	}
	if p.TollCollector == "" || len(p.TollCollector) > 32 {
		d.add("park.toll_collector", "want 1–32 characters")
	}
}

func (d *configDecoder) validatePlatform(cfg *Config, withFiles bool) {
	p := &cfg.Platform
	if !d.md.IsDefined("platform") {
		d.addAbsent("platform", "missing section [platform] (environment, appid, secret_file …)")
		return
	}
	switch {
	case p.Environment != "" && p.BaseURL != "":
		d.add("platform.base_url", "set environment or base_url, not both")
	case p.BaseURL != "":
		u, err := url.Parse(p.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.add("platform.base_url", "want an http(s) URL, got %q", p.BaseURL)
		}
	case p.Environment != "":
		env, err := cmb.ParseEnvironment(p.Environment)
		if err != nil || cmb.APIBase(env) == "" {
			d.add("platform.environment", "unknown environment %q (st, uat, prod)", p.Environment)
		}
	default:
		d.add("platform.environment", "required: st, uat or prod (or base_url)")
	}
	if p.AppID == "" {
		d.add("platform.appid", "required: the appid the platform assigned")
	}
	p.SecretFile = d.resolve(p.SecretFile)
	switch {
	case p.SecretFile == "":
		d.add("platform.secret_file", "required: a root-only file holding the appsecret")
	case withFiles:
		s, err := readSecret(p.SecretFile)
		if err != nil {
			d.add("platform.secret_file", "%v", err)
		}
		p.Secret = s
	}
	if _, _, err := splitListen(p.Listen); err != nil {
		d.add("platform.listen", "%v", err)
	}
	if !strings.HasPrefix(p.Prefix, "/") || !strings.HasSuffix(p.Prefix, "/") {
		d.add("platform.prefix", "want a path starting and ending with /, e.g. \"/\" or \"/park/\"; got %q", p.Prefix)
	}
	p.TLSCert, p.TLSKey = d.resolve(p.TLSCert), d.resolve(p.TLSKey)
	switch {
	case (p.TLSCert == "") != (p.TLSKey == ""):
		d.add("platform.tls_cert", "set both tls_cert and tls_key, or neither")
	case p.TLSCert != "" && withFiles:
		if err := checkPrivateFile(p.TLSKey, "the TLS private key"); err != nil {
			d.add("platform.tls_key", "%v", err)
		}
		if _, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey); err != nil {
			d.add("platform.tls_cert", "%v", err)
		}
	}
	p.Allowed = nil
	for i, a := range p.Allow {
		pre, err := parseAllow(a)
		if err != nil {
			d.add(fmt.Sprintf("platform.allow[%d]", i), "%v", err)
			continue
		}
		p.Allowed = append(p.Allowed, pre)
	}
	if p.SendTimeout.D() < time.Second || p.SendTimeout.D() > 2*time.Minute {
		d.add("platform.send_timeout", "%s out of range [1s, 2m]", p.SendTimeout.D())
	}
	if p.MaxRefusals < 0 || p.MaxRefusals > 1000 {
		d.add("platform.max_refusals", "%d out of range [0, 1000] (0: the default, 5)", p.MaxRefusals)
	}
}

// splitListen checks a listen address: host:port, host may be empty.
func splitListen(s string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", fmt.Errorf("want host:port or :port, got %q", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", "", fmt.Errorf("bad port %q", port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil && host != "localhost" {
			return "", "", fmt.Errorf("want an IP address to listen on, got %q", host)
		}
	}
	return host, port, nil
}

// parseAllow reads an address or a CIDR.
func parseAllow(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", s)
		}
		if a := p.Addr(); a.Is4In6() {
			// ::ffff:10.1.0.0/112 is 10.1.0.0/16: callers are unmapped.
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("bad CIDR %q: an IPv4-mapped prefix needs at least 96 bits", s)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q (want an IP or a CIDR)", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// readSecret reads the appsecret file: it must be a regular file readable
// by its owner only (mode & 077 == 0) and not empty. The error never
// contains the secret.
func readSecret(path string) (secret, error) {
	if err := checkPrivateFile(path, "the appsecret"); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s holds more than one line", path)
	}
	return secret(s), nil
}

// checkPrivateFile checks that path (holding what) is a regular file that
// neither its group nor others may read or write: mode & 077 == 0.
func checkPrivateFile(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s does not exist (write %s there, chmod 600)", path, what)
		}
		return fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is readable by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

func (d *configDecoder) validateLanes(cfg *Config, withFiles bool) {
	if !d.md.IsDefined("board") {
		d.addAbsent("board", "missing section [board] (profile = \"rpi4\", \"sim\" …)")
	}
	if len(cfg.Lanes) == 0 {
		d.addAbsent("lanes", "no lanes: add a [[lanes]] table per lane")
	}
	names := map[string]bool{}
	codes := map[string]string{} // kind/code → lane
	cfg.Board.Lanes = nil
	for i, l := range cfg.Lanes {
		key := func(k string) string { return fmt.Sprintf("lanes[%d].%s", i, k) }
		switch {
		case l.Name == "":
			d.add(key("name"), "required")
		case strings.ContainsAny(l.Name, " \t/"):
			d.add(key("name"), "%q: no spaces or slashes", l.Name)
		default:
			if names[l.Name] {
				d.add(key("name"), "%q used twice", l.Name)
			}
			names[l.Name] = true
		}
		if l.Kind != "entry" && l.Kind != "exit" {
			d.add(key("kind"), "want entry or exit, got %q", l.Kind)
		}
		if l.Code < 1 || l.Code > 255 {
			d.add(key("code"), "%d out of range 1–255 (the in_code of an entry, the out_code of an exit)", l.Code)
		} else if other, dup := codes[l.Kind+"/"+strconv.Itoa(l.Code)]; dup {
			d.add(key("code"), "%s code %d already used by lane %s", l.Kind, l.Code, other)
		} else {
			codes[l.Kind+"/"+strconv.Itoa(l.Code)] = l.Name
		}
		cfg.Lanes[i].Camera.Template = d.resolve(l.Camera.Template)
		cfg.Board.Lanes = append(cfg.Board.Lanes, cfg.Lanes[i].Hardware())
	}
	if cfg.Board.Profile == "" {
		if !d.md.IsDefined("board") {
			return // reported above
		}
		d.add("board.profile", "required: one of %s", strings.Join(board.Profiles, ", "))
		return
	}
	// The board judges the hardware with each lane named by its index, so
	// that its problems map back to the right table even when names are
	// missing or duplicated (reported above).
	check := cfg.Board
	check.Lanes = slices.Clone(cfg.Board.Lanes)
	for i := range check.Lanes {
		check.Lanes[i].Name = "#" + strconv.Itoa(i)
	}
	if err := check.Validate(); err != nil {
		var bps board.Problems
		if !errors.As(err, &bps) {
			d.add("board", "%v", err)
			return
		}
		for _, p := range bps {
			i, err := strconv.Atoi(strings.TrimPrefix(p.Lane, "#"))
			switch {
			case p.Lane == "" && p.Key == "lanes":
				// reported above
			case p.Lane == "":
				d.add("board."+p.Key, "%s", p.Msg)
			case err == nil && i >= 0 && i < len(cfg.Lanes):
				d.add(fmt.Sprintf("lanes[%d].%s", i, p.Key), "%s", laneRefRE.ReplaceAllString(p.Msg, "lanes[$1]"))
			default:
				d.add("lanes", "lane %s: %s: %s", p.Lane, p.Key, p.Msg)
			}
		}
	}
	for i, l := range cfg.Board.WithDefaults().Lanes {
		if i >= len(cfg.Lanes) {
			break
		}
		if (cfg.Board.Profile == board.ProfileSim && l.Camera.Path == "") || l.Camera.Network {
			continue // a simulated camera
		}
		tk := fmt.Sprintf("lanes[%d].camera.template", i)
		tmpl := cfg.Lanes[i].Camera.Template
		switch {
		case l.Camera.Codec == "template" && tmpl == "":
			d.add(tk, "the template codec needs a template file")
		case l.Camera.Codec != "template" && tmpl != "":
			d.add(tk, "only the template codec reads a template (codec is %q)", l.Camera.Codec)
		case tmpl != "" && withFiles:
			if _, err := camera.LoadTemplate(tmpl); err != nil {
				d.add(tk, "%v", err)
			}
		}
	}
}

func (d *configDecoder) validateTariff(cfg *Config) {
	for _, k := range []string{"zone", "reserved_out_time"} {
		if d.md.IsDefined("tariff", k) {
			d.add("tariff."+k, "set it in [park]: %s is the car park's", k)
		}
	}
	cfg.Tariff.Zone = cfg.Park.Zone
	cfg.Tariff.ReservedOutTime = tariff.Duration(cfg.Park.ReservedOutTime)
	if !d.md.IsDefined("tariff") {
		d.addAbsent("tariff", "missing section [tariff] (at least [tariff.small])")
		return
	}
	err := cfg.Tariff.Validate()
	var ce *tariff.ConfigError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		for _, p := range ce.Problems {
			if p.Key != "zone" && p.Key != "reserved_out_time" { // checked in [park]
				d.add("tariff."+p.Key, "%s", p.Msg)
			}
		}
	default:
		d.add("tariff", "%v", err)
	}
}

func (d *configDecoder) validateVehicles(cfg *Config) {
	loc := cfg.Park.Location
	if loc == nil {
		loc = time.UTC // the zone's own problem is reported
	}
	seen := map[string]int{}
	for i, v := range cfg.Vehicles {
		key := func(k string) string { return fmt.Sprintf("vehicles[%d].%s", i, k) }
		if strings.TrimSpace(v.Plate) == "" {
			d.add(key("plate"), "required")
		}
		switch store.List(v.List) {
		case store.ListVIP, store.ListMonthly, store.ListBlack:
		default:
			d.add(key("list"), "want vip, monthly or black, got %q", v.List)
		}
		if f, u := v.From.In(loc), v.Until.In(loc); !f.IsZero() && !u.IsZero() && !u.After(f) {
			d.add(key("until"), "not after from")
		}
		id := strings.ToUpper(strings.TrimSpace(v.Plate)) + "/" + v.List
		if j, dup := seen[id]; dup {
			d.add(key("plate"), "%s is on the %s list twice (vehicles[%d])", v.Plate, v.List, j)
		}
		seen[id] = i
	}
}

func (d *configDecoder) validateConsole(cfg *Config) {
	c := &cfg.Console
	if c.SerialPort == board.None {
		c.SerialPort = ""
	}
	if c.SerialPort != "" {
		if !slices.Contains([]int{9600, 19200, 38400, 57600, 115200}, c.SerialBaud) {
			d.add("console.serial_baud", "unsupported baud rate %d (9600, 19200, 38400, 57600, 115200)", c.SerialBaud)
		}
		if c.PINHash == "" {
			d.add("console.pin_hash", "a serial console needs a PIN: make one with `laned console hash-pin`")
		}
	}
	if c.PINHash != "" {
		if _, err := console.NewPINCheck(c.PINHash, console.PINOptions{}); err != nil {
			d.add("console.pin_hash", "%v (make one with `laned console hash-pin`)", err)
		}
	}
	c.Socket = d.resolve(c.Socket)
}

func (d *configDecoder) validateUpdate(cfg *Config) {
	u := &cfg.Update
	ukey := func(k, legacy string) string {
		if d.md.IsDefined(legacy) {
			return legacy
		}
		return "update." + k
	}
	if u.URL != "" {
		pu, err := url.Parse(u.URL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			d.add(ukey("url", "update_url"), "want an http(s) URL, got %q", u.URL)
		}
		if len(u.TrustedKeys) == 0 {
			d.add(ukey("trusted_keys", "trusted_keys"), "pulling updates needs at least one trusted key")
		}
	}
	if _, err := update.ParsePublicKeys(u.TrustedKeys); err != nil && len(u.TrustedKeys) > 0 {
		d.add(ukey("trusted_keys", "trusted_keys"), "%v", err)
	}
	if u.Channel == "" || strings.ContainsAny(u.Channel, "/ \\") {
		d.add(ukey("channel", "update_channel"), "bad channel %q", u.Channel)
	}
	if u.ReservedBytes < 0 {
		d.add(ukey("reserved_bytes", "update_reserved_bytes"), "negative")
	}
	if u.MaxStarts < 1 || u.MaxStarts > 100 {
		d.add(ukey("max_starts", "update_max_starts"), "%d out of range 1–100", u.MaxStarts)
	}
	if u.TrialPeriod.D() < 0 || u.TrialPeriod.D() > 24*time.Hour {
		d.add(ukey("trial_period", "update_trial"), "%s out of range [0, 24h]", u.TrialPeriod.D())
	}
	if u.Interval.D() < time.Minute {
		d.add("update.interval", "%s: at least 1m", u.Interval.D())
	}
}

// updateConfigOf is the update commands' view of a configuration.
func updateConfigOf(cfg *Config) updateConfig {
	return updateConfig{
		DataDir: cfg.DataDir, URL: cfg.Update.URL, Channel: cfg.Update.Channel, TrustedKeys: cfg.Update.TrustedKeys,
		Reserved: cfg.Update.ReservedBytes, MaxStarts: cfg.Update.MaxStarts, TrialPeriod: cfg.Update.TrialPeriod.D(),
	}
}

// loadUpdateSection reads what the update commands need: data_dir and
// [update] (or the flat update_* keys). It does not require the rest of
// the configuration to be valid, so that an update or a rollback still
// works on a site whose configuration the running binary rejects; a
// problem in these keys themselves is an error.
func loadUpdateSection(path string) (updateConfig, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return updateConfig{}, fmt.Errorf("config: %w", err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return updateConfig{}, fmt.Errorf("config: %w", err)
	}
	d := &configDecoder{path: abs, dir: filepath.Dir(abs), lines: indexLines(b)}
	cfg := d.decodeFile(b)
	if cfg == nil {
		return updateConfig{}, ProblemsError(d.ps)
	}
	d.ps = slices.DeleteFunc(d.ps, func(p Problem) bool { return !isUpdateKey(p.Key) })
	cfg.DataDir = d.resolve(cfg.DataDir)
	d.validateUpdate(cfg)
	if len(d.ps) > 0 {
		return updateConfig{}, ProblemsError(d.ps)
	}
	return updateConfigOf(cfg), nil
}

func isUpdateKey(k string) bool {
	return k == "" || k == "data_dir" || k == "update" || strings.HasPrefix(k, "update.") || strings.HasPrefix(k, "update_") || k == "trusted_keys"
}

func init() {
	loadUpdateConfig = loadUpdateSection
}

// lineIndex knows the line of every key of a TOML text, by its full path
// with array-of-tables indices: "park.park_code", "lanes[1].camera.baud",
// "tariff.small.segments[0].cap". It is a small scanner, not a parser:
// the text has already parsed when it is asked.
type lineIndex struct {
	at   map[string]int
	keys []keyLine // in file order
}

type keyLine struct {
	key  string
	line int
}

// line returns the line of key, else of its nearest enclosing key or
// table (a missing key is reported at its section), else 0.
func (x *lineIndex) line(key string) int {
	for key != "" {
		if n, ok := x.at[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

// occurrences lists the keys whose path without indices is plain.
func (x *lineIndex) occurrences(plain string) []keyLine {
	var out []keyLine
	for _, k := range x.keys {
		if stripIndices(k.key) == plain {
			out = append(out, k)
		}
	}
	return out
}

// laneRefRE finds the index names the board saw in its messages.
var laneRefRE = regexp.MustCompile(`#(\d+)`)

var indexRE = regexp.MustCompile(`\[\d+\]`)

func stripIndices(k string) string { return indexRE.ReplaceAllString(k, "") }

func indexLines(data []byte) *lineIndex {
	x := &lineIndex{at: map[string]int{}}
	put := func(k string, n int) {
		if _, ok := x.at[k]; !ok {
			x.at[k] = n
		}
		x.keys = append(x.keys, keyLine{k, n})
	}
	arrays := map[string]int{} // array of tables (indexed path) → count
	resolve := func(parts []string) string {
		p := ""
		for _, c := range parts {
			if p != "" {
				p += "."
			}
			p += c
			if n, ok := arrays[p]; ok {
				p += "[" + strconv.Itoa(n-1) + "]"
			}
		}
		return p
	}
	var sc tomlScan
	table := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if sc.busy() {
			sc.scan(line)
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			parts, _, ok := parseKey(s[2:])
			if !ok {
				continue
			}
			base := resolve(parts[:len(parts)-1])
			if base != "" {
				base += "."
			}
			base += parts[len(parts)-1]
			arrays[base]++
			table = base + "[" + strconv.Itoa(arrays[base]-1) + "]"
			put(base, n)
			put(table, n)
		case s[0] == '[':
			parts, _, ok := parseKey(s[1:])
			if !ok {
				continue
			}
			table = resolve(parts)
			put(table, n)
		default:
			parts, rest, ok := parseKey(s)
			if !ok || !strings.HasPrefix(rest, "=") {
				continue
			}
			k := strings.Join(parts, ".")
			if table != "" {
				k = table + "." + k
			}
			put(k, n)
			sc.scan(rest[1:])
		}
	}
	return x
}

// parseKey reads a dotted key (bare or quoted parts) at the start of s
// and returns its parts and what follows it, trimmed.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var part string
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, "", false
			}
			q := s[0]
			part, s = s[1:1+end], s[2+end:]
			if q == '"' && strings.Contains(part, `\`) {
				if u, err := strconv.Unquote(`"` + part + `"`); err == nil {
					part = u
				}
			}
		default:
			end := strings.IndexFunc(s, func(r rune) bool {
				return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
			})
			if end == 0 {
				return nil, "", false
			}
			if end < 0 {
				end = len(s)
			}
			part, s = s[:end], s[end:]
		}
		parts = append(parts, part)
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, ".") {
			s = s[1:]
			continue
		}
		return parts, strings.TrimRight(strings.TrimLeft(strings.TrimLeft(s, "]"), " \t"), " \t\r"), true
	}
}

// tomlScan follows a value over lines: open brackets and multi-line
// strings, so that their inner lines are not read as keys.
type tomlScan struct {
	depth int
	ml    string // the open multi-line string's delimiter
}

func (t *tomlScan) busy() bool { return t.depth > 0 || t.ml != "" }

func (t *tomlScan) scan(s string) {
	for i := 0; i < len(s); {
		if t.ml != "" {
			j := strings.Index(s[i:], t.ml)
			if j < 0 {
				return
			}
			i += j + 3
			t.ml = ""
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '[', '{':
			t.depth++
		case ']', '}':
			if t.depth > 0 {
				t.depth--
			}
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				t.ml = strings.Repeat(string(c), 3)
				i += 3
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != c {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		}
		i++
	}
}
