package main

// The site's end-to-end tests (issue 18): three boxes as processes on
// loopback, one bank, the links through proxies a test cuts and restores.

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// TestSiteBoxesAlone: three boxes without [site] (as every car park runs
// today) as processes with one bank: each lets its own vehicles in and
// out, the gateway's charged through the bank's scan-to-pay, and each box
// sends its own uplinks once; a box knows nothing of the others' cars; a
// kill -9 and restart loses nothing.
func TestSiteBoxesAlone(t *testing.T) {
	r := newSiteRig(t, false)
	a, b, c := r.box("a"), r.box("b"), r.box("c")
	payAt := func(code int) func() error {
		return func() error { _, _, err := r.bank.scanPay(code); return err }
	}
	cars := []struct {
		box   *box
		plate string
		pay   func() error // nil: a vip car, free
		fee   string
		notes int // pay notices
	}{
		{a, "粤A10001", payAt(a.code), "5.00", 1},
		{b, vipPlates[0], nil, "0.00", 0},
		{c, vipPlates[1], nil, "0.00", 0},
	}
	for _, car := range cars {
		car.box.drive(t, car.box.entry(), car.plate, nil)
	}
	r.advance(t, 30*time.Minute)
	for _, car := range cars {
		car.box.drive(t, car.box.exit(), car.plate, car.pay)
	}
	ids := map[string]string{} // plate → record id
	for _, car := range cars {
		rows, err := car.box.records(car.plate)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].state != "closed" {
			t.Fatalf("box %s: records %s = %+v; want one closed record", car.box.name, car.plate, rows)
		}
		ids[car.plate] = rows[0].id
		if id := rows[0].id; len(id) != 26 || strings.Trim(id, "0123456789") != "" {
			t.Errorf("box %s alone: record id %q; want today's 26 digits (no box id)", car.box.name, id)
		}
		rec, err := car.box.record(rows[0].id)
		if err != nil {
			t.Fatal(err)
		}
		if paid, _, _ := strings.Cut(rec["paid"], " "); rec["fee"] != car.fee || paid != car.fee {
			t.Errorf("box %s: record %s fee %q, paid %q; want %s, all paid", car.box.name, rows[0].id, rec["fee"], rec["paid"], car.fee)
		}
		if n := len(r.bank.payNotices(t, rows[0].id)); n != car.notes {
			t.Errorf("record %s (%s): %d pay notices accepted; want %d", rows[0].id, car.plate, n, car.notes)
		}
		for _, other := range r.boxes {
			if other == car.box {
				continue
			}
			if rows, err := other.records(car.plate); err != nil || len(rows) != 0 {
				t.Errorf("box %s alone knows %s of box %s: %+v, %v", other.name, car.plate, car.box.name, rows, err)
			}
		}
	}
	for _, bx := range r.boxes {
		if out := bx.must(t, "site"); !strings.Contains(out, "no site: this box is the car park's only one") {
			t.Errorf("box %s alone: site printed %q; want it alone", bx.name, out)
		}
	}
	// The kill: b's record survives, nothing is sent again.
	b.kill()
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
	if rows, err := b.records(vipPlates[0]); err != nil || len(rows) != 1 || rows[0].state != "closed" || rows[0].id != ids[vipPlates[0]] {
		t.Errorf("box b after kill -9: records %s = %+v, %v; want %s closed", vipPlates[0], rows, err, ids[vipPlates[0]])
	}
	for _, bx := range r.boxes {
		bx.drained(t)
	}
	ins, outs := byRecord(r.bank.uplinks(t, cmb.EpIndata)), byRecord(r.bank.uplinks(t, cmb.EpOutdata))
	for _, car := range cars {
		id, code := ids[car.plate], strconv.Itoa(car.box.code)
		for what, us := range map[string][]cmbsim.Uplink{"Indata": ins[id], "Outdata": outs[id]} {
			if len(us) != 1 || codeParam(us[0]) != code {
				t.Errorf("record %s (%s at box %s): %d accepted %s %+v; want one with lane code %s", id, car.plate, car.box.name, len(us), what, us, code)
			}
		}
	}
	r.checkBank(t)
}

// checkBank: no record charged twice, no uplink out of order.
func (r *siteRig) checkBank(t *testing.T) {
	t.Helper()
	var doubles []cmbsim.DoubleCharge
	var violations []cmbsim.Violation
	if err := r.bank.get("/_sim/double-charges", &doubles); err != nil {
		t.Fatal(err)
	}
	if err := r.bank.get("/_sim/violations", &violations); err != nil {
		t.Fatal(err)
	}
	for _, d := range doubles {
		t.Errorf("the bank charged record %s by several orders: %v", d.RecordID, d.Orders)
	}
	for _, v := range violations {
		t.Errorf("the bank saw an uplink out of order: %+v", v)
	}
}
