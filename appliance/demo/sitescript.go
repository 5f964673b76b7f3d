package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/edge/console"
	"laned/hal/sim"
	"laned/store"
)

// replicationWait bounds the wait for the boxes to agree: NATS catches a
// box up within a minute after a partition (issue 18's measurements).
const replicationWait = 3 * time.Minute

// settle waits until every box's lanes have handled every event.
func (s *siteDemo) settle(ctx context.Context) error {
	for range 2 {
		for _, b := range s.boxes {
			if err := settleOnce(ctx, b.ctl, b.entry, b.exit); err != nil {
				return err
			}
		}
	}
	return nil
}

// at moves simulated time to hh:mm, a minute at a time.
func (s *siteDemo) at(ctx context.Context, hhmm string) error {
	if err := s.settle(ctx); err != nil {
		return err
	}
	if err := advanceTo(s.clk, s.zone, hhmm); err != nil {
		return err
	}
	for _, b := range s.boxes {
		b.ctl.Kick()
	}
	return s.settle(ctx)
}

// eventually waits, in real time, for the site to reach cond.
func (s *siteDemo) eventually(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(replicationWait)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: %s: not after %s", what, replicationWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// holds reports whether every named box holds record id in state st.
func (s *siteDemo) holds(id string, st store.State, boxes ...string) bool {
	for _, name := range boxes {
		r, err := s.box(name).db.RecordByID(id)
		if err != nil || r.State != st {
			return false
		}
	}
	return true
}

// reachable reports whether box from sees box to as reachable.
func (s *siteDemo) reachable(from, to string) bool {
	for _, m := range s.box(from).app.SiteStatus().Members {
		if m.Box == to {
			return m.Reachable
		}
	}
	return false
}

// agree reports whether the boxes hold the same records in the same
// states (with the same payments).
func (s *siteDemo) agree() bool {
	var first string
	for i, b := range s.boxes {
		v, err := s.view(b)
		if err != nil {
			return false
		}
		if i == 0 {
			first = v
		} else if v != first {
			return false
		}
	}
	return true
}

// view is a box's records, states and payments as text.
func (s *siteDemo) view(b *box) (string, error) {
	recs, err := b.db.Records("", 1000)
	if err != nil {
		return "", err
	}
	lines := make([]string, 0, len(recs))
	for _, r := range recs {
		ps, err := b.db.Payments(r.ID)
		if err != nil {
			return "", err
		}
		var paid int64
		for _, p := range ps {
			paid += p.Amount
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %d", r.ID, r.Plate, r.State, paid))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), nil
}

// pass drives plate through lane l of box b and fails unless the
// barrier rose for it.
func (s *siteDemo) pass(ctx context.Context, b *box, l *sim.Lane, plate string) error {
	before := opensOf(l)
	l.Arrive(plate)
	if err := s.settle(ctx); err != nil {
		return err
	}
	if opensOf(l) == before {
		_, state, _ := b.ctl.LaneState(l.Name)
		return fmt.Errorf("demo: %s was not let through %s at box %s (%s)", plate, l.Name, b.name, state)
	}
	l.PassThrough()
	return s.settle(ctx)
}

// scanAndLeave has the driver waiting at box b's exit scan its QR code
// (the bank asks the gateway) and waits, in real time, for the barrier:
// the payment reaches b by replication.
func (s *siteDemo) scanAndLeave(ctx context.Context, b *box) error {
	before := opensOf(b.exit)
	res, err := s.sim.ScanPay(ctx, b.code)
	if err != nil {
		return fmt.Errorf("demo: scan to pay at exit%d: %w", b.code, err)
	}
	who := "a asked box " + b.name + " for the fee"
	if b.name == "a" {
		who = "the exit is a's own"
	}
	s.say("driver scanned exit%d's QR code: the bank asked gateway a, %s; %s yuan paid at a (record %s)",
		b.code, who, console.FormatFen(res.Amount), res.Calc.RecordID)
	if err := s.eventually(ctx, "exit"+fmt.Sprint(b.code)+"'s barrier up after the payment", func() bool {
		s.settle(ctx)
		return opensOf(b.exit) > before
	}); err != nil {
		return err
	}
	if b.name != "a" {
		s.say("the payment reached box %s: exit%d's barrier rises", b.name, b.code)
	}
	b.exit.PassThrough()
	return s.settle(ctx)
}

func (s *siteDemo) script(ctx context.Context) error {
	a, bb, c := s.box("a"), s.box("b"), s.box("c")
	var first, held string
	steps := []struct {
		at   string
		what string
		do   func() error
	}{
		{"07:55", "the boxes see each other", func() error {
			return s.eventually(ctx, "every box reachable", func() bool {
				return s.reachable("a", "b") && s.reachable("a", "c") && s.reachable("b", "c") && s.reachable("c", "a")
			})
		}},
		{"07:56", "the bank binds 沪K66666 for contactless payment (无感), limit 100.00 yuan: gateway a learns it, every box too", func() error {
			if err := s.sim.AddAgreement(contactlessPlate, 10000); err != nil {
				return err
			}
			if _, err := s.sim.Bind(ctx, cmbsim.BindRequest{Plate: contactlessPlate, Limit: 10000}); err != nil {
				return fmt.Errorf("demo: bind %s: %w", contactlessPlate, err)
			}
			return s.eventually(ctx, "the binding at c", func() bool {
				_, err := c.db.Binding(contactlessPlate)
				return err == nil
			})
		}},
		{"08:00", "京A12345 enters at box a (entry1)", func() error {
			if err := s.pass(ctx, a, a.entry, "京A12345"); err != nil {
				return err
			}
			r, err := a.db.OpenByPlate("京A12345")
			if err != nil {
				return err
			}
			first = r.ID
			if err := s.eventually(ctx, "the entry at b and c", func() bool { return s.holds(first, r.State, "b", "c") }); err != nil {
				return err
			}
			s.say("record %s is at boxes b and c too", first)
			return nil
		}},
		{"08:05", "粤B22222 enters at box b (entry2)", func() error { return s.pass(ctx, bb, bb.entry, "粤B22222") }},
		{"09:00", "京A12345 reaches exit3 at box c: its entry was at box a", func() error {
			c.exit.Arrive("京A12345")
			if err := s.settle(ctx); err != nil {
				return err
			}
			_, state, _ := c.ctl.LaneState("exit3")
			s.say("exit3: %s", state)
			return s.scanAndLeave(ctx, c)
		}},
		{"09:10", "PARTITION: box c's link to the gateway is cut", func() error {
			s.link.setCut(true)
			if err := s.eventually(ctx, "a sees c unreachable", func() bool { return !s.reachable("a", "c") && !s.reachable("c", "a") }); err != nil {
				return err
			}
			s.say("box a: c unreachable; box c: a and b unreachable — every lane goes on alone")
			return nil
		}},
		{"09:15", "粤C33333 enters at box c during the partition", func() error {
			return s.pass(ctx, c, c.entry, "粤C33333")
		}},
		{"09:20", "京D44444 enters at box a during the partition", func() error { return s.pass(ctx, a, a.entry, "京D44444") }},
		{"09:22", "沪K66666 (contactless) enters at box a during the partition", func() error { return s.pass(ctx, a, a.entry, contactlessPlate) }},
		{"09:25", "the bank asks for exit3's fee: box c cannot be reached", func() error {
			three := 3
			_, err := s.sim.Calc(ctx, &three, "")
			var re *cmb.RejectedError
			if !errors.As(err, &re) || re.Status != cmb.CalcUnavailable {
				return fmt.Errorf("demo: calc for exit3 during the partition = %v; want status 1", err)
			}
			s.say("gateway a answered status %d: %s", re.Status, re.Message)
			return nil
		}},
		{"09:28", "粤C33333 leaves at exit3 within the free 15 minutes (box c alone)", func() error { return s.pass(ctx, c, c.exit, "粤C33333") }},
		{"09:40", "粤B22222 reaches exit2 at box b and pays by scanning", func() error {
			bb.exit.Arrive("粤B22222")
			if err := s.settle(ctx); err != nil {
				return err
			}
			return s.scanAndLeave(ctx, bb)
		}},
		{"09:50", "沪K66666 leaves at exit3 (box c): c cannot see its entry", func() error {
			if err := s.pass(ctx, c, c.exit, contactlessPlate); err != nil {
				return err
			}
			id, err := s.heldNoEntry(c)
			if err != nil {
				return err
			}
			held = id
			s.say("box c let 沪K66666 out without its entry: no-entry record %s, its AutoPay held until the entry arrives", held)
			return nil
		}},
		{"10:10", "HEALED: box c's link is back", func() error {
			s.link.setCut(false)
			if err := s.eventually(ctx, "every box holds every record", s.agree); err != nil {
				return err
			}
			s.say("the boxes agree again: every box holds every record, in the same state")
			return s.matched(ctx, held)
		}},
		{"10:20", "京D44444 leaves at exit1 (box a) and pays by scanning", func() error {
			a.exit.Arrive("京D44444")
			if err := s.settle(ctx); err != nil {
				return err
			}
			return s.scanAndLeave(ctx, a)
		}},
		{"10:30", "every box's uplinks delivered, every change everywhere", func() error {
			if err := s.drain(ctx); err != nil {
				return err
			}
			return s.eventually(ctx, "the boxes agree", s.agree)
		}},
	}
	for _, st := range steps {
		if err := s.at(ctx, st.at); err != nil {
			return err
		}
		s.say("▶ %s", st.what)
		if err := st.do(); err != nil {
			return err
		}
	}
	return s.settle(ctx)
}

// drain runs simulated time until no box has a record or payment uplink
// queued.
func (s *siteDemo) drain(ctx context.Context) error {
	for range 15 * 60 {
		if err := s.settle(ctx); err != nil {
			return err
		}
		n := 0
		for _, b := range s.boxes {
			b.ctl.Kick()
		}
		time.Sleep(2 * time.Millisecond)
		for _, b := range s.boxes {
			k, err := pendingRecordUplinks(b.db, s.clk.Now())
			if err != nil {
				return err
			}
			n += k
		}
		if n == 0 {
			return nil
		}
		s.clk.Advance(time.Second)
	}
	return errors.New("demo: uplinks still queued after 15 simulated minutes")
}

// pendingRecordUplinks counts a box's queued uplinks of records or money.
func pendingRecordUplinks(db *store.DB, now time.Time) (int, error) {
	st, err := db.OutboxStats(now)
	if err != nil {
		return 0, err
	}
	n := st.Count
	for kind, k := range st.ByKind {
		if store.Droppable(kind) {
			n -= k
		}
	}
	return n, nil
}

// summary checks the site: every box holds every record in the same
// state, nothing is open or queued, every record's Indata and Outdata
// reached the platform once, nothing was charged twice.
func (s *siteDemo) summary() error {
	fmt.Fprintln(s.out)
	fmt.Fprintln(s.out, "── site summary ──")
	clean := true
	views := map[string]string{}
	var recs []store.Record
	for _, b := range s.boxes {
		v, err := s.view(b)
		if err != nil {
			return err
		}
		views[b.name] = v
		rs, err := b.db.Records("", 1000)
		if err != nil {
			return err
		}
		open := 0
		for _, r := range rs {
			if r.State.Open() {
				open++
			}
		}
		pending, err := pendingRecordUplinks(b.db, s.clk.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "box %s: %d records, %d open, %d record or payment uplinks pending\n", b.name, len(rs), open, pending)
		if open != 0 || pending != 0 {
			clean = false
		}
		if b.name == "a" {
			recs = rs
		}
	}
	same := views["a"] == views["b"] && views["b"] == views["c"]
	fmt.Fprintf(s.out, "every box holds every record in the same state with the same payments: %s\n", yesNo(same))
	clean = clean && same
	var paid, auto int64
	once := true
	matched, unmatched := 0, 0
	for _, r := range recs {
		if r.NoEntry != nil {
			// A no-entry exit matched to its entry sends nothing itself:
			// the entry's record carries the exit.
			if r.NoEntry.Matched == "" {
				unmatched++
			} else {
				matched++
			}
			continue
		}
		ps, err := s.box("a").db.Payments(r.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			paid += p.Amount
			if p.RequestOrder != "" {
				auto += p.Amount
			}
		}
		in := len(s.sim.Received(cmbsim.Filter{Endpoint: cmb.EpIndata, RecordID: r.ID}))
		out := len(s.sim.Received(cmbsim.Filter{Endpoint: cmb.EpOutdata, RecordID: r.ID}))
		if in != 1 || out != 1 {
			once = false
			fmt.Fprintf(s.out, "  record %s (%s): %d Indata, %d Outdata received\n", r.ID, r.Plate, in, out)
		}
	}
	fmt.Fprintf(s.out, "money: %s yuan received (%s scanned at the gateway, %s contactless), charged once each\n",
		console.FormatFen(paid), console.FormatFen(paid-auto), console.FormatFen(auto))
	fmt.Fprintf(s.out, "exits without a visible entry: %d matched to their entry, %d unmatched\n", matched, unmatched)
	fmt.Fprintf(s.out, "uplinks: every record's Indata and Outdata reached the platform once: %s\n", yesNo(once))
	fmt.Fprintf(s.out, "platform: %d order violations, %d double charges\n", len(s.sim.OrderViolations()), len(s.sim.DoubleCharges()))
	if !clean || !once || unmatched != 0 || len(s.sim.OrderViolations()) != 0 || len(s.sim.DoubleCharges()) != 0 {
		return errors.New("demo: the site summary is not clean")
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}
