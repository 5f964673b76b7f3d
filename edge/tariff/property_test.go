package tariff

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// reference prices a stay the slow, obvious way: one period at a time,
// looking up the segment of each period's start by its wall clock, keeping
// what each cap window and each segment occurrence has charged in maps. It
// shares no code with Engine.price and serves to check its piecewise
// arithmetic.
func reference(cfg Config, rs *RuleSet, entry, exit time.Time) int64 {
	loc, _ := time.LoadLocation(cfg.Zone)
	entry, exit = entry.Truncate(time.Second), exit.Truncate(time.Second)
	if exit.Before(entry) {
		exit = entry
	}
	free := time.Duration(rs.FreeMinutes) * time.Minute
	if exit.Sub(entry) <= free {
		return 0
	}
	p := entry
	if cfg.DeductFreeMinutes {
		p = entry.Add(free)
	}
	segs := rs.Segments
	if len(segs) == 0 {
		segs = []Segment{{Start: "00:00", End: "00:00", Flat: rs.Flat, FirstMinutes: rs.FirstMinutes,
			FirstPrice: rs.FirstPrice, NextMinutes: rs.NextMinutes, NextPrice: rs.NextPrice}}
	}
	minute := func(s string) int { m, _ := parseClock(s, true); return m % minutesPerDay }
	winUsed := map[string]int64{}
	occUsed := map[string]int64{}
	firstPending := true
	var total int64
	for p.Before(exit) {
		lp := p.In(loc)
		mod := lp.Hour()*60 + lp.Minute()
		var sg Segment
		var occStart time.Time
		for _, s := range segs {
			st, en := minute(s.Start), minute(s.End)
			y, m, d := lp.Date()
			switch {
			case st < en && mod >= st && mod < en:
				occStart = time.Date(y, m, d, 0, st, 0, 0, loc)
			case st >= en && mod >= st:
				occStart = time.Date(y, m, d, 0, st, 0, 0, loc)
			case st >= en && mod < en:
				occStart = time.Date(y, m, d-1, 0, st, 0, 0, loc)
			default:
				continue
			}
			sg = s
			break
		}
		length := time.Duration(minute(sg.End)-minute(sg.Start)+minutesPerDay) % (minutesPerDay) * time.Minute
		if length == 0 {
			length = 24 * time.Hour
		}
		occEnd := time.Date(occStart.Year(), occStart.Month(), occStart.Day(), 0, minute(sg.Start), 0, 0, loc).Add(length)
		occKey := occStart.String()
		if len(rs.Segments) == 0 {
			occKey, occEnd = "visit", exit
		}
		var winKey string
		if cfg.CapMode == CapCalendarDay {
			winKey = lp.Format("2006-01-02")
		} else {
			winKey = time.Duration(p.Sub(entry) / (24 * time.Hour)).String()
		}
		var price int64
		var next time.Time
		switch {
		case sg.Free || sg.Flat > 0:
			price, next = sg.Flat, occEnd
		case firstPending && sg.FirstMinutes > 0:
			price, next = sg.FirstPrice, p.Add(time.Duration(sg.FirstMinutes)*time.Minute)
			firstPending = false
		default:
			price, next = sg.NextPrice, p.Add(time.Duration(sg.NextMinutes)*time.Minute)
			firstPending = false
		}
		if rs.DailyCap > 0 {
			price = min(price, rs.DailyCap-winUsed[winKey])
		}
		if sg.Cap > 0 {
			price = min(price, sg.Cap-occUsed[occKey])
		}
		winUsed[winKey] += price
		occUsed[occKey] += price
		total += price
		p = next
	}
	return total
}

// propertyConfigs are the tariffs the property test draws from.
func propertyConfigs() map[string]Config {
	out := map[string]Config{}
	out["shenzhen rolling"] = shenzhen()
	c := shenzhen()
	c.CapMode = CapCalendarDay
	out["shenzhen calendar"] = c
	c = shenzhen()
	c.DeductFreeMinutes = true
	out["shenzhen deducted"] = c
	c = shenzhen()
	c.Small = dayNight()
	c.Small.DailyCap = 3500
	out["day night capped"] = c
	c = shenzhen()
	c.Small = dayNight()
	c.Small.Segments[0] = Segment{Name: "night", Start: "20:00", End: "08:00", Flat: 500}
	c.CapMode = CapCalendarDay
	out["flat night calendar"] = c
	c = shenzhen()
	c.Small = &RuleSet{FreeMinutes: 30, DailyCap: 2500, Segments: []Segment{
		{Start: "07:00", End: "10:00", FirstMinutes: 45, FirstPrice: 300, NextMinutes: 20, NextPrice: 150, Cap: 900},
		{Start: "10:00", End: "17:30", NextMinutes: 60, NextPrice: 250},
		{Start: "17:30", End: "23:00", FirstMinutes: 120, FirstPrice: 400, NextMinutes: 45, NextPrice: 100, Cap: 700},
		{Start: "23:00", End: "07:00", Free: true},
	}}
	c.DeductFreeMinutes = true
	out["four segments deducted"] = c
	c = shenzhen()
	c.Zone = "America/New_York" // a zone with daylight saving
	c.CapMode = CapCalendarDay
	c.Small = dayNight()
	c.Small.DailyCap = 3500
	out["day night DST zone"] = c
	return out
}

// windows counts the cap windows in which a period of [entry, exit) can
// start.
func windows(cfg Config, entry, exit time.Time) int64 {
	if cfg.CapMode != CapCalendarDay {
		return int64((exit.Sub(entry) + 24*time.Hour - time.Second) / (24 * time.Hour))
	}
	loc, _ := time.LoadLocation(cfg.Zone)
	n := int64(0)
	y, m, d := entry.In(loc).Date()
	for time.Date(y, m, d+int(n), 0, 0, 0, 0, loc).Before(exit) {
		n++
	}
	return n
}

func TestQuoteProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240304, 1))
	base := at("2024-01-01 00:00")
	configs := propertyConfigs()
	for _, name := range slices.Sorted(maps.Keys(configs)) { // a fixed order: one seeded stream
		cfg := configs[name]
		t.Run(name, func(t *testing.T) {
			e := mustNew(t, cfg)
			for range 400 {
				entry := base.Add(time.Duration(rng.Int64N(366*86400)) * time.Second)
				var stay time.Duration
				switch rng.IntN(3) {
				case 0:
					stay = time.Duration(rng.Int64N(3*3600)) * time.Second
				case 1:
					stay = time.Duration(rng.Int64N(2*86400)) * time.Second
				default:
					stay = time.Duration(rng.Int64N(12*86400)) * time.Second
				}
				exit := entry.Add(stay)
				paid := rng.Int64N(20000)
				q, err := e.Quote(Query{Class: Small, Entry: entry, Exit: exit, Paid: paid})
				if err != nil {
					t.Fatal(err)
				}
				if want := reference(cfg, cfg.Small, entry, exit); q.Total != want {
					t.Errorf("Quote(%v → %v).Total = %d; want %d (reference)", entry, exit, q.Total, want)
					for _, l := range q.Breakdown {
						t.Logf("  %s", l)
					}
				}
				if q.Due < 0 || q.Due != max(0, q.Total-paid) {
					t.Errorf("Quote(%v → %v, paid %d).Due = %d; want max(0, %d − %d)", entry, exit, paid, q.Due, q.Total, paid)
				}
				later := exit.Add(time.Duration(rng.Int64N(7200)) * time.Second)
				q2, err := e.Quote(Query{Class: Small, Entry: entry, Exit: later})
				if err != nil {
					t.Fatal(err)
				}
				if q2.Total < q.Total {
					t.Errorf("Total not monotonic: Quote(exit %v) = %d > Quote(exit %v) = %d", exit, q.Total, later, q2.Total)
				}
				if c := cfg.Small.DailyCap; c > 0 {
					if n := windows(cfg, entry, exit); q.Total > n*c {
						t.Errorf("Quote(%v → %v).Total = %d > %d windows × cap %d", entry, exit, q.Total, n, c)
					}
				}
			}
		})
	}
}
