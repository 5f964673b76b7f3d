package main

// The site's partition (issue 18): c cut off for a simulated hour and more,
// traffic on both sides, then healed.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"laned/cmb/cmbsim"
)

// bind gives plate a contactless agreement through the gateway's console
// (the bank binds it and tells the gateway).
func (r *siteRig) bind(t *testing.T, plate string) {
	t.Helper()
	if out := r.box("a").must(t, "sim bind "+plate+" 100"); !strings.Contains(out, "bound") {
		t.Fatalf("sim bind %s: %q", plate, out)
	}
}

// autoPayCharged counts the charged AutoPay orders per record id.
func (r *siteRig) autoPayCharged(t *testing.T) map[string]int {
	t.Helper()
	var orders []cmbsim.Order
	if err := r.bank.get("/_sim/orders", &orders); err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, o := range orders {
		if o.Charged {
			m[o.RecordID]++
		}
	}
	return m
}

// TestSitePartition: c is cut off for a simulated hour with traffic on
// both sides: at a, contactless and vip cars enter and a car that entered
// at c before the cut leaves paying by scan; at c, cars that entered at a
// before the cut leave (contactless: c's own AutoPay; vip: free), cars
// that entered at a during the cut leave though c cannot see their entry
// (contactless: the AutoPay held; vip: free), and a contactless car comes
// and goes. After the link is back every box holds every record, closed,
// nothing was charged twice and every uplink went once.
func TestSitePartition(t *testing.T) {
	r := newLinkedSite(t)
	a, c := r.box("a"), r.box("c")
	k1, k2, k3 := "沪K30001", "沪K30002", "沪K30003" // contactless
	v1, v2 := vipPlates[0], vipPlates[1]
	const p1 = "粤C30001" // enters at c, leaves at a, pays by scan
	for _, k := range []string{k1, k2, k3} {
		r.bind(t, k)
	}
	a.drive(t, a.entry(), k1, nil)
	a.drive(t, a.entry(), v1, nil)
	c.drive(t, c.entry(), p1, nil)
	ids := map[string]string{}
	ids[k1] = c.waitRecord(t, k1, "inside")
	ids[v1] = c.waitRecord(t, v1, "inside")
	ids[p1] = a.waitRecord(t, p1, "inside")
	c.proxy.Cut()
	r.siteState(t, "a and c see each other cut off", func(from, to *box, m siteMember) bool {
		return (from == c || to == c) != m.reachable
	})

	a.drive(t, a.entry(), k2, nil)
	a.drive(t, a.entry(), v2, nil)
	ids[k2] = a.waitRecord(t, k2, "inside")
	ids[v2] = a.waitRecord(t, v2, "inside")
	c.drive(t, c.entry(), k3, nil)
	ids[k3] = c.waitRecord(t, k3, "inside")
	r.advance(t, 70*time.Minute) // every stay past the first hour, within the next half: 5 + 2 yuan
	a.drive(t, a.exit(), p1, func() error { _, _, err := r.bank.scanPay(a.code); return err })
	for _, p := range []string{k1, v1, k2, v2, k3} {
		c.drive(t, c.exit(), p, nil)
	}
	for _, p := range []string{k2, v2} {
		if rows, err := c.records(p); err != nil || slices.ContainsFunc(rows, func(x recRow) bool { return x.id == ids[p] }) {
			t.Fatalf("box c sees %s's entry %s during the cut (%+v, %v): the link was not cut", p, ids[p], rows, err)
		}
	}
	c.proxy.Restore()
	r.caughtUp(t)

	plates := []string{k1, k2, k3, v1, v2, p1}
	recs := r.converged(t, true, plates...)
	for _, p := range plates {
		if !slices.ContainsFunc(recs[p], func(x recRow) bool { return x.id == ids[p] }) {
			t.Errorf("records of %s = %+v; want its entry's record %s among them", p, recs[p], ids[p])
		}
	}
	r.paidEverywhere(t, ids[p1], "7.00")
	if n := len(r.bank.payNotices(t, ids[p1])); n != 1 {
		t.Errorf("record %s (%s): %d pay notices accepted; want one", ids[p1], p1, n)
	}
	r.checkUplinks(t, []sent{
		{plate: k1, id: ids[k1], in: a.code, out: c.code}, {plate: v1, id: ids[v1], in: a.code, out: c.code},
		{plate: k2, id: ids[k2], in: a.code, out: c.code}, {plate: v2, id: ids[v2], in: a.code, out: c.code},
		{plate: k3, id: ids[k3], in: c.code, out: c.code}, {plate: p1, id: ids[p1], in: c.code, out: a.code},
	})
	charged := r.autoPayCharged(t)
	for _, k := range []string{k1, k2, k3} {
		if charged[ids[k]] != 1 {
			t.Errorf("%s (record %s): %d AutoPay orders charged; want one", k, ids[k], charged[ids[k]])
		}
	}
}
