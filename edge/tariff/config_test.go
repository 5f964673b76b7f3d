package tariff

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want []string // keys of the problems, in order; nil = valid
	}{
		{"shenzhen", func(c *Config) {}, nil},
		{"defaults", func(c *Config) { c.Zone, c.ReservedOutTime, c.CapMode = "", 0, "" }, nil},
		{"day night", func(c *Config) { c.Small = dayNight() }, nil},
		{"single full-day segment", func(c *Config) {
			c.Small = &RuleSet{Segments: []Segment{{Start: "00:00", End: "24:00", Flat: 100}}}
		}, nil},
		{"unknown zone", func(c *Config) { c.Zone = "Mars/Olympus" }, []string{"zone"}},
		{"local zone", func(c *Config) { c.Zone = "Local" }, []string{"zone"}},
		{"negative grace", func(c *Config) { c.ReservedOutTime = Duration(-time.Minute) }, []string{"reserved_out_time"}},
		{"huge grace", func(c *Config) { c.ReservedOutTime = Duration(25 * time.Hour) }, []string{"reserved_out_time"}},
		{"cap mode", func(c *Config) { c.CapMode = "weekly" }, []string{"cap_mode"}},
		{"no small", func(c *Config) { c.Small = nil }, []string{"small"}},
		{"no large, no fallback", func(c *Config) { c.Large = nil }, []string{"large"}},
		{"no large, fallback", func(c *Config) { c.Large, c.FallbackToSmall = nil, true }, nil},
		{"no price", func(c *Config) { c.Small = &RuleSet{FreeMinutes: 15} }, []string{"small"}},
		{"flat and periods", func(c *Config) { c.Small.Flat = 1000 }, []string{"small"}},
		{"first without next", func(c *Config) {
			c.Small = &RuleSet{FirstMinutes: 60, FirstPrice: 500}
		}, []string{"small.next_minutes"}},
		{"first price without minutes", func(c *Config) { c.Small.FirstMinutes = 0 }, []string{"small.first_price"}},
		{"negative price", func(c *Config) { c.Large.NextPrice = -1 }, []string{"large.next_price"}},
		{"price too big", func(c *Config) { c.Large.FirstPrice = MaxFen + 1 }, []string{"large.first_price"}},
		{"negative free", func(c *Config) { c.NewEnergy.FreeMinutes = -5 }, []string{"new_energy.free_minutes"}},
		{"negative cap", func(c *Config) { c.NewEnergy.DailyCap = -5 }, []string{"new_energy.daily_cap"}},
		{"every problem listed", func(c *Config) {
			c.Zone, c.CapMode = "Nowhere", "x"
			c.Large.NextPrice = -1
			c.NewEnergy = nil
		}, []string{"zone", "cap_mode", "large.next_price", "new_energy"}},
		{"empty military prefix", func(c *Config) { c.MilitaryPrefixes = []string{"军", " "} }, []string{"military_prefixes[1]"}},
		{"segments and own prices", func(c *Config) {
			c.Small = dayNight()
			c.Small.NextMinutes, c.Small.NextPrice = 30, 200
		}, []string{"small"}},
		{"segment gap", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[1].End = "19:00"
		}, []string{"small.segments"}},
		{"segment overlap", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[1].End = "21:00"
		}, []string{"small.segments"}},
		{"segments same start", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[1].Start = "20:00"
		}, []string{"small.segments"}},
		{"one segment leaves a gap", func(c *Config) {
			c.Small = &RuleSet{Segments: []Segment{{Start: "08:00", End: "20:00", Flat: 100}}}
		}, []string{"small.segments"}},
		{"three segments covering twice", func(c *Config) {
			c.Small = &RuleSet{Segments: []Segment{
				{Start: "00:00", End: "12:00", Flat: 1}, {Start: "12:00", End: "00:00", Flat: 1}, {Start: "06:00", End: "06:00", Flat: 1},
			}}
		}, []string{"small.segments"}},
		{"bad clock", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[0].Start = "8am"
			c.Small.Segments[1].End = "24:01"
		}, []string{"small.segments[0].start", "small.segments[1].end"}},
		{"24:00 as a start", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[0].Start = "24:00"
		}, []string{"small.segments[0].start"}},
		{"segment without price", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[0] = Segment{Start: "20:00", End: "08:00", Cap: 100}
		}, []string{"small.segments[0]"}},
		{"segment free and flat", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[0] = Segment{Start: "20:00", End: "08:00", Free: true, Flat: 100}
		}, []string{"small.segments[0]"}},
		{"segment bad period", func(c *Config) {
			c.Small = dayNight()
			c.Small.Segments[1].NextMinutes = 0
		}, []string{"small.segments[1].next_minutes"}},
		{"too many segments", func(c *Config) {
			c.Small = &RuleSet{}
			for h := range MaxSegments + 1 {
				c.Small.Segments = append(c.Small.Segments, Segment{Start: fmtClock(h * 50), End: fmtClock((h + 1) * 50), Flat: 1})
			}
		}, []string{"small.segments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := shenzhen()
			tt.edit(&cfg)
			err := cfg.Validate()
			_, errNew := New(cfg)
			if (err == nil) != (errNew == nil) {
				t.Fatalf("Validate() = %v but New() error = %v", err, errNew)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate() = %v; want an error wrapping ErrConfig", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %T; want *ConfigError", err)
			}
			var keys []string
			for _, p := range ce.Problems {
				keys = append(keys, p.Key)
				if !strings.Contains(err.Error(), p.Key+": ") {
					t.Errorf("Error() = %q; want it to name %q", err, p.Key)
				}
			}
			if strings.Join(keys, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Validate() problems = %v; want keys %v (%v)", keys, tt.want, err)
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"15m", 15 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"900", 900 * time.Second, false},
		{" 1800 ", 30 * time.Minute, false},
		{"0", 0, false},
		{"fifteen", 0, true},
		{"", 0, true},
		{"99999999999999", 0, true},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr || (err == nil && time.Duration(d) != tt.want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, error %v", tt.in, time.Duration(d), err, tt.want, tt.wantErr)
		}
		if err == nil {
			b, _ := d.MarshalText()
			var back Duration
			if err := back.UnmarshalText(b); err != nil || back != d {
				t.Errorf("UnmarshalText(MarshalText(%v)) = %v, %v; want %v", time.Duration(d), time.Duration(back), err, time.Duration(d))
			}
		}
	}
}

func FuzzDurationText(f *testing.F) {
	for _, s := range []string{"15m", "1h30m", "900", " 1800 ", "0", "fifteen", "", "99999999999999", "-5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Duration
		if err := d.UnmarshalText([]byte(s)); err != nil {
			return
		}
		b, err := d.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%v): %v", time.Duration(d), err)
		}
		var back Duration
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Errorf("UnmarshalText(MarshalText(%v)) = %v, %v", time.Duration(d), time.Duration(back), err)
		}
	})
}

// FuzzConfig builds configurations from fuzzed fields: Validate must not
// panic, and an engine it accepts must price any stay with Due ≥ 0 and a
// breakdown that sums to Total.
func FuzzConfig(f *testing.F) {
	f.Add("20:00", "08:00", "08:00", "20:00", 15, 60, int64(500), 30, int64(200), int64(3000), int64(0), int64(4000), false, int64(90000))
	f.Add("00:00", "24:00", "00:00", "00:00", 0, 0, int64(0), 60, int64(100), int64(0), int64(1000), int64(0), true, int64(3600))
	f.Add("8am", "20:00", "20:00", "08:00", -1, 60, int64(-5), 0, int64(200), int64(-1), int64(0), int64(0), false, int64(1))
	f.Add("07:30", "19:45", "19:45", "07:30", 30, 1, int64(1), 1, int64(MaxFen), int64(0), int64(0), int64(MaxFen), true, int64(366*86400))
	f.Fuzz(func(t *testing.T, s1, e1, s2, e2 string, free, firstMin int, firstPrice int64, nextMin int, nextPrice, segCap, flat, dailyCap int64, calendar bool, stay int64) {
		cfg := shenzhen()
		if calendar {
			cfg.CapMode = CapCalendarDay
		}
		cfg.Small = &RuleSet{FreeMinutes: free, DailyCap: dailyCap, Segments: []Segment{
			{Start: s1, End: e1, FirstMinutes: firstMin, FirstPrice: firstPrice, NextMinutes: nextMin, NextPrice: nextPrice, Cap: segCap},
			{Start: s2, End: e2, Flat: flat, Free: flat == 0},
		}}
		e, err := New(cfg)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("New error %v does not wrap ErrConfig", err)
			}
			return
		}
		entry := at("2024-03-04 09:00")
		q, err := e.Quote(Query{Class: Small, Entry: entry, Exit: entry.Add(time.Duration(stay%(400*86400)) * time.Second)})
		if err != nil {
			t.Fatalf("Quote: %v", err)
		}
		var sum int64
		for _, l := range q.Breakdown {
			sum += l.Fen
		}
		if q.Due < 0 || q.Total < 0 || sum != q.Total {
			t.Errorf("Quote = total %d due %d, breakdown sum %d", q.Total, q.Due, sum)
		}
	})
}
