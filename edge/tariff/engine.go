package tariff

import (
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // the zone database, so pricing does not depend on the box's /usr/share/zoneinfo
)

// MaxStay is the longest stay priced; a longer stay is priced as MaxStay
// and its Quote is flagged Clamped (a record that old needs a person).
const MaxStay = 366 * 24 * time.Hour

const (
	maxStaySec = int64(MaxStay / time.Second)
	daySec     = int64(24 * 60 * 60)
	unlimited  = math.MaxInt64
)

// Engine prices stays with one validated configuration. It is immutable
// and safe for concurrent use.
type Engine struct {
	loc          *time.Location
	grace        time.Duration
	calendar     bool
	deduct       bool
	militaryFree bool
	prefixes     []string
	suffixes     []string
	byClass      [numClasses]*rules
}

type segKind uint8

const (
	kindTimed segKind = iota
	kindFlat
	kindFree
)

// rules is a compiled RuleSet.
type rules struct {
	free  int64 // seconds
	cap   int64 // daily cap, fen; 0 none
	whole bool  // no segments: segs[0] covers all time, without boundaries
	segs  []seg // sorted by start
}

// seg is a compiled Segment (or a rule set's own prices when whole).
type seg struct {
	name        string
	start, end  int // minutes after midnight
	kind        segKind
	first, next int64 // seconds
	firstPrice  int64
	nextPrice   int64
	flat        int64
	cap         int64 // per occurrence, fen; 0 none
}

// New validates cfg and returns an engine for it. The error is a
// *ConfigError (wrapping ErrConfig) that lists every problem by key.
func New(cfg Config) (*Engine, error) {
	return cfg.compile()
}

// Location is the car park's zone.
func (e *Engine) Location() *time.Location { return e.loc }

// ReservedOutTime is the exit grace after a payment (for ConfigUpload).
func (e *Engine) ReservedOutTime() time.Duration { return e.grace }

// IsMilitaryPolice reports whether a plate looks military or police by the
// configured prefixes and suffixes (see the package function).
func (e *Engine) IsMilitaryPolice(plate string) bool {
	return matchMilitary(plate, e.prefixes, e.suffixes)
}

// Query is one pricing question: a stay of a class from Entry to Exit (the
// exit time, or the time of a query for a vehicle still inside).
type Query struct {
	Class       Class
	Entry       time.Time
	Exit        time.Time
	VIP         bool      // VIP or monthly pass: free
	Military    bool      // military or police vehicle: free when the config says so
	Paid        int64     // fen already paid for this stay (the sum); negative counts as 0
	LastPayTime time.Time // the last payment; zero if none
	// LastQuotedAt is when the quote the last payment answered was made
	// (calc's bill_id); zero if unknown. Within reserved_out_time before
	// LastPayTime, the payment settles the stay if it covers the fee as of
	// then (the quote was valid); otherwise as of LastPayTime.
	LastQuotedAt time.Time
}

// Reason says why a Quote's Due is what it is.
type Reason string

// The reasons, most decisive first.
const (
	ReasonVIP        Reason = "vip"          // VIP or monthly pass
	ReasonMilitary   Reason = "military"     // military or police, free by config
	ReasonFreePeriod Reason = "free period"  // the stay is within free_minutes
	ReasonGrace      Reason = "within grace" // paid, leaving within reserved_out_time
	ReasonPaid       Reason = "paid"         // payments cover the fee
	ReasonCapped     Reason = "capped"       // a daily or segment cap limited the fee
	ReasonTariff     Reason = "tariff"       // the plain tariff
)

// Quote is the answer to a Query.
type Quote struct {
	Class     Class
	Total     int64         // the tariff's fee for the whole stay, fen
	Due       int64         // still due now, fen, never negative
	Paid      int64         // as queried
	Duration  time.Duration // the stay, whole seconds, never negative
	Reason    Reason
	Capped    bool // a cap lowered Total
	Clamped   bool // the stay exceeded MaxStay and was priced as MaxStay
	Breakdown []Line
}

// Line is one priced span of a stay: the periods started within one
// segment occurrence and one cap window, or a free period, a flat price.
type Line struct {
	From, To time.Time // in the car park's zone; To may pass the exit (a started period is charged whole)
	Window   int       // 1-based cap window (24 h or calendar day); 1 when there is no daily cap
	Segment  string    // segment name; "all day" without segments
	Kind     string    // "free period", "first", "periods", "flat", "free"
	Periods  int64     // periods started (1 for first and flat)
	Minutes  int64     // length of each period
	Price    int64     // price of each period, or the flat price, fen
	Fen      int64     // charged after caps, fen
	Capped   bool      // Fen < Periods×Price
}

// String renders the line for a receipt or the console.
func (l Line) String() string {
	const layout = "2006-01-02 15:04"
	span := l.From.Format(layout) + " – " + l.To.Format(layout)
	var what string
	switch l.Kind {
	case "first", "periods":
		what = fmt.Sprintf("%s %d × %d min × %d fen", l.Kind, l.Periods, l.Minutes, l.Price)
	case "flat":
		what = fmt.Sprintf("flat %d fen", l.Price)
	default:
		what = l.Kind
	}
	s := fmt.Sprintf("%s day %d %s: %s = %d fen", span, l.Window, l.Segment, what, l.Fen)
	if l.Capped {
		s += " (capped)"
	}
	return s
}

// Quote prices q. Total is the fee of the whole stay from Entry to Exit;
// Due is what remains to pay now:
//
//   - VIP, or Military with military_free: Total and Due are 0.
//   - LastPayTime set, Exit ≤ LastPayTime + reserved_out_time, and the
//     payments covered the fee of the stay up to the payment — as of
//     LastQuotedAt when the payment answered a quote made within
//     reserved_out_time before it (a quote's validity): Due is 0. A part
//     payment buys no grace: nothing is settled while anything remains due
//     for the stay up to the payment.
//   - Otherwise Due = max(0, Total − Paid).
//
// After the grace only the extra time is due because Total is a cumulative
// fee: the fee function is non-decreasing in the exit time and computed
// over the whole stay, so Total(entry, exit) − Total(entry, paid-at) is
// exactly the price of the periods started after the payment, with the
// period clock, the free period and the caps continuing as if the vehicle
// had never paid. A period that was paid covers its whole length, and a cap
// window already full costs nothing more. The alternative, pricing the
// stay from LastPayTime, would restart the first period, the free period
// and the cap window, charging twice for time the driver had paid for. A
// period that starts during the grace is part of the extra time when the
// vehicle leaves after the grace.
//
// The error wraps ErrClass for an unknown class and ErrConfig when the
// engine has no rule set (a zero Engine).
// settledAt reports whether paid covered the stay when it was paid: the
// grace is for a vehicle that paid its stay, not a part of it. The stay is
// priced up to the payment at payAt, or up to quotedAt when the payment
// answered a quote made at most reserved_out_time before it (spec §3.1: a
// quote is valid that long), so the driver who paid what calc quoted is
// not caught by a period that began while the payment travelled. A
// quotedAt outside that window is ignored, and so is a quote of nothing
// (made in the free period): a payment then settles only what was due at
// payAt.
func (e *Engine) settledAt(r *rules, entry, payAt, quotedAt, paid int64) bool {
	clamp := func(t int64) int64 { return min(max(t, entry), entry+maxStaySec) }
	total, _, _ := e.price(r, entry, clamp(payAt))
	if paid >= total {
		return true
	}
	if quotedAt == 0 || quotedAt > payAt || payAt-quotedAt > int64(e.grace/time.Second) {
		return false
	}
	quoted, _, _ := e.price(r, entry, clamp(quotedAt))
	return quoted > 0 && paid >= quoted
}

func (e *Engine) Quote(q Query) (Quote, error) {
	if q.Class < 0 || q.Class >= numClasses {
		return Quote{}, fmt.Errorf("tariff: quote: class %d: %w", int(q.Class), ErrClass)
	}
	if e == nil || e.loc == nil || e.byClass[q.Class] == nil {
		return Quote{}, fmt.Errorf("tariff: quote: no rule set for %s: %w", q.Class, ErrConfig)
	}
	r := e.byClass[q.Class]
	entry, exit := q.Entry.Unix(), q.Exit.Unix()
	out := Quote{Class: q.Class, Paid: q.Paid}
	if exit < entry {
		exit = entry
	}
	if exit-entry > maxStaySec {
		exit = entry + maxStaySec
		out.Clamped = true
	}
	out.Duration = time.Duration(exit-entry) * time.Second

	switch {
	case q.VIP:
		out.Reason = ReasonVIP
		return out, nil
	case q.Military && e.militaryFree:
		out.Reason = ReasonMilitary
		return out, nil
	}
	out.Total, out.Breakdown, out.Capped = e.price(r, entry, exit)
	if exit-entry <= r.free {
		out.Reason = ReasonFreePeriod
		return out, nil
	}

	paid := max(q.Paid, 0)
	switch {
	case !q.LastPayTime.IsZero() && !q.Exit.After(q.LastPayTime.Add(e.grace)) && e.settledAt(r, entry, q.LastPayTime.Unix(), unixOrZero(q.LastQuotedAt), paid):
		out.Reason = ReasonGrace
	case out.Total <= paid:
		out.Reason = ReasonPaid
		if paid == 0 { // a tariff that costs nothing (free segments, zero prices)
			out.Reason = ReasonTariff
		}
	default:
		out.Due = out.Total - paid
		out.Reason = ReasonTariff
		if out.Capped {
			out.Reason = ReasonCapped
		}
	}
	return out, nil
}

// dayCache holds the boundaries of one local calendar day, so that pieces
// of a stay within a day cost no zone conversion.
type dayCache struct {
	valid    bool
	midnight int64 // this day's 00:00
	next     int64 // the next day's 00:00
	nextS0   int64 // the first segment's start on the next day
	starts   [MaxSegments]int64
}

func (e *Engine) day(c *dayCache, r *rules, p int64) {
	if c.valid && p >= c.midnight && p < c.next {
		return
	}
	y, m, d := time.Unix(p, 0).In(e.loc).Date()
	c.valid = true
	c.midnight = time.Date(y, m, d, 0, 0, 0, 0, e.loc).Unix()
	c.next = time.Date(y, m, d+1, 0, 0, 0, 0, e.loc).Unix()
	if r.whole {
		return
	}
	for i, s := range r.segs {
		c.starts[i] = time.Date(y, m, d, 0, s.start, 0, 0, e.loc).Unix()
	}
	c.nextS0 = time.Date(y, m, d+1, 0, r.segs[0].start, 0, 0, e.loc).Unix()
}

// segmentAt returns the segment p falls in and the end of that occurrence.
func (e *Engine) segmentAt(c *dayCache, r *rules, p int64) (int, int64) {
	if r.whole {
		return 0, unlimited
	}
	e.day(c, r, p)
	k := len(r.segs)
	if p < c.starts[0] { // the last segment, wrapping from the day before
		return k - 1, c.starts[0]
	}
	i := 0
	for i+1 < k && c.starts[i+1] <= p {
		i++
	}
	if i == k-1 {
		return i, c.nextS0
	}
	return i, c.starts[i+1]
}

// price computes the fee of a stay in UNIX seconds [entry, exit), exit ≥
// entry. It walks the stay piece by piece — a piece ends at a segment
// boundary, a cap-window boundary or the exit — and prices all the periods
// that start in a piece at once, so its cost grows with the number of days
// and segments, not with the number of periods.
func (e *Engine) price(r *rules, entry, exit int64) (total int64, lines []Line, capped bool) {
	if exit-entry <= r.free {
		return 0, nil, false
	}
	// About one line per segment occurrence and window, plus the free period.
	lines = make([]Line, 0, int((exit-entry)/daySec+1)*(len(r.segs)+1)+2)
	p := entry
	if e.deduct && r.free > 0 { // the free period is not charged
		p = entry + r.free
		lines = append(lines, Line{From: e.at(entry), To: e.at(p), Window: 1, Kind: "free period", Minutes: r.free / 60})
	}
	var (
		c            dayCache
		window       int
		winEnd       = int64(math.MinInt64)
		winRem       int64
		occEnd       = int64(math.MinInt64)
		occRem       int64
		firstPending = true
	)
	for p < exit {
		if p >= winEnd {
			window++
			switch {
			case r.cap == 0:
				winEnd, winRem = unlimited, unlimited
			case e.calendar:
				e.day(&c, r, p)
				winEnd, winRem = c.next, r.cap
			default:
				winEnd, winRem = entry+((p-entry)/daySec+1)*daySec, r.cap
			}
		}
		si, oEnd := e.segmentAt(&c, r, p)
		s := &r.segs[si]
		if oEnd != occEnd {
			occEnd, occRem = oEnd, unlimited
			if s.cap > 0 {
				occRem = s.cap
			}
		}
		ln := Line{From: e.at(p), Window: window, Segment: s.name}
		var raw int64
		next := p
		switch {
		case s.kind != kindTimed:
			ln.Kind, ln.Periods, ln.Price = "flat", 1, s.flat
			if s.kind == kindFree {
				ln.Kind, ln.Price = "free", 0
			}
			raw = ln.Price
			next = min(oEnd, exit) // whole: the visit; else the occurrence
			if oEnd == unlimited {
				next = exit
			}
			ln.Minutes = (next - p + 59) / 60
		case firstPending && s.first > 0:
			ln.Kind, ln.Periods, ln.Minutes, ln.Price = "first", 1, s.first/60, s.firstPrice
			raw = s.firstPrice
			next = p + s.first
		default:
			limit := min(oEnd, winEnd, exit)
			n := int64(1)
			if limit > p {
				n = (limit - p + s.next - 1) / s.next
			}
			ln.Kind, ln.Periods, ln.Minutes, ln.Price = "periods", n, s.next/60, s.nextPrice
			raw = n * s.nextPrice
			next = p + n*s.next
		}
		if s.kind == kindTimed {
			firstPending = false
		}
		fee := min(raw, occRem, winRem)
		if fee < raw {
			ln.Capped, capped = true, true
		}
		occRem -= fee
		winRem -= fee
		total += fee
		ln.Fen = fee
		if next <= p { // a zone whose clock makes a boundary fall back: always progress
			next = p + 60
		}
		ln.To = e.at(next)
		lines = append(lines, ln)
		p = next
	}
	return total, lines, capped
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (e *Engine) at(sec int64) time.Time { return time.Unix(sec, 0).In(e.loc) }
