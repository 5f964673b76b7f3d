package tariff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is a car park's tariff, as an operator writes it (see the package
// comment for a TOML example). Minutes are integers (free_minutes = 15),
// money is integer fen, reserved_out_time is a Go duration string ("15m")
// or integer seconds. Zero values take the documented defaults.
type Config struct {
	// Zone is the IANA zone of the car park's clock rules (segments,
	// calendar days). Default "Asia/Shanghai".
	Zone string `toml:"zone"`
	// ReservedOutTime is how long a vehicle that paid may take to leave
	// free. Default (and when 0) 15 minutes; at most 24 h.
	ReservedOutTime Duration `toml:"reserved_out_time"`
	// CapMode chooses the daily cap's window: CapRolling24h (default) or
	// CapCalendarDay.
	CapMode CapMode `toml:"cap_mode"`
	// DeductFreeMinutes: when a stay exceeds the free period, charge from
	// entry+free_minutes instead of from entry. Commonly false.
	DeductFreeMinutes bool `toml:"deduct_free_minutes"`
	// MilitaryFree makes military and police vehicles (Query.Military)
	// free.
	MilitaryFree bool `toml:"military_free"`
	// MilitaryPrefixes and PoliceSuffixes replace DefaultMilitaryPrefixes
	// and DefaultPoliceSuffixes for Engine.IsMilitaryPolice when not empty.
	MilitaryPrefixes []string `toml:"military_prefixes"`
	PoliceSuffixes   []string `toml:"police_suffixes"`
	// FallbackToSmall prices a class without its own rule set with Small's.
	// When false, every class needs a rule set.
	FallbackToSmall bool `toml:"fallback_to_small"`

	Small     *RuleSet `toml:"small"`
	Large     *RuleSet `toml:"large"`
	NewEnergy *RuleSet `toml:"new_energy"`
}

// RuleSet prices one vehicle class. Without Segments it is either a
// per-visit Flat price or timed periods (FirstMinutes/FirstPrice, then
// NextMinutes/NextPrice); with Segments the segments carry the prices and
// the rule set's own price fields must be zero.
type RuleSet struct {
	FreeMinutes  int   `toml:"free_minutes"`
	Flat         int64 `toml:"flat"` // per visit, fen; > 0 selects flat pricing
	FirstMinutes int   `toml:"first_minutes"`
	FirstPrice   int64 `toml:"first_price"`
	NextMinutes  int   `toml:"next_minutes"`
	NextPrice    int64 `toml:"next_price"`
	DailyCap     int64 `toml:"daily_cap"` // per cap window, fen; 0 = none

	Segments []Segment `toml:"segments"`
}

// Segment is a part of the day with its own prices, e.g. 08:00–20:00. A
// segment may wrap midnight (20:00–08:00); "24:00" is accepted as an end.
// The segments of a rule set cover the 24 h day without overlap. A segment
// is exactly one of: Free, Flat (> 0, once per occurrence) or timed periods.
type Segment struct {
	Name         string `toml:"name"` // for the breakdown; default "HH:MM-HH:MM"
	Start        string `toml:"start"`
	End          string `toml:"end"`
	Free         bool   `toml:"free"`
	Flat         int64  `toml:"flat"`
	FirstMinutes int    `toml:"first_minutes"`
	FirstPrice   int64  `toml:"first_price"`
	NextMinutes  int    `toml:"next_minutes"`
	NextPrice    int64  `toml:"next_price"`
	Cap          int64  `toml:"cap"` // per occurrence of the segment, fen; 0 = none
}

// CapMode is the daily cap's window.
type CapMode string

// The cap modes.
const (
	CapRolling24h  CapMode = "rolling24h"   // each 24 h from entry
	CapCalendarDay CapMode = "calendar_day" // each calendar day in the zone
)

// Duration is a time.Duration written in a config as a Go duration string
// ("15m", "1h30m") or as integer seconds (900), as ConfigUpload does.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > maxDurationSeconds || n < -maxDurationSeconds {
			return fmt.Errorf("tariff: duration %q: out of range", s)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("tariff: duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// Limits of a configuration, beyond which Validate reports a problem. They
// keep every product of a count and a price far inside int64.
const (
	// DefaultZone is the car park's zone when Config.Zone is empty.
	DefaultZone = "Asia/Shanghai"
	// DefaultReservedOutTime is the exit grace when none is configured.
	DefaultReservedOutTime = 15 * time.Minute
	// MaxFen is the largest price or cap accepted (1,000,000 yuan).
	MaxFen = 100_000_000
	// MaxMinutes is the longest free period or price period (31 days).
	MaxMinutes = 31 * 24 * 60
	// MaxSegments is the most segments one rule set may have.
	MaxSegments = 24

	maxDurationSeconds = 1 << 40
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Key string // the TOML key, e.g. "small.segments[1].next_minutes"
	Msg string
}

func (p Problem) String() string { return p.Key + ": " + p.Msg }

// ConfigError lists every problem Validate found. It wraps ErrConfig.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "tariff: invalid config: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.Is(err, ErrConfig) hold.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// Validate reports every problem of the configuration, or nil. The error is
// a *ConfigError wrapping ErrConfig.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

type problems []Problem

func (ps *problems) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// compile validates the configuration and turns it into an engine.
func (c Config) compile() (*Engine, error) {
	var ps problems
	e := &Engine{}

	zone := c.Zone
	if zone == "" {
		zone = DefaultZone
	}
	loc, err := time.LoadLocation(zone)
	switch {
	case err != nil:
		ps.add("zone", "unknown time zone %q", zone)
	case zone == "Local":
		ps.add("zone", "must name the car park's zone, not the machine's local zone")
	default:
		e.loc = loc
	}

	switch grace := time.Duration(c.ReservedOutTime); {
	case grace < 0:
		ps.add("reserved_out_time", "must not be negative, got %v", grace)
	case grace > 24*time.Hour:
		ps.add("reserved_out_time", "must be at most 24h, got %v", grace)
	case grace == 0:
		e.grace = DefaultReservedOutTime
	default:
		e.grace = grace
	}

	switch c.CapMode {
	case "", CapRolling24h:
	case CapCalendarDay:
		e.calendar = true
	default:
		ps.add("cap_mode", "must be %q or %q, got %q", CapRolling24h, CapCalendarDay, c.CapMode)
	}

	e.deduct = c.DeductFreeMinutes
	e.militaryFree = c.MilitaryFree
	e.prefixes = DefaultMilitaryPrefixes
	if len(c.MilitaryPrefixes) > 0 {
		e.prefixes = c.MilitaryPrefixes
	}
	e.suffixes = DefaultPoliceSuffixes
	if len(c.PoliceSuffixes) > 0 {
		e.suffixes = c.PoliceSuffixes
	}
	for i, p := range c.MilitaryPrefixes {
		if strings.TrimSpace(p) == "" {
			ps.add(fmt.Sprintf("military_prefixes[%d]", i), "must not be empty")
		}
	}
	for i, s := range c.PoliceSuffixes {
		if strings.TrimSpace(s) == "" {
			ps.add(fmt.Sprintf("police_suffixes[%d]", i), "must not be empty")
		}
	}

	sets := [numClasses]*RuleSet{Small: c.Small, Large: c.Large, NewEnergy: c.NewEnergy}
	for cl := Small; cl < numClasses; cl++ {
		key := cl.String()
		rs := sets[cl]
		if rs == nil {
			switch {
			case cl == Small:
				ps.add(key, "missing: the small rule set is required")
			case !c.FallbackToSmall:
				ps.add(key, "missing: add a [%s] rule set or set fallback_to_small = true", key)
			}
			continue
		}
		e.byClass[cl] = compileRules(key, rs, &ps)
	}
	if c.FallbackToSmall {
		for cl := Large; cl < numClasses; cl++ {
			if e.byClass[cl] == nil && sets[cl] == nil {
				e.byClass[cl] = e.byClass[Small]
			}
		}
	}

	if len(ps) > 0 {
		return nil, &ConfigError{Problems: ps}
	}
	return e, nil
}

// prices are the price fields shared by a rule set and a segment.
type prices struct {
	free                      bool
	flat                      int64
	firstMinutes, nextMinutes int
	firstPrice, nextPrice     int64
}

func (p prices) timedSet() bool {
	return p.firstMinutes != 0 || p.firstPrice != 0 || p.nextMinutes != 0 || p.nextPrice != 0
}

// checkPrices validates one set of prices and fills a segment's pricing.
func checkPrices(key string, p prices, s *seg, ps *problems) {
	checkMinutes(key+".first_minutes", p.firstMinutes, ps)
	checkMinutes(key+".next_minutes", p.nextMinutes, ps)
	checkFen(key+".first_price", p.firstPrice, ps)
	checkFen(key+".next_price", p.nextPrice, ps)
	checkFen(key+".flat", p.flat, ps)
	modes := 0
	if p.free {
		modes++
	}
	if p.flat != 0 {
		modes++
	}
	if p.timedSet() {
		modes++
	}
	switch {
	case modes == 0:
		ps.add(key, "no price: set flat, or next_minutes and next_price (and optionally first_minutes and first_price)")
		return
	case modes > 1:
		ps.add(key, "more than one way to price: set only one of free, flat, or first/next periods")
		return
	case p.free:
		s.kind = kindFree
	case p.flat != 0:
		s.kind = kindFlat
		s.flat = p.flat
	default:
		s.kind = kindTimed
		if p.nextMinutes <= 0 {
			ps.add(key+".next_minutes", "must be > 0: a stay longer than the first period needs a price")
		}
		if p.firstPrice != 0 && p.firstMinutes == 0 {
			ps.add(key+".first_price", "set without first_minutes")
		}
		s.first = int64(p.firstMinutes) * 60
		s.next = int64(p.nextMinutes) * 60
		s.firstPrice, s.nextPrice = p.firstPrice, p.nextPrice
	}
}

func checkMinutes(key string, m int, ps *problems) {
	if m < 0 || m > MaxMinutes {
		ps.add(key, "must be between 0 and %d minutes, got %d", MaxMinutes, m)
	}
}

func checkFen(key string, v int64, ps *problems) {
	if v < 0 || v > MaxFen {
		ps.add(key, "must be between 0 and %d fen, got %d", MaxFen, v)
	}
}

func compileRules(key string, rs *RuleSet, ps *problems) *rules {
	r := &rules{}
	checkMinutes(key+".free_minutes", rs.FreeMinutes, ps)
	checkFen(key+".daily_cap", rs.DailyCap, ps)
	r.free = int64(rs.FreeMinutes) * 60
	r.cap = rs.DailyCap
	own := prices{flat: rs.Flat, firstMinutes: rs.FirstMinutes, firstPrice: rs.FirstPrice,
		nextMinutes: rs.NextMinutes, nextPrice: rs.NextPrice}

	if len(rs.Segments) == 0 {
		r.whole = true
		r.segs = make([]seg, 1)
		r.segs[0].name = "all day"
		checkPrices(key, own, &r.segs[0], ps)
		return r
	}
	if own.flat != 0 || own.timedSet() {
		ps.add(key, "segments and the rule set's own flat/first/next prices are both set: put the prices in the segments")
	}
	if len(rs.Segments) > MaxSegments {
		ps.add(key+".segments", "at most %d segments, got %d", MaxSegments, len(rs.Segments))
		return r
	}
	ok := true
	for i, sg := range rs.Segments {
		sk := fmt.Sprintf("%s.segments[%d]", key, i)
		var s seg
		start, err1 := parseClock(sg.Start, false)
		if err1 != nil {
			ps.add(sk+".start", "%v", err1)
			ok = false
		}
		end, err2 := parseClock(sg.End, true)
		if err2 != nil {
			ps.add(sk+".end", "%v", err2)
			ok = false
		}
		s.start, s.end = start, end%minutesPerDay
		s.name = sg.Name
		if s.name == "" {
			s.name = strings.TrimSpace(sg.Start) + "-" + strings.TrimSpace(sg.End)
		}
		checkFen(sk+".cap", sg.Cap, ps)
		s.cap = sg.Cap
		checkPrices(sk, prices{free: sg.Free, flat: sg.Flat, firstMinutes: sg.FirstMinutes,
			firstPrice: sg.FirstPrice, nextMinutes: sg.NextMinutes, nextPrice: sg.NextPrice}, &s, ps)
		r.segs = append(r.segs, s)
	}
	if !ok {
		return r
	}
	// Coverage: sorted by start, each segment ends where the next begins
	// (the last wraps to the first) and the lengths sum to one day.
	sorted := slices.Clone(r.segs)
	slices.SortStableFunc(sorted, func(a, b seg) int { return a.start - b.start })
	total := 0
	for i, s := range sorted {
		next := sorted[(i+1)%len(sorted)]
		length := (s.end - s.start + minutesPerDay) % minutesPerDay
		if length == 0 {
			if len(sorted) > 1 {
				ps.add(key+".segments", "segment %s is empty or covers the whole day alongside others", s.name)
				return r
			}
			length = minutesPerDay
		}
		total += length
		if len(sorted) > 1 && s.end != next.start {
			if i+1 < len(sorted) && next.start == s.start {
				ps.add(key+".segments", "segments %s and %s start at the same time", s.name, next.name)
			} else {
				ps.add(key+".segments", "segment %s ends at %s but the next segment (%s) starts at %s: segments must cover the day without gap or overlap",
					s.name, fmtClock(s.end), next.name, fmtClock(next.start))
			}
			return r
		}
	}
	if total != minutesPerDay {
		ps.add(key+".segments", "segments cover %d minutes; they must cover the 24 h day exactly once", total)
		return r
	}
	r.segs = sorted
	return r
}

const minutesPerDay = 24 * 60

// parseClock parses "HH:MM" into minutes after midnight; "24:00" only as an
// end.
func parseClock(s string, end bool) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	v := hh*60 + mm
	if v > minutesPerDay || (v == minutesPerDay && !end) {
		return 0, fmt.Errorf("want a time of day 00:00–23:59 (24:00 as an end), got %q", s)
	}
	return v, nil
}

func fmtClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
