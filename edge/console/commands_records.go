package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// recordCommands show the parking records and what they are worth.
var recordCommands = []command{
	{"records", "records [PLATE]", "the newest parking records, or those of a plate", fmt.Sprintf("Shows up to %d records, newest first. With PLATE, the records of that plate (look-alikes too).", recordsShown), cmdRecords},
	{"record", "record ID", "one parking record in full", "ID is the first column of records.", cmdRecord},
	{"arrears", "arrears [PLATE]", "fees owed (欠费): contactless charges refused after an offline release", "Each is collected at the plate's next exit, added to its fee with a charge item of its own. records and record show what a record owes.", cmdArrears},
	{"quote", "quote PLATE|MINUTES", "the fee due for a car inside, or for a stay of MINUTES", "quote 京A12345 prices that car's open record as if it left now; quote 90 prices a 90-minute stay with the tariff.", cmdQuote},
	{"report", "report [YYYY-MM-DD]", "the day's reconciliation: entries, exits, money by channel, waived, owed", "report alone is today in the car park's zone; report 2026-03-01 another day. Fees due = collected + waived + owed for the day's exits, then payments by channel, after the exit, with another plate or another amount than quoted, and dead-lettered uplinks. laned report day -csv gives the same as CSV.", cmdReport},
}

func cmdRecords(_ context.Context, c *Console, w io.Writer, args []string) error {
	plate, err := optionalArg("records", args)
	if err != nil {
		return err
	}
	plate = strings.ToUpper(plate)
	recs, err := c.b.Records.Records(plate, recordsShown)
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	none := "no records yet"
	if plate != "" {
		none = "no records for plate " + text(plate)
	}
	tw := newTable(w, len(recs), none, "ID\tPLATE\tSTATE\tIN\tOUT\tFEE\tPAID\tOWED")
	if tw == nil {
		return nil
	}
	for _, r := range recs {
		owed := "-"
		if r.OwedFen > 0 {
			owed = FormatFen(r.OwedFen) + " " + r.Owing
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s %s\t%s\t%s\t%s\n", r.ID, text(r.Plate), r.State,
			orDash(r.EntryLane), c.fmtTime(r.EntryAt), orDash(r.ExitLane), c.fmtTime(r.ExitAt),
			FormatFen(r.FeeFen), FormatFen(r.PaidFen), owed)
	}
	tw.Flush()
	return nil
}

func cmdRecord(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) != 1 {
		return usageErr("record")
	}
	r, err := c.b.Records.Record(args[0])
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("record %s: no such record; find its ID with: records [PLATE]", args[0])
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", args[0], err)
	}
	tw := newTab(w)
	fmt.Fprintf(tw, "id\t%s\n", r.ID)
	fmt.Fprintf(tw, "plate\t%s %s\n", text(r.Plate), r.Colour)
	fmt.Fprintf(tw, "state\t%s\n", r.State)
	fmt.Fprintf(tw, "entry\t%s %s\n", orDash(r.EntryLane), c.fmtTime(r.EntryAt))
	fmt.Fprintf(tw, "exit\t%s %s\n", orDash(r.ExitLane), c.fmtTime(r.ExitAt))
	fmt.Fprintf(tw, "fee\t%s\n", FormatFen(r.FeeFen))
	fmt.Fprintf(tw, "paid\t%s %s\n", FormatFen(r.PaidFen), r.Payment)
	if r.OwedFen > 0 {
		fmt.Fprintf(tw, "owed\t%s %s\n", FormatFen(r.OwedFen), r.Owing)
	}
	if r.Note != "" {
		fmt.Fprintf(tw, "note\t%s\n", text(r.Note))
	}
	tw.Flush()
	return nil
}

func cmdArrears(_ context.Context, c *Console, w io.Writer, args []string) error {
	plate, err := optionalArg("arrears", args)
	if err != nil {
		return err
	}
	plate = strings.ToUpper(plate)
	as, err := c.b.Records.Arrears(plate)
	if err != nil {
		return fmt.Errorf("arrears: %w", err)
	}
	none := "no arrears"
	if plate != "" {
		none = "no arrears for plate " + plate
	}
	tw := newTable(w, len(as), none, "PLATE\tRECORD\tOWED\tSINCE\tWHY")
	if tw == nil {
		return nil
	}
	var sum int64
	for _, a := range as {
		sum += a.AmountFen
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", text(a.Plate), text(a.RecordID), FormatFen(a.AmountFen), c.fmtTime(a.Since), orDash(text(a.Reason)))
	}
	fmt.Fprintf(tw, "total\t\t%s\t\t%d arrears, collected at each plate's next exit\n", FormatFen(sum), len(as))
	tw.Flush()
	return nil
}

func cmdQuote(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) != 1 {
		return usageErr("quote")
	}
	var (
		q   QuoteInfo
		err error
	)
	if isDigits(args[0]) {
		m, aerr := strconv.Atoi(args[0])
		if aerr != nil || m > maxQuoteMinute {
			return fmt.Errorf("quote %s: minutes must be 0 to %d", args[0], maxQuoteMinute)
		}
		q, err = c.b.Records.QuoteMinutes(m)
	} else {
		plate := strings.ToUpper(args[0])
		q, err = c.b.Records.Quote(plate)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("quote %s: no car inside with that plate; check it with: records %s", plate, plate)
		}
	}
	if err != nil {
		return fmt.Errorf("quote %s: %w", args[0], err)
	}
	tw := newTab(w)
	if q.Plate != "" {
		fmt.Fprintf(tw, "plate\t%s (record %s)\n", text(q.Plate), orDash(q.RecordID))
		fmt.Fprintf(tw, "in since\t%s\n", c.fmtTime(q.EntryAt))
	}
	fmt.Fprintf(tw, "stay\t%d min\n", q.Minutes)
	fmt.Fprintf(tw, "fee\t%s\n", FormatFen(q.FeeFen))
	if q.Plate != "" {
		fmt.Fprintf(tw, "paid\t%s\n", FormatFen(q.PaidFen))
	}
	fmt.Fprintf(tw, "due\t%s\n", FormatFen(q.DueFen))
	if q.Note != "" {
		fmt.Fprintf(tw, "note\t%s\n", text(q.Note))
	}
	tw.Flush()
	return nil
}

func cmdReport(_ context.Context, c *Console, w io.Writer, args []string) error {
	day, err := optionalArg("report", args)
	if err != nil {
		return err
	}
	text, err := c.b.Records.Report(day)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = io.WriteString(w, text)
	return err
}
