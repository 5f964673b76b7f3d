package tariff

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at parses "2006-01-02 15:04:05" (seconds optional) in Asia/Shanghai.
func at(s string) time.Time {
	layout := "2006-01-02 15:04:05"
	if len(s) == len("2006-01-02 15:04") {
		layout = "2006-01-02 15:04"
	}
	t, err := time.ParseInLocation(layout, s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// shenzhen is the Go value of testdata/shenzhen.toml: small cars 15 free
// minutes, first hour 500, each further 30 min 200, cap 4000 per 24 h;
// large double; new-energy 2 h free.
func shenzhen() Config {
	c := Typical()
	c.CapMode = CapRolling24h
	c.MilitaryFree = true
	return c
}

// dayNight is a small-car rule set with a day segment (first hour 500,
// then 200 per 30 min, at most 3000 a day) and a night segment (100 per
// hour, at most 1000 a night).
func dayNight() *RuleSet {
	return &RuleSet{FreeMinutes: 15, Segments: []Segment{
		{Name: "night", Start: "20:00", End: "08:00", NextMinutes: 60, NextPrice: 100, Cap: 1000},
		{Name: "day", Start: "08:00", End: "20:00", FirstMinutes: 60, FirstPrice: 500, NextMinutes: 30, NextPrice: 200, Cap: 3000},
	}}
}

func mustNew(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

type stay struct {
	name        string
	class       Class
	entry, exit string
	want        int64 // Total
}

func runStays(t *testing.T, e *Engine, tests []stay) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Query{Class: tt.class, Entry: at(tt.entry), Exit: at(tt.exit)}
			got, err := e.Quote(q)
			if err != nil {
				t.Fatalf("Quote(%s → %s) error: %v", tt.entry, tt.exit, err)
			}
			if got.Total != tt.want || got.Due != tt.want {
				t.Errorf("Quote(%v %s → %s) = total %d due %d; want %d", tt.class, tt.entry, tt.exit, got.Total, got.Due, tt.want)
				for _, l := range got.Breakdown {
					t.Logf("  %s", l)
				}
			}
			var sum int64
			for _, l := range got.Breakdown {
				sum += l.Fen
			}
			if sum != got.Total {
				t.Errorf("breakdown sums to %d; want Total %d", sum, got.Total)
			}
		})
	}
}

func TestQuoteShenzhen(t *testing.T) {
	e := mustNew(t, shenzhen())
	const d = "2024-03-04 "
	runStays(t, e, []stay{
		{"zero", Small, d + "09:00", d + "09:00", 0},
		{"exactly free", Small, d + "09:00", d + "09:15", 0},                 // 15 min ≤ 15 free
		{"free plus 1s", Small, d + "09:00", d + "09:15:01", 500},            // > free, not deducted: first hour
		{"first hour", Small, d + "09:00", d + "10:00", 500},                 // 500
		{"first hour plus 1s", Small, d + "09:00", d + "10:00:01", 700},      // 500 + 1×200
		{"90 min", Small, d + "09:00", d + "10:30", 700},                     // 500 + 1×200
		{"90 min plus 1s", Small, d + "09:00", d + "10:30:01", 900},          // 500 + 2×200
		{"5 h", Small, d + "09:00", d + "14:00", 2100},                       // 500 + 8×200
		{"9 h", Small, d + "09:00", d + "18:00", 3700},                       // 500 + 16×200
		{"9.5 h", Small, d + "09:00", d + "18:30", 3900},                     // 500 + 17×200
		{"10 h capped", Small, d + "09:00", d + "19:00", 4000},               // 500 + 18×200 = 4100 → 4000
		{"24 h", Small, d + "09:00", "2024-03-05 09:00", 4000},               // 500 + 46×200 = 9700 → 4000
		{"24 h plus 1s", Small, d + "09:00", "2024-03-05 09:00:01", 4200},    // window 2: 1×200
		{"25 h", Small, d + "09:00", "2024-03-05 10:00", 4400},               // 4000 + 2×200
		{"48 h", Small, d + "09:00", "2024-03-06 09:00", 8000},               // 2 × 4000
		{"74 h", Small, d + "09:00", "2024-03-07 11:00", 12800},              // 3 × 4000 + 4×200
		{"across midnight", Small, d + "23:30", "2024-03-05 01:00", 700},     // 500 + 1×200, no segments
		{"large 2 h", Large, d + "09:00", d + "11:00", 1800},                 // 1000 + 2×400
		{"large 24 h", Large, d + "09:00", "2024-03-05 09:00", 8000},         // capped 8000
		{"new energy 2 h", NewEnergy, d + "09:00", d + "11:00", 0},           // 120 min ≤ 120 free
		{"new energy 2 h 1 s", NewEnergy, d + "09:00", d + "11:00:01", 1100}, // not deducted: 500 + ceil(60m01s/30m)=3 × 200
		{"new energy 3 h", NewEnergy, d + "09:00", d + "12:00", 1300},        // not deducted: 500 + 4×200
	})
}

func TestQuoteFreeDeducted(t *testing.T) {
	cfg := shenzhen()
	const d = "2024-03-04 "
	tests := []struct {
		name       string
		exit       string
		deducted   int64
		undeducted int64
	}{
		{"exactly free", d + "09:15", 0, 0},
		{"free plus 1s", d + "09:15:01", 500, 500},   // deducted: 1 s billed → first hour; not: first hour
		{"75 min", d + "10:15", 500, 700},            // deducted: 60 min → 500; not: 500 + ceil(15/30)×200
		{"75 min plus 1s", d + "10:15:01", 700, 700}, // deducted: 60m01s → 500+200; not: 500 + ceil(15m01s/30)×200
		{"100 min", d + "10:40", 700, 900},           // deducted: 85 min → 500 + 1×200; not: 500 + ceil(40/30)=2×200
		// 09:00 → 09:15 next day. Deducted: billing from 09:15, periods start
		// at 10:15 + k×30 min, the last at 08:45 (window 1, which runs to
		// 09:00): 500 + 46×200 → 4000. Not deducted: a period starts at 09:00
		// next day, in window 2: 4000 + 200.
		{"24 h 15 min", "2024-03-05 09:15", 4000, 4200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, deduct := range []bool{true, false} {
				cfg.DeductFreeMinutes = deduct
				e := mustNew(t, cfg)
				got, err := e.Quote(Query{Class: Small, Entry: at(d + "09:00"), Exit: at(tt.exit)})
				if err != nil {
					t.Fatal(err)
				}
				want := tt.undeducted
				if deduct {
					want = tt.deducted
				}
				if got.Total != want {
					t.Errorf("deduct=%v: Quote(09:00 → %s).Total = %d; want %d", deduct, tt.exit, got.Total, want)
				}
			}
		})
	}
}

func TestQuoteCapModes(t *testing.T) {
	rolling := mustNew(t, shenzhen())
	cfg := shenzhen()
	cfg.CapMode = CapCalendarDay
	calendar := mustNew(t, cfg)
	tests := []struct {
		name              string
		entry, exit       string
		rolling, calendar int64
	}{
		// 20:00 → 10:00 next day, 14 h. Rolling: 500 + 26×200 = 5700 → 4000.
		// Calendar: 3/4 holds 500 + 6×200 = 1700; 3/5 holds 00:00–10:00,
		// 20×200 = 4000 → 4000 (exactly the cap). 1700 + 4000.
		{"evening to morning", "2024-03-04 20:00", "2024-03-05 10:00", 4000, 5700},
		// 23:40 → 01:00: the first hour 23:40–00:40 belongs to 3/4 (where it
		// starts), 00:40–01:10 to 3/5: 500 + 200 both ways.
		{"period straddles midnight", "2024-03-04 23:40", "2024-03-05 01:00", 700, 700},
		// 09:00 → 3 days later 09:00 (72 h). Rolling: 3 × 4000. Calendar:
		// 3/4 4000, 3/5 4000, 3/6 4000, 3/7 00:00–09:00 = 18×200 = 3600.
		{"three days", "2024-03-04 09:00", "2024-03-07 09:00", 12000, 15600},
		// 22:00 → 23:59 the next day. Rolling window 1 22:00–22:00 4000,
		// window 2 22:00–23:59 4×200 = 800. Calendar: 3/4 500 + 2×200 = 900,
		// 3/5 whole day 4000.
		{"two calendar days", "2024-03-04 22:00", "2024-03-05 23:59", 4800, 4900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				mode string
				e    *Engine
				want int64
			}{{"rolling24h", rolling, tt.rolling}, {"calendar_day", calendar, tt.calendar}} {
				got, err := c.e.Quote(Query{Class: Small, Entry: at(tt.entry), Exit: at(tt.exit)})
				if err != nil {
					t.Fatal(err)
				}
				if got.Total != c.want {
					t.Errorf("%s: Quote(%s → %s).Total = %d; want %d", c.mode, tt.entry, tt.exit, got.Total, c.want)
					for _, l := range got.Breakdown {
						t.Logf("  %s", l)
					}
				}
			}
		})
	}
}

func TestQuoteSegments(t *testing.T) {
	cfg := shenzhen()
	cfg.Small = dayNight()
	e := mustNew(t, cfg)

	capped := shenzhen()
	capped.Small = dayNight()
	capped.Small.DailyCap = 3500
	ec := mustNew(t, capped)

	flatNight := shenzhen()
	flatNight.Small = dayNight()
	flatNight.Small.Segments[0] = Segment{Name: "night", Start: "20:00", End: "08:00", Flat: 500}
	ef := mustNew(t, flatNight)

	freeNight := shenzhen()
	freeNight.Small = dayNight()
	freeNight.Small.Segments[0] = Segment{Name: "night", Start: "20:00", End: "08:00", Free: true}
	efree := mustNew(t, freeNight)

	perDay := shenzhen()
	perDay.Small = &RuleSet{FreeMinutes: 15, Segments: []Segment{{Start: "00:00", End: "24:00", Flat: 1000}}}
	eday := mustNew(t, perDay)

	const d = "2024-03-04 "
	tests := []struct {
		name        string
		e           *Engine
		entry, exit string
		want        int64
	}{
		// Day first hour 19:00–20:00 500; night 20:00–21:30: ceil(90/60)=2 × 100.
		{"day into night", e, d + "19:00", d + "21:30", 700},
		// First hour 19:10–20:10 starts in day: 500; 20:10–21:10 night: 100.
		{"period straddles into night", e, d + "19:10", d + "20:45", 600},
		// 07:30 in night (no first period there): 07:30–08:30 at the night
		// rate where it starts, 100; 08:30–09:00 day next period 200 (the
		// stay's first timed period is spent).
		{"period straddles into day", e, d + "07:30", d + "09:00", 300},
		// Exactly at the boundary: a period starting at 20:00 is night.
		{"starts on the boundary", e, d + "20:00", d + "21:00", 100},
		// 12 night hours: 12 × 100 = 1200 → night cap 1000.
		{"night cap across midnight", e, d + "20:00", "2024-03-05 08:00", 1000},
		// Day 08:00–20:00: 500 + 22×200 = 4900 → 3000; night 1000; next day
		// 24×200 → 3000, night 1000: 8000 (no daily cap).
		{"two days segment caps", e, d + "08:00", "2024-03-06 08:00", 8000},
		// Same with daily cap 3500: each 24 h window day 3000 + night 500.
		{"two days daily cap", ec, d + "08:00", "2024-03-06 08:00", 7000},
		// Day first hour 500; night flat 500 once; 08:00–09:00 2×200.
		{"flat night", ef, d + "19:00", "2024-03-05 09:00", 1400},
		// Inside one night: flat 500.
		{"flat night short", ef, d + "22:00", d + "23:00", 500},
		// 07:00–08:00 flat 500; at 08:00 the stay's first timed period:
		// first hour 500.
		{"flat does not spend the first period", ef, d + "07:00", d + "09:00", 1000},
		// Two nights: 500 + 3000 (day capped: 500+22×200) + 500 + ... →
		// 20:00 3/4 to 20:00 3/5 then into night 3/5: 500 + 3000 + 500.
		{"flat each night", ef, d + "20:00", "2024-03-05 21:00", 4000},
		{"free night", efree, d + "19:00", d + "21:00", 500},
		{"free night long", efree, d + "21:00", "2024-03-05 07:59", 0},
		// A single 00:00–24:00 flat segment: once per calendar day.
		{"flat per day", eday, d + "10:00", "2024-03-05 10:00", 2000},
		{"flat per day short", eday, d + "10:00", d + "12:00", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.e.Quote(Query{Class: Small, Entry: at(tt.entry), Exit: at(tt.exit)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != tt.want {
				t.Errorf("Quote(%s → %s).Total = %d; want %d", tt.entry, tt.exit, got.Total, tt.want)
				for _, l := range got.Breakdown {
					t.Logf("  %s", l)
				}
			}
		})
	}
}

func TestQuoteFlatPerVisit(t *testing.T) {
	cfg := shenzhen()
	cfg.Small = &RuleSet{FreeMinutes: 15, Flat: 1000}
	e := mustNew(t, cfg)
	cfg.Small = &RuleSet{FreeMinutes: 15, Flat: 1000, DailyCap: 800}
	ec := mustNew(t, cfg)
	const d = "2024-03-04 "
	runStays(t, e, []stay{
		{"free", Small, d + "09:00", d + "09:10", 0},
		{"3 h", Small, d + "09:00", d + "12:00", 1000},
		{"3 days", Small, d + "09:00", "2024-03-07 09:00", 1000}, // per visit, not per day
	})
	runStays(t, ec, []stay{
		{"capped", Small, d + "09:00", d + "12:00", 800},
	})
}

func TestQuoteFreeVehicles(t *testing.T) {
	e := mustNew(t, shenzhen())
	cfg := shenzhen()
	cfg.MilitaryFree = false
	paying := mustNew(t, cfg)
	entry, exit := at("2024-03-04 09:00"), at("2024-03-04 12:00") // 500 + 4×200 = 1300
	tests := []struct {
		name       string
		e          *Engine
		q          Query
		wantTotal  int64
		wantReason Reason
	}{
		{"vip", e, Query{Class: Small, Entry: entry, Exit: exit, VIP: true}, 0, ReasonVIP},
		{"military free", e, Query{Class: Small, Entry: entry, Exit: exit, Military: true}, 0, ReasonMilitary},
		{"military not free", paying, Query{Class: Small, Entry: entry, Exit: exit, Military: true}, 1300, ReasonTariff},
		{"plain", e, Query{Class: Small, Entry: entry, Exit: exit}, 1300, ReasonTariff},
		{"free period", e, Query{Class: Small, Entry: entry, Exit: entry.Add(10 * time.Minute)}, 0, ReasonFreePeriod},
		{"capped", e, Query{Class: Small, Entry: entry, Exit: entry.Add(20 * time.Hour)}, 4000, ReasonCapped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.e.Quote(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != tt.wantTotal || got.Due != tt.wantTotal || got.Reason != tt.wantReason {
				t.Errorf("Quote = total %d due %d reason %q; want %d, %d, %q", got.Total, got.Due, got.Reason, tt.wantTotal, tt.wantTotal, tt.wantReason)
			}
		})
	}
}

// TestQuoteGrace documents the prepaid rule: within reserved_out_time of
// the last payment nothing is due; after it Due = Total(entry, exit) − Paid,
// which is exactly the periods started after what was paid for.
func TestQuoteGrace(t *testing.T) {
	e := mustNew(t, shenzhen())
	entry := at("2024-03-04 09:00")
	tests := []struct {
		name       string
		paid       int64
		payAt      string
		exit       string
		quotedAt   string // the quote the payment answered; "" none
		wantTotal  int64
		wantDue    int64
		wantReason Reason
	}{
		// Paid 900 at 11:00 (500 + 2×200, periods end 11:00).
		{"within grace", 900, "11:00", "11:10", "", 1100, 0, ReasonGrace},
		{"grace end inclusive", 900, "11:00", "11:15", "", 1100, 0, ReasonGrace},
		// 11:15:01: periods from 11:00 (11:00–11:30) are extra: 1100 − 900.
		// Pricing from the payment instead would charge a new first hour.
		{"after grace", 900, "11:00", "11:15:01", "", 1100, 200, ReasonTariff},
		{"after grace, two periods", 900, "11:00", "11:31", "", 1300, 400, ReasonTariff},
		// Paid at 10:50 for periods up to 11:00; the period 11:00–11:30
		// starts inside the grace (until 11:05) and is due after it.
		{"period started in grace", 900, "10:50", "11:06", "", 1100, 200, ReasonTariff},
		// Paid the cap at 21:00; leaving at 23:00 costs nothing more: the
		// 24 h window is full. No fen twice.
		{"cap already paid", 4000, "21:00", "23:00", "", 4000, 0, ReasonPaid},
		// The next window (from 09:00 next day) starts a new cap: 1 × 200.
		{"cap paid, next window", 4000, "21:00", "2024-03-05 09:30", "", 4200, 200, ReasonCapped},
		// Over-payment is not refunded here: Due floors at 0.
		{"overpaid", 5000, "10:00", "12:00", "", 1300, 0, ReasonPaid},
		// Negative Paid counts as 0.
		{"negative paid", -100, "", "12:00", "", 1300, 1300, ReasonTariff},
		// A part payment buys no grace: 500 paid at 11:00 when 900 was
		// due (even a quote 15 min old said 900); at 11:10 the stay costs
		// 1100, 600 remain.
		{"part payment, no grace", 500, "11:00", "11:10", "", 1100, 600, ReasonTariff},
		// The quoted 900 (at 10:55), paid at 11:02 after a new period began
		// at 11:00: the quote was valid, so the grace holds.
		{"quote paid as a period began", 900, "11:02", "11:10", "10:55", 1100, 0, ReasonGrace},
		// Without the quote it answered, the payment settles the stay up
		// to 11:02 only: 1100 was due then, 900 is a part payment.
		{"period began, no quote known", 900, "11:02", "11:10", "", 1100, 200, ReasonTariff},
		// A quote older than reserved_out_time is no longer valid.
		{"stale quote ignored", 900, "11:02", "11:10", "10:40", 1100, 200, ReasonTariff},
		// A part payment whose look-back falls in the free period buys no
		// grace (issue 11 item 8): 100 of 500 at 09:20, nothing settled.
		{"part payment, look-back in free period", 100, "09:20", "09:25", "", 500, 400, ReasonTariff},
		{"one fen, look-back in free period", 1, "09:20", "09:25", "", 500, 499, ReasonTariff},
		{"part payment of a quote made in the free period", 100, "09:20", "09:25", "09:10", 500, 400, ReasonTariff},
		// A 0-fen order settled within the free period (nothing was due)
		// still gives the grace: leaving at 09:20 is free.
		{"settled when nothing was due", 0, "09:10", "09:20", "", 500, 0, ReasonGrace},
		// Exit before the payment (clock jumped): within grace.
		{"exit before payment", 900, "11:00", "10:59", "", 900, 0, ReasonGrace}, // 500 + ceil(59/30)=2×200
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exit := tt.exit
			if len(exit) == 5 || len(exit) == 8 {
				exit = "2024-03-04 " + exit
			}
			q := Query{Class: Small, Entry: entry, Exit: at(exit), Paid: tt.paid}
			if tt.payAt != "" {
				q.LastPayTime = at("2024-03-04 " + tt.payAt)
			}
			if tt.quotedAt != "" {
				q.LastQuotedAt = at("2024-03-04 " + tt.quotedAt)
			}
			got, err := e.Quote(q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != tt.wantTotal || got.Due != tt.wantDue || got.Reason != tt.wantReason || got.Paid != tt.paid {
				t.Errorf("Quote(paid %d at %s, exit %s) = total %d due %d paid %d %q; want %d, %d, %d, %q",
					tt.paid, tt.payAt, exit, got.Total, got.Due, got.Paid, got.Reason, tt.wantTotal, tt.wantDue, tt.paid, tt.wantReason)
			}
		})
	}
}

func TestQuoteOddStays(t *testing.T) {
	e := mustNew(t, shenzhen())
	cfg := shenzhen()
	cfg.Small.FreeMinutes = 0
	noFree := mustNew(t, cfg)
	entry := at("2024-03-04 09:00")

	t.Run("exit before entry", func(t *testing.T) {
		for _, eng := range []*Engine{e, noFree} {
			got, err := eng.Quote(Query{Class: Small, Entry: entry, Exit: entry.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Duration != 0 || got.Total != 0 || got.Due != 0 {
				t.Errorf("Quote(exit 1 h before entry) = duration %v total %d due %d; want 0, 0, 0", got.Duration, got.Total, got.Due)
			}
		}
	})
	t.Run("no free period one second", func(t *testing.T) {
		got, err := noFree.Quote(Query{Class: Small, Entry: entry, Exit: entry.Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != 500 {
			t.Errorf("Quote(1 s).Total = %d; want 500", got.Total)
		}
	})
	t.Run("longer than MaxStay", func(t *testing.T) {
		got, err := e.Quote(Query{Class: Small, Entry: entry, Exit: entry.Add(400 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		// 366 rolling windows, each capped at 4000.
		if !got.Clamped || got.Total != 366*4000 || got.Duration != MaxStay {
			t.Errorf("Quote(400 days) = clamped %v total %d duration %v; want true, %d, %v", got.Clamped, got.Total, got.Duration, 366*4000, MaxStay)
		}
		zero, err := e.Quote(Query{Class: Small, Exit: entry}) // a record with no entry time
		if err != nil {
			t.Fatal(err)
		}
		if !zero.Clamped || zero.Total != 366*4000 {
			t.Errorf("Quote(zero entry) = clamped %v total %d; want true, %d", zero.Clamped, zero.Total, 366*4000)
		}
	})
	t.Run("sub-second times", func(t *testing.T) {
		got, err := e.Quote(Query{Class: Small, Entry: entry.Add(300 * time.Millisecond), Exit: entry.Add(15*time.Minute + 900*time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != 0 || got.Duration != 15*time.Minute {
			t.Errorf("Quote(15 min in whole seconds) = total %d duration %v; want 0, 15m", got.Total, got.Duration)
		}
	})
}

func TestQuoteErrors(t *testing.T) {
	e := mustNew(t, shenzhen())
	now := at("2024-03-04 09:00")
	if _, err := e.Quote(Query{Class: Class(7), Entry: now, Exit: now}); !errors.Is(err, ErrClass) {
		t.Errorf("Quote(class 7) error = %v; want ErrClass", err)
	}
	if _, err := e.Quote(Query{Class: Class(-1), Entry: now, Exit: now}); !errors.Is(err, ErrClass) {
		t.Errorf("Quote(class -1) error = %v; want ErrClass", err)
	}
	var zero Engine
	if _, err := zero.Quote(Query{Class: Small, Entry: now, Exit: now}); !errors.Is(err, ErrConfig) {
		t.Errorf("zero Engine Quote error = %v; want ErrConfig", err)
	}
	var nilEngine *Engine
	if _, err := nilEngine.Quote(Query{Class: Small, Entry: now, Exit: now}); !errors.Is(err, ErrConfig) {
		t.Errorf("nil Engine Quote error = %v; want ErrConfig", err)
	}
}

func TestFallbackToSmall(t *testing.T) {
	cfg := shenzhen()
	cfg.Large, cfg.NewEnergy = nil, nil
	cfg.FallbackToSmall = true
	e := mustNew(t, cfg)
	for _, c := range []Class{Large, NewEnergy} {
		got, err := e.Quote(Query{Class: c, Entry: at("2024-03-04 09:00"), Exit: at("2024-03-04 11:00")})
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != 900 { // Small's: 500 + 2×200
			t.Errorf("Quote(%v, 2 h).Total = %d; want Small's 900", c, got.Total)
		}
	}
}

func TestBreakdownString(t *testing.T) {
	cfg := shenzhen()
	cfg.Small = dayNight()
	e := mustNew(t, cfg)
	got, err := e.Quote(Query{Class: Small, Entry: at("2024-03-04 19:10"), Exit: at("2024-03-04 20:45")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2024-03-04 19:10 – 2024-03-04 20:10 day 1 day: first 1 × 60 min × 500 fen = 500 fen",
		"2024-03-04 20:10 – 2024-03-04 21:10 day 1 night: periods 1 × 60 min × 100 fen = 100 fen",
	}
	if len(got.Breakdown) != len(want) {
		t.Fatalf("Breakdown has %d lines; want %d: %v", len(got.Breakdown), len(want), got.Breakdown)
	}
	for i, l := range got.Breakdown {
		if s := l.String(); s != want[i] {
			t.Errorf("Breakdown[%d] = %q; want %q", i, s, want[i])
		}
		if !strings.Contains(l.String(), "fen") {
			t.Errorf("Breakdown[%d] = %q; want fen", i, l)
		}
	}
}
