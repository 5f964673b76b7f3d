// Package tariff prices a parking stay: given a vehicle class, an entry time
// and an exit (or query) time it returns the fee for the whole stay in
// integer fen and what is still due after earlier payments. It is what the
// exit lane and the CMB calc handler ask "how much?"; it holds no records,
// reads no clock and does no I/O — callers pass every time in.
//
// Operators configure it without code: a Config (decoded from TOML by the
// caller) holds one RuleSet per vehicle class (small, large, new-energy)
// with a free period, either a per-visit flat price or a first period and
// further periods, a daily cap, and optional day/night segments with their
// own rates and caps. New validates the whole configuration and lists every
// problem by key; an Engine never guesses: anything it cannot price is
// ErrConfig (calc status 5).
//
// How a stay is priced:
//
//   - A stay of at most free_minutes is free. A longer stay is charged from
//     entry, or from entry+free_minutes when deduct_free_minutes is set. The
//     free period applies once per stay.
//   - The period clock runs from where charging starts and never restarts:
//     the stay's first timed period is priced with the first_minutes /
//     first_price of the segment it starts in, every further period with the
//     next_minutes / next_price of the segment IT STARTS IN, even when it
//     straddles a segment, day or cap-window boundary. A started period is
//     charged whole (partial periods round up).
//   - A flat segment costs its flat price once per occurrence (e.g. once per
//     night) and a free segment costs nothing; either covers the time up to
//     the segment's end, where the period clock resumes. Neither consumes the
//     stay's first timed period. Without segments, flat is a per-visit price.
//   - Caps are applied in time order: each period's price is added to its
//     segment occurrence (segment cap) and to its cap window (daily_cap) and
//     limited by what is left of both. A cap window is each 24 h from entry
//     (cap_mode "rolling24h", the default) or each calendar day in the car
//     park's zone (cap_mode "calendar_day"); a period belongs to the window
//     and occurrence where it starts.
//   - Stays longer than MaxStay (366 days) are priced as MaxStay and flagged;
//     an exit before the entry (a clock that jumped) is a stay of zero.
//
// Payments: a vehicle that paid may leave free until reserved_out_time after
// its last payment; after that Due = Total − Paid, floored at 0, where
// Total is the fee of the whole stay. See Engine.Quote for why this charges
// exactly the extra time and never a fen twice.
//
// Clock rules (segments, calendar days) are evaluated in the configured zone
// (Asia/Shanghai by default); the zone database is embedded (time/tzdata) so
// a box without /usr/share/zoneinfo prices the same. Plate heuristics
// (Classify, IsMilitaryPolice) help the caller choose the Query's class; the
// package itself never looks at a plate when pricing.
//
// A typical Shenzhen-style configuration (testdata/shenzhen.toml):
//
//	zone = "Asia/Shanghai"
//	reserved_out_time = "15m"      # Go duration, or integer seconds
//	cap_mode = "rolling24h"        # or "calendar_day"
//	deduct_free_minutes = false
//	military_free = true
//
//	[small]                        # 15 min free, first hour 5 yuan,
//	free_minutes = 15              # each further 30 min 2 yuan,
//	first_minutes = 60             # at most 40 yuan per 24 h
//	first_price = 500
//	next_minutes = 30
//	next_price = 200
//	daily_cap = 4000
//
//	[large]                        # large vehicles: double
//	free_minutes = 15
//	first_minutes = 60
//	first_price = 1000
//	next_minutes = 30
//	next_price = 400
//	daily_cap = 8000
//
//	[new_energy]                   # new-energy small cars: 2 h free
//	free_minutes = 120
//	first_minutes = 60
//	first_price = 500
//	next_minutes = 30
//	next_price = 200
//	daily_cap = 4000
//
// Day and night segments replace a rule set's own prices:
//
//	[[small.segments]]
//	name = "day"
//	start = "08:00"
//	end = "20:00"
//	first_minutes = 60
//	first_price = 500
//	next_minutes = 30
//	next_price = 200
//	cap = 3000                     # per day segment occurrence
//
//	[[small.segments]]
//	name = "night"
//	start = "20:00"
//	end = "08:00"
//	flat = 500                     # once per night
package tariff
