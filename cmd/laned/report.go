package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"laned/edge"
	"laned/store"
)

// runReport is `laned report day [YYYY-MM-DD] [-config FILE | -file PATH]
// [-zone ZONE] [-csv]`: the day's reconciliation from the store file,
// opened read-only (laned stopped; a running laned answers the console's
// report instead).
func runReport(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	usage := func() error {
		fmt.Fprintln(stderr, "usage: laned report day [YYYY-MM-DD] [-config FILE | -file PATH [-zone ZONE]] [-csv]")
		fmt.Fprintln(stderr, "  day  the reconciliation of a day in the car park's zone (default today): fees due = collected + waived + owed,")
		fmt.Fprintln(stderr, "       payments by channel, after the exit, with another plate or amount, dead-lettered uplinks")
		fmt.Fprintln(stderr, "  reads the store read-only; with laned running use the console's report")
		return errUsage
	}
	if len(args) == 0 || args[0] != "day" {
		return usage()
	}
	fs, cfgPath := configFlags("report day", stderr)
	file := fs.String("file", "", "the store file itself (instead of -config)")
	zone := fs.String("zone", "", "the car park's zone with -file (default the configuration's, else Asia/Shanghai)")
	asCSV := fs.Bool("csv", false, "write CSV (date,section,item,count,fen) instead of a table")
	// The date may come before or after the flags.
	var day string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		if day != "" {
			fmt.Fprintf(stderr, "laned report day: unexpected %q\n", fs.Arg(0))
			return errUsage
		}
		day, rest = fs.Arg(0), fs.Args()[1:]
	}
	path, cfg, err := storeFileOf(*file, *cfgPath)
	if err != nil {
		return err
	}
	var loc *time.Location
	if cfg != nil {
		loc = cfg.Park.Location
	}
	if *zone != "" {
		l, err := time.LoadLocation(*zone)
		if err != nil {
			return fmt.Errorf("report: zone %q: %w", *zone, err)
		}
		loc = l
	}
	if loc == nil {
		l, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return err
		}
		loc = l
	}
	from, to, err := edge.ParseReportDay(day, loc, time.Now())
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	db, err := store.OpenReadOnly(path, offlineStore)
	if err != nil {
		return heldErr("report", path, "use the console's report, or stop laned", err)
	}
	defer db.Close()
	d, err := db.Report(from, to)
	if err != nil {
		return err
	}
	r := edge.BuildDayReport(d, loc)
	if *asCSV {
		return r.WriteCSV(stdout)
	}
	return r.WriteTable(stdout)
}
