package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// site is a few boxes in one test, each with its own clock, exchanging
// their logs the way a transport would (the cursor, ReplOwn, ApplyRepl,
// a fetch after a gap), in one of several deliveries.
type site struct {
	t     *testing.T
	boxes []string
	db    map[string]*store.DB
	path  map[string]string
	now   map[string]*time.Time
	mode  string   // how entries are delivered: batch, reversed, dups, gaps
	pairs []string // "to<from" in the order syncAll runs them
}

func newSite(t *testing.T, mode string, pairs []string, boxes ...string) *site {
	s := &site{t: t, boxes: boxes, db: map[string]*store.DB{}, path: map[string]string{}, now: map[string]*time.Time{}, mode: mode, pairs: pairs}
	for _, b := range boxes {
		clk := t0
		s.now[b] = &clk
		o := store.Options{Box: b, Now: func() time.Time { return *s.now[b] }}
		s.db[b], s.path[b] = storetest.Open(t, o)
	}
	return s
}

func (s *site) at(box string, d time.Duration) *store.DB {
	*s.now[box] = t0.Add(d)
	return s.db[box]
}

func (s *site) cursor(to, from string) uint64 {
	cs, err := s.db[to].ReplCursors()
	if err != nil {
		s.t.Fatalf("ReplCursors = %v", err)
	}
	for _, c := range cs {
		if c.Origin == from {
			return c.Seq
		}
	}
	return 0
}

// apply hands es to `to` and checks the result's cursor and gap.
func (s *site) apply(to, from string, es []store.ReplEntry) store.ApplyResult {
	s.t.Helper()
	before := s.cursor(to, from)
	h0, _, _ := s.db[to].ReplHead()
	drainWake(s.db[to])
	res, err := s.db[to].ApplyRepl(from, es)
	if err != nil {
		s.t.Fatalf("%s.ApplyRepl(%s, %d entries) = %v", to, from, len(es), err)
	}
	if drainWake(s.db[to]) {
		s.t.Fatalf("%s.ApplyRepl(%s) woke its publisher", to, from)
	}
	if h, _, _ := s.db[to].ReplHead(); h != h0 {
		s.t.Fatalf("%s.ApplyRepl(%s) logged %d entries of its own", to, from, h-h0)
	}
	want := before
	for _, e := range es {
		if e.Seq == want+1 {
			want++
		}
	}
	slices.SortFunc(es, func(a, b store.ReplEntry) int { return int(a.Seq) - int(b.Seq) })
	want = before
	gap := false
	for _, e := range es {
		if e.Seq == want+1 {
			want = e.Seq
		} else if e.Seq > want+1 {
			gap = true
			break
		}
	}
	if res.Cursor != want || res.Gap != gap || s.cursor(to, from) != want {
		s.t.Fatalf("%s.ApplyRepl(%s) from %d = cursor %d gap %v; want %d, %v", to, from, before, res.Cursor, res.Gap, want, gap)
	}
	return res
}

// sync brings `to` up to date with `from`'s log.
func (s *site) sync(to, from string) {
	s.t.Helper()
	for range 1000 {
		cur := s.cursor(to, from)
		es, err := s.db[from].ReplOwn(cur, 4)
		if err != nil {
			s.t.Fatal(err)
		}
		if len(es) == 0 {
			return
		}
		switch s.mode {
		case "batch":
			s.apply(to, from, es)
		case "dups": // the stream and a fetch deliver the same entries
			es = append(es, es...)
			es = append(es, es[0])
			s.apply(to, from, es)
			s.apply(to, from, es[:1])
		case "reversed": // one at a time, last first: gaps until the first
			for i := len(es) - 1; i >= 0; i-- {
				s.apply(to, from, []store.ReplEntry{es[i]})
			}
		case "gaps": // every second entry lost: a gap, then a fetch
			var odd []store.ReplEntry
			for i, e := range es {
				if i%2 == 0 {
					odd = append(odd, e)
				}
			}
			s.apply(to, from, odd)
		default:
			s.t.Fatalf("mode %q", s.mode)
		}
	}
	s.t.Fatalf("sync %s from %s does not end", to, from)
}

func (s *site) syncAll() {
	s.t.Helper()
	for _, p := range s.pairs {
		to, from, _ := strings.Cut(p, "<")
		s.sync(to, from)
	}
}

// snapshot is what every box must agree on.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	recs, err := db.Records("", 10000)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	for _, r := range recs {
		fmt.Fprintf(&b, "record %s\n", mustJSON(t, r))
		ps, err := db.Payments(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			fmt.Fprintf(&b, "  payment %s\n", mustJSON(t, p))
		}
	}
	open, _ := db.OpenRecords()
	for _, r := range open {
		fmt.Fprintf(&b, "open %s %s\n", r.Plate, r.ID)
	}
	sum, _ := db.Summary()
	fmt.Fprintf(&b, "open %d vip %d\n", sum.Open, sum.OpenVIP)
	bs, _ := db.Bindings()
	fmt.Fprintf(&b, "bindings %s\n", mustJSON(t, bs))
	vs, _ := db.ListVehicles()
	fmt.Fprintf(&b, "vehicles %s\n", mustJSON(t, vs))
	as, _ := db.Arrears("")
	fmt.Fprintf(&b, "arrears %s\n", mustJSON(t, as))
	return b.String()
}

// The scenario: entries and exits at different boxes, a pay notice at the
// gateway (c), a partition with the same plate entering at two boxes and
// one AutoPay recorded under two orders, bindings and lists changed at
// several boxes, arrears left at one box and collected at another, and a
// payment that reaches a box before its record.
func runScenario(t *testing.T, s *site) {
	a, b, c := "a", "b", "c"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r1, err := s.at(a, 0).OpenRecord(car("京A00001", 1, t0))
	must(err)
	r3, err := s.at(a, time.Minute).OpenRecord(car("京A00003", 1, t0.Add(time.Minute)))
	must(err)
	r5, err := s.at(a, 2*time.Minute).OpenRecord(car("京A00005", 1, t0.Add(2*time.Minute)))
	must(err)
	must(s.at(c, 0).Bind(store.Binding{Plate: "京A00009", Limit: 5000, Updated: t0}))
	must(s.at(a, 3*time.Minute).PutVehicle(store.Vehicle{Plate: "京A00008", List: store.ListVIP}))
	s.syncAll()

	// A pay notice at the gateway, the exit at b: b's settle sees it.
	_, _, err = s.at(c, 10*time.Minute).AddPayments([]store.Payment{{Order: "N1", RecordID: r1.ID, Amount: 500, PayTime: t0.Add(10 * time.Minute)}})
	must(err)
	s.sync(b, c)
	_, err = s.at(b, 15*time.Minute).MarkLeaving(r1.ID, 2, t0.Add(15*time.Minute))
	must(err)
	closed, err := s.db[b].Settle(r1.ID, func(r store.Record, pays []store.Payment) (store.Exit, []store.Message, error) {
		var paid int64
		for _, p := range pays {
			paid += p.Amount
		}
		return store.Exit{OutCode: 2, OutTime: t0.Add(15 * time.Minute), Fees: store.Fees{Total: 500, Paid: paid}}, []store.Message{outdata(r.ID)}, nil
	})
	must(err)
	if closed.Fees.Paid != 500 {
		t.Fatalf("exit at b: paid %d; want the gateway's 500", closed.Fees.Paid)
	}
	// Arrears at a.
	_, err = s.at(a, 20*time.Minute).CloseRecord(r5.ID, store.Exit{OutCode: 1, OutTime: t0.Add(20 * time.Minute), AwaitOrder: "RO5", Fees: store.Fees{Total: 300, Due: 300}})
	must(err)
	_, err = s.at(a, 21*time.Minute).SettleOwed(r5.ID, store.Owed{At: t0.Add(21 * time.Minute), Reason: "no money"})
	must(err)
	s.syncAll()

	// The partition: nothing is exchanged.
	_, err = s.at(a, time.Hour).OpenRecord(car("京A00002", 1, t0.Add(time.Hour)))
	must(err)
	_, err = s.at(b, 2*time.Hour).OpenRecord(car("京A00002", 2, t0.Add(2*time.Hour)))
	must(err)
	ap := store.Message{Kind: store.KindAutoPay, RecordID: r3.ID, RequestOrder: "RO3"}
	_, err = s.at(a, time.Hour).MarkLeaving(r3.ID, 1, t0.Add(time.Hour), ap)
	must(err)
	q, _ := s.db[a].QueuedAutoPays(r3.ID)
	must(s.db[a].RecordAutoPaid(store.AutoPaid{Seq: q[0].Seq, Payment: &store.Payment{Order: "CH3", RecordID: r3.ID, RequestOrder: "RO3", Amount: 700, PayType: 99}}))
	must(s.at(c, 61*time.Minute).AddAutoPayment(store.Payment{Order: "BN3", BankNotice: "BN3", RecordID: r3.ID, RequestOrder: "RO3", Amount: 700, PayType: 99}))
	_, err = s.at(a, 3*time.Hour).Unbind("京A00009", t0.Add(3*time.Hour))
	must(err)
	must(s.at(c, 2*time.Hour).Bind(store.Binding{Plate: "京A00009", Limit: 9000, Updated: t0.Add(2 * time.Hour)}))
	must(s.at(a, time.Hour).DeleteVehicle("京A00008", store.ListVIP))
	must(s.at(b, 90*time.Minute).PutVehicle(store.Vehicle{Plate: "京A00008", List: store.ListVIP, Note: "renewed"}))
	must(s.at(b, 90*time.Minute).PutVehicle(store.Vehicle{Plate: "京A00007", List: store.ListMonthly}))
	must(s.at(c, 90*time.Minute).PutVehicle(store.Vehicle{Plate: "京A00007", List: store.ListMonthly, Note: "c"}))
	// A record only c has seen gets a payment at c.
	r4, err := s.at(a, 4*time.Hour).OpenRecord(car("京A00004", 1, t0.Add(4*time.Hour)))
	must(err)
	s.sync(c, a)
	must(s.at(c, 5*time.Hour).AddPayment(store.Payment{Order: "O4", RecordID: r4.ID, Amount: 100}))
	s.syncAll()

	// The arrears of 京A00005 collected at b.
	r5b, err := s.at(b, 6*time.Hour).OpenRecord(car("京A00005", 2, t0.Add(6*time.Hour)))
	must(err)
	as, _ := s.db[b].Arrears("京A00005")
	if len(as) != 1 {
		t.Fatalf("arrears of 京A00005 at b = %+v; want the one left at a", as)
	}
	_, err = s.at(b, 7*time.Hour).CloseRecord(r5b.ID, store.Exit{OutCode: 2, OutTime: t0.Add(7 * time.Hour), Collected: as})
	must(err)
	for range 3 {
		s.syncAll()
	}
}

func TestApplyReplConverges(t *testing.T) {
	orders := map[string][]string{
		"record first":  {"b<a", "c<a", "a<b", "c<b", "a<c", "b<c"},
		"payment first": {"b<c", "a<c", "c<b", "a<b", "b<a", "c<a"},
	}
	var golden string
	for _, mode := range []string{"batch", "dups", "reversed", "gaps"} {
		for name, pairs := range orders {
			t.Run(mode+"/"+name, func(t *testing.T) {
				s := newSite(t, mode, pairs, "a", "b", "c")
				runScenario(t, s)
				snaps := map[string]string{}
				for _, box := range s.boxes {
					snaps[box] = snapshot(t, s.db[box])
					if err := s.db[box].CheckConsistency(); err != nil {
						t.Errorf("box %s: %v", box, err)
					}
				}
				for _, box := range s.boxes[1:] {
					if snaps[box] != snaps["a"] {
						t.Fatalf("box %s differs from a:\n%s\n---- a:\n%s", box, snaps[box], snaps["a"])
					}
				}
				if golden == "" {
					golden = snaps["a"]
				} else if golden != snaps["a"] {
					t.Errorf("delivery %s/%s ends elsewhere than the first:\n%s\n---- first:\n%s", mode, name, snaps["a"], golden)
				}
				checkScenario(t, s)
				// Everything again: nothing changes.
				for _, box := range s.boxes {
					for _, from := range s.boxes {
						if box == from {
							continue
						}
						es, _ := s.db[from].ReplOwn(0, 10000)
						res, err := s.db[box].ApplyRepl(from, es)
						if err != nil || len(res.Records)+len(res.Paid)+len(res.Plates) != 0 || res.Gap {
							t.Errorf("re-apply of %s at %s = %+v, %v; want no change", from, box, res, err)
						}
					}
					if got := snapshot(t, s.db[box]); got != snaps[box] {
						t.Errorf("re-apply changed box %s", box)
					}
				}
			})
		}
	}
}

// checkScenario checks the merged state against the merge rules.
func checkScenario(t *testing.T, s *site) {
	db := s.db["a"]
	// Two open records of 京A00002: b's (later) keeps the plate.
	recs, _ := db.Records("京A00002", 10)
	if len(recs) != 2 {
		t.Fatalf("records of 京A00002 = %d; want 2", len(recs))
	}
	open, err := db.OpenByPlate("京A00002")
	if err != nil || !strings.Contains(open.ID, "b") || !open.InTime.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("open record of 京A00002 = %+v, %v; want b's, the later", open, err)
	}
	old := recs[1]
	if old.State != store.StateClosed || old.Superseded != open.ID || !strings.Contains(old.Note, "superseded") {
		t.Errorf("older record of 京A00002 = %+v; want closed, superseded by %s", old, open.ID)
	}
	// The exit at b of a's entry.
	r1, _ := db.Records("京A00001", 1)
	if r1[0].State != store.StateClosed || r1[0].OutCode != 2 || r1[0].Fees.Paid != 500 || r1[0].Writer != "b" {
		t.Errorf("京A00001 = %+v; want closed at exit 2 by b with 500 paid", r1[0])
	}
	// One AutoPay, one payment: the smaller order kept, the other a repeat.
	r3, _ := db.Records("京A00003", 1)
	ps, _ := db.Payments(r3[0].ID)
	if len(ps) != 1 || ps[0].Order != "BN3" || ps[0].Amount != 700 {
		t.Errorf("payments of 京A00003 = %+v; want one of 700 under BN3", ps)
	}
	for _, box := range s.boxes {
		for _, o := range []string{"BN3", "CH3"} {
			_, _, err := s.db[box].AddPayments([]store.Payment{{Order: o, RecordID: r3[0].ID, Amount: 700}})
			if err != nil {
				t.Errorf("box %s: repeat of %s = %v", box, o, err)
			}
			if sum, _, _ := s.db[box].PaidFor(r3[0].ID); sum != 700 {
				t.Errorf("box %s: after a repeat of %s paid %d; want 700", box, o, sum)
			}
		}
	}
	// The payment that came before its record.
	r4, _ := db.Records("京A00004", 1)
	if sum, _, _ := db.PaidFor(r4[0].ID); sum != 100 {
		t.Errorf("京A00004 paid %d; want 100", sum)
	}
	// Last writers: a's unbind (3h) over c's bind (2h); b's vehicle (1h30)
	// over a's delete (1h); at the same time c over b.
	if _, err := db.Binding("京A00009"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("binding of 京A00009 = %v; want unbound", err)
	}
	vs, _ := db.ListVehicles()
	if got := mustJSON(t, vs); !strings.Contains(got, `"renewed"`) || !strings.Contains(got, `"note":"c"`) {
		t.Errorf("vehicles = %s; want b's renewal and c's entry", got)
	}
	if as, _ := db.Arrears(""); len(as) != 0 {
		t.Errorf("arrears = %+v; want collected", as)
	}
}

// Hostile or wrong input changes nothing.
func TestApplyReplRefuses(t *testing.T) {
	db, _ := storetest.Open(t, boxOpts("a"))
	rec, _ := json.Marshal(store.Record{ID: "r1", Plate: "京A1", State: store.StateInside, Rev: 1, Writer: "b"})
	good := store.ReplEntry{Origin: "b", Seq: 1, At: t0, Kind: store.ReplRecord, Key: "r1", Data: rec}
	with := func(f func(e *store.ReplEntry)) []store.ReplEntry {
		e := good
		f(&e)
		return []store.ReplEntry{good, e}
	}
	for _, tc := range []struct {
		name   string
		origin string
		es     []store.ReplEntry
	}{
		{"own origin", "a", []store.ReplEntry{{Origin: "a", Seq: 1, Kind: store.ReplUnbind, Key: "x"}}},
		{"bad origin", "B!", []store.ReplEntry{{Origin: "B!", Seq: 1, Kind: store.ReplUnbind, Key: "x"}}},
		{"other origin inside", "b", with(func(e *store.ReplEntry) { e.Origin = "c"; e.Seq = 2 })},
		{"seq 0", "b", with(func(e *store.ReplEntry) { e.Seq = 0 })},
		{"unknown kind", "b", with(func(e *store.ReplEntry) { e.Seq, e.Kind = 2, "drop_table" })},
		{"bad json", "b", with(func(e *store.ReplEntry) { e.Seq, e.Data = 2, json.RawMessage(`{"id":`) })},
		{"key mismatch", "b", with(func(e *store.ReplEntry) { e.Seq, e.Key = 2, "r2" })},
		{"oversize key", "b", with(func(e *store.ReplEntry) { e.Seq, e.Key = 2, strings.Repeat("k", 200) })},
		{"oversize data", "b", with(func(e *store.ReplEntry) { e.Seq, e.Data = 2, json.RawMessage(`"`+strings.Repeat("x", 70000)+`"`) })},
		{"no data", "b", with(func(e *store.ReplEntry) { e.Seq, e.Data = 2, nil })},
		{"bad state", "b", with(func(e *store.ReplEntry) {
			e.Seq, e.Data = 2, json.RawMessage(`{"id":"r1","plate":"京A1","state":9,"rev":2,"writer":"b"}`)
		})},
		{"no writer", "b", with(func(e *store.ReplEntry) {
			e.Seq, e.Data = 2, json.RawMessage(`{"id":"r1","plate":"京A1","state":1,"rev":2}`)
		})},
		{"negative payment", "b", with(func(e *store.ReplEntry) {
			e.Seq, e.Kind, e.Key, e.Data = 2, store.ReplPayment, "O1", json.RawMessage(`{"order":"O1","record_id":"r1","amount":-5}`)
		})},
		{"droppable uplink", "b", with(func(e *store.ReplEntry) {
			e.Seq, e.Kind, e.Data = 2, store.ReplUplink, json.RawMessage(`{"seq":3,"kind":"PicUpload","record_id":"r1"}`)
		})},
		{"takeover of itself", "b", with(func(e *store.ReplEntry) {
			e.Seq, e.Kind, e.Key, e.Data = 2, store.ReplTakeover, "b", json.RawMessage(`{"origin":"b","upto":1}`)
		})},
		{"vehicle on no list", "b", with(func(e *store.ReplEntry) {
			e.Seq, e.Kind, e.Key, e.Data = 2, store.ReplVehicle, "京A1", json.RawMessage(`{"plate":"京A1","list":"gold"}`)
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, db)
			res, err := db.ApplyRepl(tc.origin, tc.es)
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("ApplyRepl = %+v, %v; want ErrInvalid", res, err)
			}
			if cs, _ := db.ReplCursors(); len(cs) != 0 {
				t.Errorf("cursors after a refused batch = %+v", cs)
			}
			if after := snapshot(t, db); after != before {
				t.Errorf("a refused batch changed the store:\n%s", after)
			}
		})
	}
	if _, err := db.ApplyRepl("b", []store.ReplEntry{good}); err != nil {
		t.Fatalf("the good entry alone = %v", err)
	}
	nobox, _ := storetest.Open(t, opts())
	if _, err := nobox.ApplyRepl("b", []store.ReplEntry{good}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ApplyRepl without a box = %v; want ErrInvalid", err)
	}
}
