package store_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestApplyReplRecordMerge(t *testing.T) {
	pairs := []string{"b<a", "c<a", "a<b", "c<b", "a<c", "b<c"}
	for _, tc := range []struct {
		name  string
		run   func(t *testing.T, s *site) string // returns the id to check
		state store.State
		out   int    // its out_code
		sup   bool   // superseded
		wrote string // its writer
	}{
		{name: "two exits at once: the greater writer wins", run: func(t *testing.T, s *site) string {
			r, _ := s.at("a", 0).OpenRecord(car("京B1", 1, t0))
			s.syncAll()
			s.at("a", time.Hour).MarkLeaving(r.ID, 11, t0.Add(time.Hour))
			s.at("b", time.Hour).MarkLeaving(r.ID, 12, t0.Add(time.Hour))
			s.syncAll()
			return r.ID
		}, state: store.StateLeaving, out: 12, wrote: "b"},
		{name: "closed beats a later rev that is still leaving", run: func(t *testing.T, s *site) string {
			r, _ := s.at("a", 0).OpenRecord(car("京B1", 1, t0))
			s.syncAll()
			s.at("a", time.Hour).CloseRecord(r.ID, store.Exit{OutCode: 11, OutTime: t0.Add(time.Hour)})
			s.at("b", time.Hour).MarkLeaving(r.ID, 12, t0.Add(time.Hour))
			s.at("b", time.Hour).MarkLeaving(r.ID, 13, t0.Add(time.Hour))
			s.syncAll()
			return r.ID
		}, state: store.StateClosed, out: 11, wrote: "a"},
		{name: "superseded, then a newer version of it: superseded again", run: func(t *testing.T, s *site) string {
			l, _ := s.at("a", 0).OpenRecord(car("京B1", 1, t0))
			s.sync("c", "a")
			s.at("b", time.Hour).OpenRecord(car("京B1", 2, t0.Add(time.Hour)))
			s.sync("a", "b")
			s.at("c", 2*time.Hour).MarkLeaving(l.ID, 13, t0.Add(2*time.Hour))
			s.syncAll()
			return l.ID
		}, state: store.StateClosed, out: 13, sup: true, wrote: "c"},
		{name: "superseded, then a real exit elsewhere: the exit", run: func(t *testing.T, s *site) string {
			l, _ := s.at("a", 0).OpenRecord(car("京B1", 1, t0))
			s.sync("c", "a")
			s.at("b", time.Hour).OpenRecord(car("京B1", 2, t0.Add(time.Hour)))
			s.sync("a", "b")
			s.at("c", 2*time.Hour).CloseRecord(l.ID, store.Exit{OutCode: 13, OutTime: t0.Add(2 * time.Hour)})
			s.syncAll()
			return l.ID
		}, state: store.StateClosed, out: 13, wrote: "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want string
			for _, mode := range []string{"batch", "reversed"} {
				s := newSite(t, mode, pairs, "a", "b", "c")
				id := tc.run(t, s)
				for _, box := range s.boxes {
					r, err := s.db[box].RecordByID(id)
					if err != nil {
						t.Fatal(err)
					}
					if r.State != tc.state || r.OutCode != tc.out || (r.Superseded != "") != tc.sup || r.Writer != tc.wrote {
						t.Errorf("%s at %s: %+v; want %s at exit %d, superseded %v, writer %s", mode, box, r, tc.state, tc.out, tc.sup, tc.wrote)
					}
					got := snapshot(t, s.db[box])
					if want == "" {
						want = got
					} else if got != want {
						t.Errorf("%s at %s differs:\n%s\n---- want:\n%s", mode, box, got, want)
					}
					if err := s.db[box].CheckConsistency(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
}

// ApplyResult names what changed.
func TestApplyReplResult(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "b")
	r, _ := s.at("a", 0).OpenRecord(car("京B1", 1, t0))
	s.db["a"].AddPayment(store.Payment{Order: "O1", RecordID: r.ID, Amount: 5})
	s.db["a"].PutVehicle(store.Vehicle{Plate: "京B2", List: store.ListVIP})
	es, _ := s.db["a"].ReplOwn(0, 100)
	for i := range es {
		es[i].Stream = uint64(100 + i)
	}
	es[len(es)-1].Stream = 0 // fetched
	res, err := s.db["b"].ApplyRepl("a", es)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ApplyResult{Origin: "a", Cursor: 3, Stream: 101, Records: []string{r.ID}, Paid: []string{r.ID}, Plates: []string{"京B2"}}
	if a, b := mustJSONv(res), mustJSONv(want); a != b {
		t.Errorf("ApplyRepl = %s; want %s", a, b)
	}
	cs, _ := s.db["b"].ReplCursors()
	if len(cs) != 1 || cs[0].Origin != "a" || cs[0].Seq != 3 || cs[0].Stream != 101 || !cs[0].At.Equal(t0) || !cs[0].AppliedAt.Equal(t0) {
		t.Errorf("ReplCursors = %+v", cs)
	}
}

func mustJSONv(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A failed apply commit applies nothing and keeps the cursor: the same
// entries are applied whole afterwards.
func TestApplyReplFailedCommit(t *testing.T) {
	src, _ := storetest.Open(t, boxOpts("b"))
	r, _ := src.OpenRecord(car("京F1", 1, t0), indata("x"))
	src.AddPayment(store.Payment{Order: "O1", RecordID: r.ID, Amount: 9})
	es, _ := src.ReplOwn(0, 10)
	var fail error
	o := boxOpts("a")
	o.FailCommit = func(op string) error {
		if op == "apply repl" {
			return fail
		}
		return nil
	}
	db, _ := storetest.Open(t, o)
	before := snapshot(t, db)
	fail = errors.New("power cut")
	if _, err := db.ApplyRepl("b", es); !errors.Is(err, fail) {
		t.Fatalf("ApplyRepl with a failing commit = %v", err)
	}
	if cs, _ := db.ReplCursors(); len(cs) != 0 || snapshot(t, db) != before {
		t.Fatalf("a failed apply left cursors %+v or changes", cs)
	}
	fail = nil
	res, err := db.ApplyRepl("b", es)
	if err != nil || res.Cursor != 3 || len(res.Paid) != 1 {
		t.Fatalf("ApplyRepl again = %+v, %v; want all 3 applied", res, err)
	}
	if sum, _, _ := db.PaidFor(r.ID); sum != 9 {
		t.Errorf("paid %d; want 9", sum)
	}
	if sh, _ := db.ReplShadow("b"); len(sh) != 1 {
		t.Errorf("shadow of b = %+v; want its Indata", sh)
	}
}
