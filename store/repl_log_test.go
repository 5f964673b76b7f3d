package store_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func boxOpts(box string) store.Options {
	o := opts()
	o.Box = box
	return o
}

// own returns every entry of db's own log.
func own(t *testing.T, db *store.DB) []store.ReplEntry {
	t.Helper()
	es, err := db.ReplOwn(0, 10000)
	if err != nil {
		t.Fatalf("ReplOwn = %v", err)
	}
	return es
}

func kindsOf(es []store.ReplEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

func drainWake(db *store.DB) bool {
	select {
	case <-db.ReplWake():
		return true
	default:
		return false
	}
}

// Every domain change is logged in its own commit, with the entries the
// other boxes need; bookkeeping that is not a domain change is not.
func TestReplLogKinds(t *testing.T) {
	type env struct {
		db  *store.DB
		rec store.Record // an open record of 沪C1 (its Indata queued)
		ind uint64       // the Indata's outbox seq
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e *env) // before the head is taken
		op    func(t *testing.T, e *env) error
		want  []string
		key   string // the first entry's Key ("" = not checked)
	}{
		{name: "entry with its Indata", op: func(t *testing.T, e *env) error {
			id := e.db.NewRecordID(t0, 2)
			r := car("沪C2", 2, t0)
			r.ID = id
			_, err := e.db.OpenRecord(r, indata(id))
			return err
		}, want: []string{store.ReplRecord, store.ReplUplink}},
		{name: "leaving", op: func(t *testing.T, e *env) error {
			_, err := e.db.MarkLeaving(e.rec.ID, 5, t0.Add(time.Hour))
			return err
		}, want: []string{store.ReplRecord}},
		{name: "exit with its Outdata", op: func(t *testing.T, e *env) error {
			_, err := e.db.CloseRecord(e.rec.ID, store.Exit{OutCode: 5, OutTime: t0.Add(time.Hour)}, outdata(e.rec.ID))
			return err
		}, want: []string{store.ReplRecord, store.ReplUplink}},
		{name: "payment", op: func(t *testing.T, e *env) error {
			return e.db.AddPayment(store.Payment{Order: "O1", RecordID: e.rec.ID, Amount: 500})
		}, want: []string{store.ReplPayment}, key: "O1"},
		{name: "pay notice of two items", op: func(t *testing.T, e *env) error {
			_, _, err := e.db.AddPayments([]store.Payment{{Order: "O1", RecordID: e.rec.ID, Amount: 5}, {Order: "O2", RecordID: e.rec.ID, Amount: 6}})
			return err
		}, want: []string{store.ReplPayment, store.ReplPayment}},
		{name: "repeated pay notice", setup: func(t *testing.T, e *env) {
			if err := e.db.AddPayment(store.Payment{Order: "O1", RecordID: e.rec.ID, Amount: 5}); err != nil {
				t.Fatal(err)
			}
		}, op: func(t *testing.T, e *env) error {
			_, _, err := e.db.AddPayments([]store.Payment{{Order: "O1", RecordID: e.rec.ID, Amount: 5}})
			return err
		}},
		{name: "AutoPay answered", setup: func(t *testing.T, e *env) {
			if _, err := e.db.MarkLeaving(e.rec.ID, 5, t0.Add(time.Hour), store.Message{Kind: store.KindAutoPay, RecordID: e.rec.ID, RequestOrder: "RO1"}); err != nil {
				t.Fatal(err)
			}
		}, op: func(t *testing.T, e *env) error {
			q, _ := e.db.QueuedAutoPays(e.rec.ID)
			return e.db.RecordAutoPaid(store.AutoPaid{Seq: q[0].Seq, Payment: &store.Payment{Order: "CH1", RecordID: e.rec.ID, RequestOrder: "RO1", Amount: 500}})
		}, want: []string{store.ReplPayment, store.ReplUplinkDone}},
		{name: "ack", op: func(t *testing.T, e *env) error {
			return e.db.Ack(e.ind)
		}, want: []string{store.ReplUplinkDone}, key: "REC"},
		{name: "dead-lettered after refusals", op: func(t *testing.T, e *env) error {
			_, err := e.db.Refused(e.ind, t0, "no", 1, t0)
			return err
		}, want: []string{store.ReplUplinkDone}},
		{name: "retry is no change", op: func(t *testing.T, e *env) error {
			_, err := e.db.Retry(e.ind, t0.Add(time.Minute), "timeout")
			return err
		}},
		{name: "picture and space count are not record data", op: func(t *testing.T, e *env) error {
			_, err := e.db.Enqueue(store.Message{Kind: store.KindPicUpload, RecordID: e.rec.ID}, store.Message{Kind: store.KindSpaceInfo})
			return err
		}},
		{name: "audit is local", op: func(t *testing.T, e *env) error {
			return e.db.Audit(store.AuditEvent{Kind: "barrier"})
		}},
		{name: "bind", op: func(t *testing.T, e *env) error {
			return e.db.Bind(store.Binding{Plate: "沪C1", Limit: 5000, Updated: t0})
		}, want: []string{store.ReplBinding}, key: "沪C1"},
		{name: "put binding", op: func(t *testing.T, e *env) error {
			return e.db.PutBinding(store.Binding{Plate: "沪C1", Limit: 5000, Updated: t0})
		}, want: []string{store.ReplBinding}},
		{name: "unbind", op: func(t *testing.T, e *env) error {
			_, err := e.db.Unbind("沪C1", t0)
			return err
		}, want: []string{store.ReplUnbind}, key: "沪C1"},
		{name: "delete binding", op: func(t *testing.T, e *env) error {
			_, err := e.db.DeleteBinding("沪C1")
			return err
		}, want: []string{store.ReplUnbind}},
		{name: "vehicle", op: func(t *testing.T, e *env) error {
			return e.db.PutVehicle(store.Vehicle{Plate: "沪C9", List: store.ListVIP})
		}, want: []string{store.ReplVehicle}, key: "沪C9"},
		{name: "vehicle deleted", setup: func(t *testing.T, e *env) {
			if err := e.db.PutVehicle(store.Vehicle{Plate: "沪C9", List: store.ListVIP}); err != nil {
				t.Fatal(err)
			}
		}, op: func(t *testing.T, e *env) error {
			return e.db.DeleteVehicle("沪C9", store.ListVIP)
		}, want: []string{store.ReplVehicleDel}, key: "沪C9"},
		{name: "vehicle sync", setup: func(t *testing.T, e *env) {
			if err := e.db.PutVehicle(store.Vehicle{Plate: "沪C8", List: store.ListMonthly, Note: "sync"}); err != nil {
				t.Fatal(err)
			}
		}, op: func(t *testing.T, e *env) error {
			_, _, err := e.db.SyncVehicles([]store.Vehicle{{Plate: "沪C7", List: store.ListMonthly, Note: "sync"}}, func(v store.Vehicle) bool { return v.Note == "sync" })
			return err
		}, want: []string{store.ReplVehicle, store.ReplVehicleDel}},
		{name: "refused after an offline release: arrears", setup: func(t *testing.T, e *env) {
			if _, err := e.db.CloseRecord(e.rec.ID, store.Exit{OutCode: 5, OutTime: t0.Add(time.Hour), AwaitOrder: "RO1", Fees: store.Fees{Total: 500, Due: 500}}); err != nil {
				t.Fatal(err)
			}
		}, op: func(t *testing.T, e *env) error {
			_, err := e.db.SettleOwed(e.rec.ID, store.Owed{At: t0.Add(2 * time.Hour), Reason: "no money"})
			return err
		}, want: []string{store.ReplArrear, store.ReplRecord}},
		{name: "arrears collected at the next exit", setup: func(t *testing.T, e *env) {
			if _, err := e.db.CloseRecord(e.rec.ID, store.Exit{OutCode: 5, OutTime: t0.Add(time.Hour), AwaitOrder: "RO1", Fees: store.Fees{Total: 500, Due: 500}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.SettleOwed(e.rec.ID, store.Owed{At: t0.Add(2 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			r, err := e.db.OpenRecord(car("沪C1", 1, t0.Add(3*time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			e.rec = r
		}, op: func(t *testing.T, e *env) error {
			as, _ := e.db.Arrears("沪C1")
			_, err := e.db.CloseRecord(e.rec.ID, store.Exit{OutCode: 5, OutTime: t0.Add(4 * time.Hour), Collected: as})
			return err
		}, want: []string{store.ReplArrearDel, store.ReplRecord}, key: "沪C1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := storetest.Open(t, boxOpts("a"))
			e := &env{db: db}
			id := db.NewRecordID(t0, 1)
			r := car("沪C1", 1, t0)
			r.ID = id
			var err error
			if e.rec, err = db.OpenRecord(r, indata(id)); err != nil {
				t.Fatal(err)
			}
			q, _ := db.Messages(0, 10)
			e.ind = q[0].Seq
			if tc.setup != nil {
				tc.setup(t, e)
			}
			head, _, _ := db.ReplHead()
			drainWake(db)
			if err := tc.op(t, e); err != nil {
				t.Fatalf("op = %v", err)
			}
			es := own(t, db)
			got := kindsOf(es[head:])
			if !slices.Equal(got, tc.want) {
				t.Fatalf("entries logged = %v; want %v", got, tc.want)
			}
			if woke := drainWake(db); woke != (len(tc.want) > 0) {
				t.Errorf("ReplWake signalled = %v; want %v", woke, len(tc.want) > 0)
			}
			for i, en := range es[head:] {
				if en.Origin != "a" || en.Seq != head+uint64(i)+1 || !en.At.Equal(t0) || (len(en.Data) == 0) != (en.Kind == store.ReplUnbind) {
					t.Errorf("entry %d = %s %d %s %v %s; want origin a, seq %d, at t0, data", i, en.Origin, en.Seq, en.Kind, en.At, en.Data, head+uint64(i)+1)
				}
			}
			if tc.key == "REC" {
				tc.key = e.rec.ID
			}
			if tc.key != "" && es[head].Key != tc.key {
				t.Errorf("entry key = %q; want %q", es[head].Key, tc.key)
			}
		})
	}
}

// The record entry is the whole record as stored, with its Rev and
// Writer moving on at each change.
func TestReplRecordRev(t *testing.T) {
	db, _ := storetest.Open(t, boxOpts("b2"))
	r, _ := db.OpenRecord(car("沪C1", 1, t0))
	db.MarkLeaving(r.ID, 5, t0.Add(time.Hour))
	c, err := db.CloseRecord(r.ID, store.Exit{OutCode: 5, OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 300, Due: 300}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Rev != 3 || c.Writer != "b2" {
		t.Errorf("closed record rev %d writer %q; want 3, b2", c.Rev, c.Writer)
	}
	es := own(t, db)
	for i, e := range es {
		var got store.Record
		if err := json.Unmarshal(e.Data, &got); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got.Rev != uint64(i+1) || got.ID != r.ID || e.Key != r.ID {
			t.Errorf("entry %d: record rev %d id %s key %s; want rev %d of %s", i, got.Rev, got.ID, e.Key, i+1, r.ID)
		}
	}
	var last store.Record
	json.Unmarshal(es[2].Data, &last)
	stored, _ := db.RecordByID(r.ID)
	if a, b := mustJSON(t, last), mustJSON(t, stored); a != b {
		t.Errorf("logged record %s; stored %s", a, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Without a box nothing is logged and records carry no Rev.
func TestReplNoBoxNoLog(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(car("沪C1", 1, t0), indata("x"))
	db.AddPayment(store.Payment{Order: "O1", RecordID: r.ID, Amount: 5})
	db.Bind(store.Binding{Plate: "沪C1", Limit: 1, Updated: t0})
	c, _ := db.CloseRecord(r.ID, store.Exit{OutCode: 5, OutTime: t0.Add(time.Hour)})
	if c.Rev != 0 || c.Writer != "" {
		t.Errorf("record rev %d writer %q without a box; want none", c.Rev, c.Writer)
	}
	if es := own(t, db); len(es) != 0 {
		t.Errorf("entries without a box = %v", es)
	}
	if h, p, err := db.ReplHead(); h != 0 || p != 0 || err != nil {
		t.Errorf("ReplHead = %d, %d, %v; want 0, 0, nil", h, p, err)
	}
	if drainWake(db) {
		t.Error("ReplWake signalled without a box")
	}
	if err := db.SetReplPublished(0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetReplPublished without a box = %v; want ErrInvalid", err)
	}
}

// A commit that fails logs nothing; the next one takes the next seq, and
// seqs have no gaps across restarts.
func TestReplLogFailedCommitAndRestart(t *testing.T) {
	var fail error
	o := boxOpts("a")
	o.FailCommit = func(string) error { return fail }
	db, path := storetest.Open(t, o)
	r, err := db.OpenRecord(car("沪C1", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	drainWake(db)
	fail = errors.New("disk full")
	ops := []func() error{
		func() error { _, err := db.OpenRecord(car("沪C2", 1, t0)); return err },
		func() error { return db.AddPayment(store.Payment{Order: "O1", RecordID: r.ID, Amount: 5}) },
		func() error { _, err := db.CloseRecord(r.ID, store.Exit{OutTime: t0}, outdata(r.ID)); return err },
		func() error { return db.PutVehicle(store.Vehicle{Plate: "沪C9", List: store.ListVIP}) },
		func() error { _, err := db.Enqueue(indata(r.ID)); return err },
	}
	for i, op := range ops {
		if err := op(); err == nil {
			t.Fatalf("op %d with a failing commit succeeded", i)
		}
	}
	if h, _, _ := db.ReplHead(); h != 1 {
		t.Errorf("head after failed commits = %d; want 1", h)
	}
	if _, err := db.OpenByPlate("沪C2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record of a failed commit: %v", err)
	}
	if drainWake(db) {
		t.Error("ReplWake signalled by failed commits")
	}
	fail = nil
	if err := db.AddPayment(store.Payment{Order: "O1", RecordID: r.ID, Amount: 5}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, _ := storetest.Reopen(t, path, o)
	if _, err := db2.CloseRecord(r.ID, store.Exit{OutTime: t0}, outdata(r.ID)); err != nil {
		t.Fatal(err)
	}
	es := own(t, db2)
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("seqs %v: not 1… without gaps", es)
		}
	}
	if got, want := kindsOf(es), []string{store.ReplRecord, store.ReplPayment, store.ReplRecord, store.ReplUplink}; !slices.Equal(got, want) {
		t.Errorf("log = %v; want %v", got, want)
	}
	if h, _, _ := db2.ReplHead(); h != 4 {
		t.Errorf("head = %d; want 4", h)
	}
	if es, _ := db2.ReplOwn(2, 1); len(es) != 1 || es[0].Seq != 3 {
		t.Errorf("ReplOwn(2, 1) = %+v; want entry 3", es)
	}
}

func TestReplPublished(t *testing.T) {
	db, path := storetest.Open(t, boxOpts("a"))
	for i := 0; i < 4; i++ {
		db.PutVehicle(store.Vehicle{Plate: "沪C9", List: store.ListVIP, Note: string(rune('a' + i))})
	}
	steps := []struct {
		name  string
		do    func() error
		want  uint64
		isErr bool
	}{
		{"set 3", func() error { return db.SetReplPublished(3) }, 3, false},
		{"set 2 ignored", func() error { return db.SetReplPublished(2) }, 3, false},
		{"set beyond head", func() error { return db.SetReplPublished(5) }, 3, true},
		{"reset 1", func() error { return db.ResetReplPublished(1) }, 1, false},
		{"reset upwards ignored", func() error { return db.ResetReplPublished(4) }, 1, false},
		{"set 4", func() error { return db.SetReplPublished(4) }, 4, false},
	}
	for _, s := range steps {
		err := s.do()
		if (err != nil) != s.isErr || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("%s: err = %v; want error %v", s.name, err, s.isErr)
		}
		if h, p, _ := db.ReplHead(); h != 4 || p != s.want {
			t.Errorf("%s: ReplHead = %d, %d; want 4, %d", s.name, h, p, s.want)
		}
	}
	drainWake(db)
	if drainWake(db) {
		t.Error("ReplWake holds more than one signal")
	}
	db.Close()
	db2, _ := storetest.Reopen(t, path, boxOpts("a"))
	if h, p, _ := db2.ReplHead(); h != 4 || p != 4 {
		t.Errorf("after restart ReplHead = %d, %d; want 4, 4", h, p)
	}
}
