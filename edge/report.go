package edge

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"laned/cmb"
	"laned/store"
)

// The daily reconciliation report: what an operator checks every
// morning. Built from what the store holds (store.Report), so that it
// works on a stopped controller's file as on a running one.
//
// The exits of the day are reconciled: every fen their Outdata reported
// due (charge items' should_pay, plus what is still owed) is collected,
// waived with a reason, or owed — and the report says whether it adds up.
// Payments are also listed by the day they were made, by channel, with
// those after the exit, those whose plate differs from the record's and
// those whose amount differs from the quote the payer was given.

// ReportLine is one line of a report: a section, an item, a count and an
// amount in fen.
type ReportLine struct {
	Section string
	Item    string
	Count   int
	Fen     int64
}

// DayReport is the reconciliation of one day in the car park's zone.
type DayReport struct {
	Day  time.Time // midnight, in Zone
	Zone string

	Entries, Exits, StaleCloses, InsideAtEnd int

	Due       int64 // the exits' fees due
	Collected int64
	Waived    int64
	Owed      int64
	Lines     []ReportLine // every line, in order
}

// AddsUp reports whether due = collected + waived + owed.
func (r DayReport) AddsUp() bool { return r.Due == r.Collected+r.Waived+r.Owed }

// Report sections.
const (
	secTraffic   = "traffic"
	secExits     = "exits of the day"
	secPayments  = "payments made this day"
	secArrears   = "owed by plates (all days)"
	secUplinks   = "uplinks"
	secNoEntry   = "exits without a visible entry (site)"
	itemContact  = "collected, CMB contactless"
	itemScan     = "collected, CMB scan/phone"
	itemOther    = "collected, other pay_type"
	itemOwed     = "owed (not collected)"
	itemDue      = "fees due"
	itemCheck    = "check: due = collected + waived + owed"
	payContact   = "CMB contactless"
	payScan      = "CMB scan/phone"
	payAfterExit = "after the exit"
	payPlate     = "plate differs from the record's"
	payMismatch  = "amount differs from the quote"
)

// waiverName names a waived charge item by its pay_type.
func waiverName(pt int) string {
	switch cmb.PayType(pt) {
	case cmb.PayShortStayFree:
		return "waived, short stay free (0)"
	case cmb.PayAuthorisedFree:
		return "waived, VIP/monthly (7)"
	case cmb.PayManualFree:
		return "waived, manual opening (8)"
	case cmb.PayPrepaidGrace:
		return "waived, grace after prepayment (12)"
	case cmb.PayTariffFree:
		return "waived, free by tariff/military (52)"
	}
	return fmt.Sprintf("waived, pay_type %d", pt)
}

// contactless tells a payment recorded from an AutoPay answer from a pay
// notice.
func contactless(recordID string, p store.Payment, ok bool) bool {
	if !ok {
		return true // a charge item with no payment: a contactless charge (request_order)
	}
	return p.Notice == "" && strings.HasPrefix(p.BillID, recordID+"P")
}

// BuildDayReport reconciles the day [d.From, d.To) from what the store
// holds.
func BuildDayReport(d store.ReportData, loc *time.Location) DayReport {
	r := DayReport{Day: d.From.In(loc), Zone: loc.String(), InsideAtEnd: d.Open}
	for _, rec := range d.Entered {
		if rec.NoEntry == nil { // a no-entry record's in_time is its exit's
			r.Entries++
		}
	}
	type acc struct {
		n   int
		fen int64
	}
	sums := map[string]*acc{}
	var order []string
	add := func(item string, n int, fen int64) {
		a := sums[item]
		if a == nil {
			a = &acc{}
			sums[item] = a
			order = append(order, item)
		}
		a.n += n
		a.fen += fen
	}
	for _, k := range []string{itemContact, itemScan, itemOther} {
		add(k, 0, 0)
	}
	for _, rec := range d.Exited {
		if rec.NoEntry != nil && rec.NoEntry.Matched != "" {
			continue // its entry's record carries the exit and its payments
		}
		r.Exits++
		if strings.HasPrefix(rec.Note, "closed as stale") {
			r.StaleCloses++
		}
		pays := map[string]store.Payment{}
		for _, p := range d.Payments[rec.ID] {
			pays[p.Order] = p
		}
		for _, it := range rec.Items {
			r.Due += it.ShouldPay
			if it.ActualPay > 0 {
				r.Collected += it.ActualPay
				switch p, ok := pays[it.SeqNum]; {
				case it.PayType != int(cmb.PayCMB):
					add(itemOther, 1, it.ActualPay)
				case contactless(rec.ID, p, ok):
					add(itemContact, 1, it.ActualPay)
				default:
					add(itemScan, 1, it.ActualPay)
				}
			}
			if w := it.ShouldPay - it.ActualPay; w > 0 || it.ShouldPay == 0 && it.ActualPay == 0 {
				r.Waived += w // a 0-fen item (short stay free) is counted, waiving nothing
				add(waiverName(it.PayType), 1, w)
			}
		}
		if rec.Fees.Due > 0 {
			r.Due += rec.Fees.Due
			r.Owed += rec.Fees.Due
			add(itemOwed, 1, rec.Fees.Due)
		}
	}
	if sums[itemOwed] == nil {
		add(itemOwed, 0, 0)
	}
	line := func(sec, item string, n int, fen int64) {
		r.Lines = append(r.Lines, ReportLine{Section: sec, Item: item, Count: n, Fen: fen})
	}
	line(secTraffic, "entries", r.Entries, 0)
	line(secTraffic, "exits", r.Exits, 0)
	line(secTraffic, "closed as stale (re-entered unseen)", r.StaleCloses, 0)
	line(secTraffic, "inside now", r.InsideAtEnd, 0)
	line(secExits, itemDue, r.Exits, r.Due)
	for _, k := range order {
		line(secExits, k, sums[k].n, sums[k].fen)
	}
	check := 0
	if r.AddsUp() {
		check = 1
	}
	line(secExits, itemCheck, check, r.Due-(r.Collected+r.Waived+r.Owed))

	// Payments by the day they were made.
	var contact, scan, after, plate acc
	notices := map[string]*struct {
		total, quoted int64
		quote         bool
	}{}
	for _, p := range d.Paid {
		if contactless(p.RecordID, p, true) {
			contact.n, contact.fen = contact.n+1, contact.fen+p.Amount
		} else {
			scan.n, scan.fen = scan.n+1, scan.fen+p.Amount
		}
		if p.AfterExit {
			after.n, after.fen = after.n+1, after.fen+p.Amount
		}
		if rp, ok := d.PaidPlates[p.RecordID]; ok && p.Plate != "" && p.Plate != rp {
			plate.n, plate.fen = plate.n+1, plate.fen+p.Amount
		}
		if p.Notice != "" {
			n := notices[p.Notice]
			if n == nil {
				n = &struct {
					total, quoted int64
					quote         bool
				}{}
				notices[p.Notice] = n
			}
			n.total += p.Amount
			n.quoted, n.quote = p.Quoted, !p.QuotedAt.IsZero()
		}
	}
	var mismatch acc
	for _, n := range notices {
		if n.quote && n.total != n.quoted {
			mismatch.n++
			mismatch.fen += n.total - n.quoted
		}
	}
	line(secPayments, payContact, contact.n, contact.fen)
	line(secPayments, payScan, scan.n, scan.fen)
	line(secPayments, payAfterExit, after.n, after.fen)
	line(secPayments, payPlate, plate.n, plate.fen)
	line(secPayments, payMismatch+" (fen: paid − quoted)", mismatch.n, mismatch.fen)
	line(secArrears, "records still owing", d.OutstandingN, d.Outstanding)
	dead := map[string]int{}
	for _, m := range d.Dead {
		dead[m.Kind]++
	}
	if len(d.Matched) > 0 {
		line(secNoEntry, "matched to their entry this day", len(d.Matched), 0)
	}
	for _, rec := range d.Matched {
		if n := rec.NoEntry; n.Overcharge > 0 {
			line(secNoEntry, fmt.Sprintf("overcharged, refund by hand: %s, record %s (exit %s): paid %s, due %s", rec.Plate, n.Matched, rec.ID, yuan(n.Paid), yuan(n.Due)), 1, n.Overcharge)
		}
	}
	line(secUplinks, "dead-lettered", len(d.Dead), 0)
	for _, k := range sortedKeys(dead) {
		line(secUplinks, "dead-lettered "+k, dead[k], 0)
	}
	return r
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fenText is fen as yuan with two decimals, e.g. "-12.05".
func fenText(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// WriteTable writes the report as a table: item, count, yuan.
func (r DayReport) WriteTable(w io.Writer) error {
	width := 0
	for _, l := range r.Lines {
		width = max(width, utf8.RuneCountInString(l.Item))
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "report for %s (%s)\n", r.Day.Format("2006-01-02"), r.Zone)
	sec := ""
	for _, l := range r.Lines {
		if l.Section != sec {
			sec = l.Section
			fmt.Fprintf(b, "%s\n", sec)
		}
		amount := fenText(l.Fen)
		count := strconv.Itoa(l.Count)
		switch {
		case l.Section == secTraffic || strings.HasPrefix(l.Item, "dead-lettered"):
			amount = ""
		case l.Item == itemCheck:
			count = ""
			if r.AddsUp() {
				amount = "adds up"
			} else {
				amount = "DOES NOT ADD UP by " + fenText(l.Fen)
			}
		}
		pad := strings.Repeat(" ", width-utf8.RuneCountInString(l.Item))
		b.WriteString(strings.TrimRight(fmt.Sprintf("  %s%s  %6s  %12s", l.Item, pad, count, amount), " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCSV writes the report as CSV: date,section,item,count,fen.
func (r DayReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"date", "section", "item", "count", "fen"})
	day := r.Day.Format("2006-01-02")
	for _, l := range r.Lines {
		_ = cw.Write([]string{day, l.Section, l.Item, strconv.Itoa(l.Count), strconv.FormatInt(l.Fen, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// ErrReportDay: a report's date argument is not a valid day.
var ErrReportDay = errors.New("report: date must be YYYY-MM-DD, a real day from 2000-01-01 to today")

// ParseReportDay reads a report's date argument as a day in loc: "" is
// today (at now). It returns the day's start and the next day's start
// (days are not always 24 h long in every zone).
func ParseReportDay(s string, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	today := now.In(loc)
	y, m, d := today.Date()
	if s != "" {
		if len(s) != 10 || s[4] != '-' || s[7] != '-' {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: got %q", ErrReportDay, clipArg(s))
		}
		t, perr := time.ParseInLocation("2006-01-02", s, loc)
		if perr != nil || t.Format("2006-01-02") != s {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: got %q", ErrReportDay, clipArg(s))
		}
		if t.Year() < 2000 || t.After(today) {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: got %s", ErrReportDay, s)
		}
		y, m, d = t.Date()
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc), nil
}

func clipArg(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// DayReport builds the report of a day (a date argument as
// ParseReportDay reads it) from the running controller's store.
func (c *Controller) DayReport(day string, loc *time.Location) (DayReport, error) {
	if loc == nil {
		loc = c.tariff.Load().Location()
	}
	from, to, err := ParseReportDay(day, loc, c.now())
	if err != nil {
		return DayReport{}, err
	}
	d, err := c.db.Report(from, to)
	if err != nil {
		return DayReport{}, fmt.Errorf("report: %w", err)
	}
	return BuildDayReport(d, loc), nil
}
