package demo

import (
	"errors"
	"fmt"
	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/edge/console"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"laned/cmb"
)

func (d *demo) summary() error {
	recs, err := d.db.Records("", 1000)
	if err != nil {
		return err
	}
	var open, closed int
	var paid int64
	byType := map[string]int64{}
	for _, r := range recs {
		if r.State.Open() {
			open++
		} else {
			closed++
		}
		ps, err := d.db.Payments(r.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			paid += p.Amount
			kind := "scan/phone"
			if _, ok := d.sim.Order(p.BillID); ok { // an AutoPay's request_order
				kind = "contactless"
			} else if _, ok := d.sim.Order(p.Order); ok {
				kind = "contactless"
			}
			byType[kind] += p.Amount
		}
	}
	pending, err := d.recordUplinksPending()
	if err != nil {
		return err
	}
	recv := d.sim.Received(cmbsim.Filter{})
	byEp := map[string]int{}
	delivered := 0
	for _, u := range recv {
		if u.Status == cmb.StatusOK {
			byEp[u.Endpoint]++
			delivered++
		}
	}
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, "── summary ──")
	fmt.Fprintf(d.out, "records: %d, %d closed, %d open\n", len(recs), closed, open)
	kinds := slices.Sorted(func(yield func(string) bool) {
		for k := range byType {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range kinds {
		parts = append(parts, k+" "+console.FormatFen(byType[k]))
	}
	fmt.Fprintf(d.out, "money: %s yuan received (%s)\n", console.FormatFen(paid), strings.Join(parts, ", "))
	eps := make([]string, 0, len(byEp))
	for ep := range byEp {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	parts = parts[:0]
	for _, ep := range eps {
		parts = append(parts, ep+" "+strconv.Itoa(byEp[ep]))
	}
	fmt.Fprintf(d.out, "uplinks: %d delivered (%s), %d record or payment uplinks pending\n", delivered, strings.Join(parts, ", "), pending)
	fmt.Fprintf(d.out, "platform: %d order violations, %d double charges\n", len(d.sim.OrderViolations()), len(d.sim.DoubleCharges()))
	rep, err := d.reconcile()
	if err != nil {
		return err
	}
	adds := "adds up"
	if !rep.AddsUp() {
		adds = "DOES NOT ADD UP"
	}
	fmt.Fprintf(d.out, "reconciliation: due %s = collected %s + waived %s + owed %s yuan (%s)\n",
		console.FormatFen(rep.Due), console.FormatFen(rep.Collected), console.FormatFen(rep.Waived), console.FormatFen(rep.Owed), adds)
	picLine, picsOK, err := d.pictureSummary()
	if err != nil {
		return err
	}
	if picLine != "" {
		fmt.Fprintln(d.out, picLine)
	}
	if open != 0 || pending != 0 || len(d.sim.OrderViolations()) != 0 || len(d.sim.DoubleCharges()) != 0 || !picsOK {
		return errors.New("demo: the summary is not clean")
	}
	if !rep.AddsUp() || rep.Collected != paid || rep.Owed != 0 {
		return fmt.Errorf("demo: the reconciliation is not clean: due %d, collected %d (received %d), waived %d, owed %d fen",
			rep.Due, rep.Collected, paid, rep.Waived, rep.Owed)
	}
	return nil
}

// reconcile is the reconciliation report over the demo's whole morning
// (from the day of its first entry to the end of its last day).
func (d *demo) reconcile() (edge.DayReport, error) {
	now := d.clk.Now().In(d.zone)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, d.zone)
	if recs, err := d.db.Records("", 1000); err == nil {
		for _, r := range recs {
			if t := r.InTime.In(d.zone); t.Before(from) {
				from = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, d.zone)
			}
		}
	}
	data, err := d.db.Report(from, time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, d.zone))
	if err != nil {
		return edge.DayReport{}, fmt.Errorf("demo: reconciliation: %w", err)
	}
	return edge.BuildDayReport(data, d.zone), nil
}
