package main

// The site's cases (issue 18, "Must show"): a cross-box exit, a pay notice
// at the gateway, a partition, a kill -9, a power cut.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/cmb"
)

// newLinkedSite starts a site of three boxes and waits until every box
// sees every other reachable (the console's site).
func newLinkedSite(t *testing.T) *siteRig {
	t.Helper()
	r := newSiteRig(t, true)
	r.linked(t)
	return r
}

// siteMember is another box in the console's `site` table.
type siteMember struct {
	reachable     bool
	head, applied string
	lag           string // "-": nothing lags
}

// siteView parses `site` on b: the other boxes by id.
func (b *box) siteView() (map[string]siteMember, error) {
	out, err := b.do("site")
	if err != nil {
		return nil, err
	}
	m := map[string]siteMember{}
	for _, line := range strings.Split(out, "\n") {
		f := tableCols.Split(strings.TrimSpace(line), -1)
		if len(f) < 8 || f[0] == "BOX" {
			continue
		}
		m[f[0]] = siteMember{reachable: f[2] == "yes", head: f[4], applied: f[5], lag: f[6]}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("box %s: site printed no boxes: %q", b.name, out)
	}
	return m, nil
}

// linked waits until every running box sees every other running box
// reachable.
func (r *siteRig) linked(t *testing.T) {
	t.Helper()
	r.siteState(t, "every box sees every other reachable", func(from, to *box, m siteMember) bool { return m.reachable })
}

// caughtUp waits until every box sees every other reachable with nothing
// lagging: each one's changes applied up to its head.
func (r *siteRig) caughtUp(t *testing.T) {
	t.Helper()
	r.siteState(t, "every box has applied every other's changes", func(from, to *box, m siteMember) bool {
		return m.reachable && m.lag == "-" && m.applied == m.head
	})
}

// siteState waits until ok holds for what every running box's `site`
// shows of every other running box.
func (r *siteRig) siteState(t *testing.T, what string, ok func(from, to *box, m siteMember) bool) {
	t.Helper()
	views := map[string]string{}
	until(t, what, func() (bool, error) {
		all := true
		for _, from := range r.boxes {
			if !from.running() {
				continue
			}
			v, err := from.siteView()
			if err != nil {
				return false, err
			}
			views[from.name] = fmt.Sprint(v)
			for _, to := range r.boxes {
				if m, seen := v[to.name]; to != from && to.running() && (!seen || !ok(from, to, m)) {
					all = false
				}
			}
		}
		return all, nil
	}, func() any { return fmt.Sprint(views) })
}

// waitRecord waits until b shows one record of plate in state and returns
// its id.
func (b *box) waitRecord(t *testing.T, plate, state string) string {
	t.Helper()
	var rows []recRow
	until(t, fmt.Sprintf("box %s sees %s %s", b.name, plate, state), func() (bool, error) {
		var err error
		rows, err = b.records(plate)
		return len(rows) == 1 && rows[0].state == state, err
	}, func() any { return fmt.Sprint(rows) })
	return rows[0].id
}

// converged waits until every box shows the same records of each plate
// (ids and states), every one of them closed when closed is set, and
// returns them by plate.
func (r *siteRig) converged(t *testing.T, closed bool, plates ...string) map[string][]recRow {
	t.Helper()
	views := map[string]string{}
	out := map[string][]recRow{}
	until(t, "every box holds every record", func() (bool, error) {
		same := true
		for _, p := range plates {
			var first []recRow
			for i, b := range r.boxes {
				rows, err := b.records(p)
				if err != nil {
					return false, err
				}
				slices.SortFunc(rows, func(x, y recRow) int { return strings.Compare(x.id, y.id) })
				views[b.name+" "+p] = fmt.Sprint(rows)
				if i == 0 {
					first = rows
				}
				if len(rows) == 0 || !slices.Equal(rows, first) {
					same = false
				}
				for _, row := range rows {
					if closed && row.state != "closed" {
						same = false
					}
				}
			}
			out[p] = first
		}
		return same, nil
	}, func() any { return fmt.Sprint(views) })
	return out
}

// drainedAll waits until every running box's outbox is empty.
func (r *siteRig) drainedAll(t *testing.T) {
	t.Helper()
	for _, b := range r.boxes {
		if b.running() {
			b.drained(t)
		}
	}
}

// sent is what one record should have sent the bank: one Indata from its
// entry lane's code, one Outdata from its exit lane's (0: none).
type sent struct {
	plate   string
	id      string
	in, out int
}

// checkUplinks: each record's Indata and Outdata went once, from the lane
// that made them, and nothing else went (no uplink of a record the test
// does not know: a no-entry record matched to its entry sends nothing).
func (r *siteRig) checkUplinks(t *testing.T, want []sent) {
	t.Helper()
	r.drainedAll(t)
	byID := map[string]sent{}
	for _, w := range want {
		byID[w.id] = w
	}
	for _, ep := range []string{cmb.EpIndata, cmb.EpOutdata} {
		got := byRecord(r.bank.uplinks(t, ep))
		for id, us := range got {
			if _, ok := byID[id]; !ok {
				t.Errorf("%s of record %s the test never made: %+v", ep, id, us)
			}
		}
		for _, w := range want {
			code := w.in
			if ep == cmb.EpOutdata {
				code = w.out
			}
			us := got[w.id]
			n := len(us)
			switch {
			case code == 0 && n != 0:
				t.Errorf("record %s (%s): %d %s; want none", w.id, w.plate, n, ep)
			case code != 0 && n != 1:
				t.Errorf("record %s (%s): %d %s accepted; want one", w.id, w.plate, n, ep)
			}
			for _, u := range us {
				if code != 0 && codeParam(u) != strconv.Itoa(code) {
					t.Errorf("record %s (%s): %s from lane code %s; want %d", w.id, w.plate, ep, codeParam(u), code)
				}
			}
		}
	}
	r.checkBank(t)
}

// paidEverywhere: every box shows record id paid fee (yuan, e.g. "5.00").
func (r *siteRig) paidEverywhere(t *testing.T, id, fee string) {
	t.Helper()
	views := map[string]string{}
	until(t, "record "+id+" paid on every box", func() (bool, error) {
		ok := true
		for _, b := range r.boxes {
			rec, err := b.record(id)
			if err != nil {
				return false, err
			}
			views[b.name] = fmt.Sprint(rec)
			if paid, _, _ := strings.Cut(rec["paid"], " "); rec["fee"] != fee || paid != fee {
				ok = false
			}
		}
		return ok, nil
	}, func() any { return fmt.Sprint(views) })
}

// TestSiteCrossBoxExit: a car enters at a and leaves at c: c finds its
// record, prices it, the driver scans c's QR code (the bank's calc goes to
// the gateway a, which asks c), pays once, c's barrier opens; one Indata
// from a's lane, one Outdata from c's; then each box stops cleanly on
// SIGTERM.
func TestSiteCrossBoxExit(t *testing.T) {
	r := newLinkedSite(t)
	a, c := r.box("a"), r.box("c")
	const plate = "粤A20001"
	a.drive(t, a.entry(), plate, nil)
	id := c.waitRecord(t, plate, "inside")
	r.advance(t, 30*time.Minute)
	c.drive(t, c.exit(), plate, func() error { _, _, err := r.bank.scanPay(c.code); return err })
	recs := r.converged(t, true, plate)
	if len(recs[plate]) != 1 || recs[plate][0].id != id {
		t.Fatalf("records of %s = %+v; want only %s", plate, recs[plate], id)
	}
	r.paidEverywhere(t, id, "5.00")
	if n := len(r.bank.payNotices(t, id)); n != 1 {
		t.Errorf("record %s: %d pay notices accepted; want one", id, n)
	}
	r.checkUplinks(t, []sent{{plate: plate, id: id, in: a.code, out: c.code}})
	for _, b := range r.boxes { // a box of a site stops cleanly, its node too
		if err := b.stop(); err != nil {
			t.Errorf("box %s: stop: %v", b.name, err)
		}
	}
}

// TestSitePayNoticeAtGateway: a car waits to pay at b's exit; its driver
// pays by plate on the phone: the bank's calc and pay notice reach the
// gateway a, whose payment reaches b, whose barrier opens: one payment,
// one Outdata from b.
func TestSitePayNoticeAtGateway(t *testing.T) {
	r := newLinkedSite(t)
	a, b := r.box("a"), r.box("b")
	const plate = "粤A20002"
	a.drive(t, a.entry(), plate, nil)
	id := b.waitRecord(t, plate, "inside")
	r.advance(t, 30*time.Minute)
	b.drive(t, b.exit(), plate, func() error { _, _, err := r.bank.platePay(plate); return err })
	r.converged(t, true, plate)
	r.paidEverywhere(t, id, "5.00")
	if n := len(r.bank.payNotices(t, id)); n != 1 {
		t.Errorf("record %s: %d pay notices accepted; want one", id, n)
	}
	r.checkUplinks(t, []sent{{plate: plate, id: id, in: a.code, out: b.code}})
}

// TestSiteKillBox: b is killed -9 while cars keep entering at a (b
// applying them), just after its own lanes were used, then restarted:
// nothing is lost, every box holds every record, nothing went twice. (b's
// own uplinks are delivered before the kill: a resend of one whose ack
// died with the process is the outbox's at-least-once, edge/soak's
// TestKill9 covers it; here a second uplink would be the site's doing.)
func TestSiteKillBox(t *testing.T) {
	r := newLinkedSite(t)
	a, b := r.box("a"), r.box("b")
	var traffic []string
	for i := range 6 {
		traffic = append(traffic, fmt.Sprintf("粤A4%04d", i))
	}
	const b1, b2 = "粤B40001", "粤B40002"
	b.drive(t, b.entry(), b1, nil)
	b.drive(t, b.entry(), b2, nil)
	b.drained(t) // b's own uplinks went: any second one would be the site's doing

	var wg sync.WaitGroup
	var trafficErr error
	killed := make(chan struct{})
	wg.Add(1)
	go func() { // a's traffic, through the kill
		defer wg.Done()
		for i, p := range traffic {
			if i == len(traffic)/2 {
				<-killed
			}
			if trafficErr = a.driveErr(a.entry(), p, nil); trafficErr != nil {
				return
			}
		}
	}()
	b.kill()
	close(killed)
	wg.Wait()
	if trafficErr != nil {
		t.Fatal(trafficErr)
	}
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
	r.caughtUp(t)
	ids := map[string]string{b1: b.waitRecord(t, b1, "inside"), b2: b.waitRecord(t, b2, "inside")}
	for _, p := range traffic {
		ids[p] = b.waitRecord(t, p, "inside")
	}
	r.advance(t, 30*time.Minute)
	scanAt := func(bx *box) func() error {
		return func() error { _, _, err := r.bank.scanPay(bx.code); return err }
	}
	b.drive(t, b.exit(), b1, scanAt(b))
	a.drive(t, a.exit(), b2, scanAt(a))
	for _, p := range traffic[:3] {
		b.drive(t, b.exit(), p, scanAt(b))
	}
	r.converged(t, false, append([]string{b1, b2}, traffic...)...)
	want := []sent{
		{plate: b1, id: ids[b1], in: b.code, out: b.code},
		{plate: b2, id: ids[b2], in: b.code, out: a.code},
	}
	for i, p := range traffic {
		w := sent{plate: p, id: ids[p], in: a.code}
		if i < 3 {
			w.out = b.code
		}
		want = append(want, w)
	}
	for _, w := range want {
		if w.out != 0 {
			r.paidEverywhere(t, w.id, "5.00")
		}
	}
	r.checkUplinks(t, want)
}

// TestSitePowerCut: c, cut off from the site, lets cars in, then loses
// power with its NATS store lost (kill -9 and data_dir/nats deleted: the
// unsynced data NATS may lose in a power cut, at its worst); a car enters
// at a meanwhile. When c is back and linked, every box holds every record:
// the gap is repaired from c's bbolt.
func TestSitePowerCut(t *testing.T) {
	r := newLinkedSite(t)
	a, c := r.box("a"), r.box("c")
	const e1, e2, e3, a1 = "粤C50001", "粤C50002", "粤C50003", "粤A50001"
	c.drive(t, c.entry(), e1, nil)
	ids := map[string]string{e1: a.waitRecord(t, e1, "inside")}
	c.proxy.Cut()
	c.drive(t, c.entry(), e2, nil)
	c.drive(t, c.entry(), e3, nil)
	if rows, err := a.records(e2); err != nil || len(rows) != 0 {
		t.Fatalf("box a sees %s's entry at c during the cut (%+v, %v): the link was not cut", e2, rows, err)
	}
	c.drained(t) // c's own uplinks went: any second one would be the site's doing
	c.kill()
	nats := filepath.Join(c.dataDir(), "nats")
	if _, err := os.Stat(nats); err != nil {
		t.Fatalf("c's JetStream store: %v; want it at data_dir/nats", err)
	}
	if err := os.RemoveAll(nats); err != nil {
		t.Fatal(err)
	}
	a.drive(t, a.entry(), a1, nil)
	c.proxy.Restore()
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	r.caughtUp(t)
	recs := r.converged(t, false, e1, e2, e3, a1)
	for _, p := range []string{e2, e3, a1} {
		if len(recs[p]) != 1 {
			t.Fatalf("records of %s = %+v; want one", p, recs[p])
		}
		ids[p] = recs[p][0].id
	}
	r.advance(t, 30*time.Minute)
	a.drive(t, a.exit(), e2, func() error { _, _, err := r.bank.scanPay(a.code); return err })
	c.drive(t, c.exit(), a1, func() error { _, _, err := r.bank.scanPay(c.code); return err })
	r.converged(t, false, e2, a1)
	r.paidEverywhere(t, ids[e2], "5.00")
	r.paidEverywhere(t, ids[a1], "5.00")
	r.checkUplinks(t, []sent{
		{plate: e1, id: ids[e1], in: c.code},
		{plate: e2, id: ids[e2], in: c.code, out: a.code},
		{plate: e3, id: ids[e3], in: c.code},
		{plate: a1, id: ids[a1], in: a.code, out: c.code},
	})
}
