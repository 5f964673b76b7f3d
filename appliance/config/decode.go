package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"laned/board"
	"laned/edge"
	"laned/edge/tariff"
	"laned/edge/update"
)

// Problem is one mistake in the configuration file, with where it is.
type Problem struct {
	File string
	Line int    // 0 when the key is absent from the file
	Key  string // e.g. "lanes[1].camera.baud"; "" for the file as a whole
	Msg  string

	Absent bool // a whole required section is missing
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
	Site      toml.Primitive `toml:"site"`

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

// Load reads and validates the configuration file at path. err is
// for a file that cannot be read; problems lists every mistake in it,
// each with its line and key. cfg is only usable when both are empty.
func Load(path string) (*Config, []Problem, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	cfg, ps := Parse(abs, b, true)
	return cfg, ps, nil
}

// LoadValid is Load with the problems as a ProblemsError.
func LoadValid(path string) (*Config, error) {
	cfg, ps, err := Load(path)
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
	lines *LineIndex
	ps    []Problem
}

// addAbsent reports a required section the file does not have.
func (d *configDecoder) addAbsent(key, msg string) {
	d.add(key, "%s", msg)
	d.ps[len(d.ps)-1].Absent = true
}

func (d *configDecoder) add(key, format string, args ...any) {
	d.ps = append(d.ps, Problem{File: d.path, Line: d.lines.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
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

// Parse decodes and validates a configuration. withFiles also reads
// and checks the files the configuration names (secret, TLS, templates).
func Parse(path string, data []byte, withFiles bool) (*Config, []Problem) {
	d := &configDecoder{path: path, dir: filepath.Dir(path), lines: IndexLines(data)}
	cfg := d.decodeFile(data)
	if cfg == nil {
		return nil, d.ps
	}
	d.validate(cfg, withFiles)
	SortProblems(d.ps)
	return cfg, d.ps
}

// SortProblems orders problems by line, those without a line last.
func SortProblems(ps []Problem) {
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
			Zone: tariff.DefaultZone, ReservedOutTime: Duration(tariff.DefaultReservedOutTime),
			DedupeWindow: Duration(edge.DefaultDedupeWindow), TollCollector: edge.DefaultTollCollector,
			RetentionDays: int(edge.DefaultRetention / (24 * time.Hour)),
		},
		Platform: PlatformConfig{Listen: defaultListen, Prefix: "/", SendTimeout: Duration(edge.DefaultSendTimeout)},
		Console:  ConsoleConfig{SerialBaud: defaultSerialBaud, Socket: DefaultConsoleSocket},
		Update: UpdateConfig{
			Channel: update.DefaultChannel, ReservedBytes: update.DefaultReserved, MaxStarts: update.DefaultMaxStarts,
			TrialPeriod: Duration(update.DefaultTrialPeriod), Interval: Duration(update.DefaultInterval),
		},
	}
	d.decode("data_dir", raw.DataDir, &cfg.DataDir)
	var chk Duration
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
	cfg.Pictures = PicturesConfig{MaxBytes: DefaultPictureBytes, MaxDays: DefaultPictureDays}
	d.decode("cameras", raw.Cameras, &cfg.Cameras)
	d.decode("pictures", raw.Pictures, &cfg.Pictures)
	d.decode("display", raw.Display, &cfg.Display)
	cfg.Site = siteDefaults()
	d.decode("site", raw.Site, &cfg.Site)
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
