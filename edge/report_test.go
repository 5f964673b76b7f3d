package edge

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/store"
)

func reportLine(t *testing.T, r DayReport, item string) ReportLine {
	t.Helper()
	for _, l := range r.Lines {
		if strings.HasPrefix(l.Item, item) {
			return l
		}
	}
	t.Fatalf("report has no line %q: %+v", item, r.Lines)
	return ReportLine{}
}

// Issue 11 item 13, end to end through the callback server and the
// dispatcher: a day of traffic reconciles — due = collected + waived +
// owed — with each channel, reason and oddity on its own line.
func TestDayReportReconciles(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxRefusals = 1 })
	ctx := context.Background()
	if err := h.db.PutVehicle(store.Vehicle{Plate: "京V00001", List: store.ListVIP}); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.AddAgreement("京C00001", 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sim.Bind(ctx, cmbsim.BindRequest{Plate: "京C00001", Limit: 5000}); err != nil {
		t.Fatal(err)
	}
	scan := h.enter("京A00001") // scan to pay: 900
	h.enter("京C00001")         // contactless: 900
	h.enter("京V00001")         // waived, pay_type 7
	free := h.enter("京F00001") // leaves in the free period
	h.advance(10 * time.Minute)
	h.passExit("京F00001")
	h.advance(110 * time.Minute) // 11:00
	// scan to pay, with a plate that differs on the notice and 800 of 900.
	h.arriveExit("京A00001")
	before := opens(h.exit)
	if _, err := h.sim.Pay(ctx, cmbsim.PayNotice{Plate: "京A00002", RecordID: scan.ID, Amount: 800, Order: "N1"}); err != nil {
		t.Fatal(err)
	}
	if res, err := h.sim.ScanPay(ctx, 1); err != nil || res.Amount != 100 {
		t.Fatalf("ScanPay = %+v, %v; want the 100 left", res, err)
	}
	h.leaveExit(before)
	before = opens(h.exit)
	h.exit.Arrive("京C00001")
	h.leaveExit(before)
	h.drain()
	before = opens(h.exit)
	h.exit.Arrive("京V00001")
	h.leaveExit(before)
	// A payment after the exit.
	if _, err := h.sim.Pay(ctx, cmbsim.PayNotice{Plate: free.Plate, RecordID: free.ID, Amount: 50, Order: "LATE"}); err != nil {
		t.Fatal(err)
	}
	// A guard lets a car out without paying: manual opening.
	h.enter("京M00001")
	h.advance(2 * time.Hour)
	h.arriveExit("京M00001")
	before = opens(h.exit)
	if err := h.ctl.ManualOpen(ctx, "exit1", "guard", "broken phone"); err != nil {
		t.Fatal(err)
	}
	h.leaveExit(before)
	// An uplink dead-lettered.
	h.setFault(cmb.EpIndata, cmbsim.Fault{Status: 9, Message: "no", Times: 1})
	h.enter("京D00001")
	h.eventually("dead letter", func() bool { return len(h.audits("dead_letter")) == 1 })
	h.drain()

	r, err := h.ctl.DayReport("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	if err := r.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tbl.String())
	if !r.AddsUp() || r.Due != r.Collected+r.Waived+r.Owed {
		t.Errorf("due %d ≠ collected %d + waived %d + owed %d", r.Due, r.Collected, r.Waived, r.Owed)
	}
	if !strings.Contains(tbl.String(), "adds up") {
		t.Errorf("table does not say it adds up:\n%s", tbl.String())
	}
	// 5 h for the manual car: 500+3×200 = 1100 at 13:00 (entered 11:00); VIP 900.
	checks := []struct {
		item  string
		count int
		fen   int64
	}{
		{"entries", 6, 0},
		{"exits", 5, 0},
		{itemContact, 1, 900},
		{itemScan, 2, 900},
		{"waived, VIP/monthly (7)", 1, 900},
		{"waived, short stay free (0)", 1, 0},
		{"waived, manual opening (8)", 1, 900},
		{payAfterExit, 1, 50},
		{payPlate, 1, 800},
		{"dead-lettered", 1, 0},
		{"dead-lettered Indata", 1, 0},
	}
	for _, c := range checks {
		if l := reportLine(t, r, c.item); l.Count != c.count || l.Fen != c.fen {
			t.Errorf("%s = %d, %d fen; want %d, %d fen", c.item, l.Count, l.Fen, c.count, c.fen)
		}
	}
	if r.Collected != 1800 || r.Waived != 1800 || r.Owed != 0 || r.Due != 3600 {
		t.Errorf("due %d collected %d waived %d owed %d; want 3600 = 1800 + 1800 + 0", r.Due, r.Collected, r.Waived, r.Owed)
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != len(r.Lines)+1 || rows[0][0] != "date" || rows[1][0] != "2026-03-02" {
		t.Errorf("CSV = %v, %v; want a header and one row per line, dated 2026-03-02", rows, err)
	}
	// The console's report is the same table, in the car park's zone.
	b := &Console{Ctl: h.ctl}
	text, err := b.Report("2026-03-02")
	if err != nil || text != tbl.String() {
		t.Errorf("console report = %v:\n%s\nwant the table above", err, text)
	}
	if _, err := b.Report("2026-13-01"); !errors.Is(err, ErrReportDay) {
		t.Errorf("console report of a bad date = %v; want ErrReportDay", err)
	}
}

func TestParseReportDay(t *testing.T) {
	loc := start.Location()
	now := time.Date(2026, 3, 2, 0, 30, 0, 0, loc)
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "2026-03-02", false},
		{"2026-03-01", "2026-03-01", false},
		{"2026-03-02", "2026-03-02", false},
		{"2000-01-01", "2000-01-01", false},
		{"2026-03-03", "", true}, // the future
		{"1999-12-31", "", true},
		{"2026-02-30", "", true},
		{"2026-3-1", "", true},
		{"20260301", "", true},
		{"2026-03-01x", "", true},
		{"yesterday", "", true},
		{"+002026-03-01", "", true},
	}
	for _, tt := range tests {
		from, to, err := ParseReportDay(tt.in, loc, now)
		if tt.wantErr {
			if !errors.Is(err, ErrReportDay) {
				t.Errorf("ParseReportDay(%q) = %v, %v; want ErrReportDay", tt.in, from, err)
			}
			continue
		}
		if err != nil || from.Format("2006-01-02") != tt.want || !to.Equal(from.AddDate(0, 0, 1)) || from.Hour() != 0 {
			t.Errorf("ParseReportDay(%q) = %v – %v, %v; want %s, a whole day", tt.in, from, to, err, tt.want)
		}
	}
}

// FuzzParseReportDay: any argument is a day or ErrReportDay, never a
// panic; an accepted day prints back as given.
func FuzzParseReportDay(f *testing.F) {
	for _, s := range []string{"", "2026-03-01", "2026-02-30", "9999-99-99", "2026-03-0\x00"} {
		f.Add(s)
	}
	loc := start.Location()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := ParseReportDay(s, loc, now)
		if err != nil {
			if !errors.Is(err, ErrReportDay) {
				t.Fatalf("ParseReportDay(%q) = %v; want ErrReportDay", s, err)
			}
			return
		}
		if s != "" && from.Format("2006-01-02") != s {
			t.Fatalf("ParseReportDay(%q) = %v", s, from)
		}
		if !to.After(from) || from.After(now) {
			t.Fatalf("ParseReportDay(%q) = %v – %v", s, from, to)
		}
	})
}
