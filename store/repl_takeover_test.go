package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestTakeOver(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "g", "c")
	a, g, c := s.db["a"], s.db["g"], s.db["c"]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// At a: one record fully queued (Indata, AutoPay, Outdata), one whose
	// Indata was delivered, and a picture (not record data).
	id1 := a.NewRecordID(t0, 1)
	r1 := car("京C1", 1, t0)
	r1.ID = id1
	_, err := a.OpenRecord(r1, indata(id1))
	must(err)
	ap := store.Message{Kind: store.KindAutoPay, RecordID: id1, RequestOrder: "RO1", URL: "https://bank/post", Params: map[string]string{"fee": "500"}}
	_, err = s.at("a", time.Hour).MarkLeaving(id1, 1, t0.Add(time.Hour), ap)
	must(err)
	_, err = a.CloseRecord(id1, store.Exit{OutCode: 1, OutTime: t0.Add(time.Hour)}, outdata(id1))
	must(err)
	id2 := a.NewRecordID(t0, 1)
	r2 := car("京C2", 1, t0)
	r2.ID = id2
	_, err = a.OpenRecord(r2, indata(id2))
	must(err)
	q, _ := a.Messages(0, 10)
	must(a.Ack(q[3].Seq)) // id2's Indata delivered
	_, err = a.Enqueue(store.Message{Kind: store.KindPicUpload, RecordID: id1})
	must(err)
	s.sync("g", "a")
	s.sync("c", "a")
	if q, _ := g.QueuedElsewhere(id1); len(q) != 3 || q[0].Kind != "Indata" {
		t.Errorf("QueuedElsewhere(id1) at g = %v; want a's three", msgKinds(q))
	}
	if q, _ := g.QueuedElsewhere(id2); len(q) != 0 {
		t.Errorf("QueuedElsewhere(id2) at g = %v; want none (delivered)", msgKinds(q))
	}
	sh, _ := g.ReplShadow("a")
	if got := msgKinds(sh); !slices.Equal(got, []string{"Indata", "AutoPay", "Outdata"}) {
		t.Fatalf("g's shadow of a = %v; want Indata, AutoPay, Outdata", got)
	}

	// a goes silent; meanwhile it queues another entry.
	id3 := a.NewRecordID(t0, 1)
	r3 := car("京C3", 1, t0)
	r3.ID = id3
	_, err = s.at("a", 2*time.Hour).OpenRecord(r3, indata(id3))
	must(err)

	n, err := s.at("g", 3*time.Hour).TakeOver("a")
	if err != nil || n != 3 {
		t.Fatalf("TakeOver(a) = %d, %v; want 3", n, err)
	}
	out, _ := g.Messages(0, 10)
	if got := msgKinds(out); !slices.Equal(got, []string{"Indata", "AutoPay", "Outdata"}) {
		t.Fatalf("g's outbox = %v; want a's three in order", got)
	}
	if m := out[1]; m.RequestOrder != "RO1" || !m.Unresolved || m.URL != ap.URL || m.Params["fee"] != "500" || m.RecordID != id1 {
		t.Errorf("taken AutoPay = %+v; want RO1, unresolved, its url and params", m)
	}
	for _, m := range out {
		if !m.Due.Equal(t0.Add(3 * time.Hour)) {
			t.Errorf("taken %s due %v; want now", m.Kind, m.Due)
		}
	}
	if sh, _ := g.ReplShadow("a"); len(sh) != 0 {
		t.Errorf("g's shadow of a after the takeover = %v", msgKinds(sh))
	}
	es := own(t, g)
	if got := kindsOf(es); !slices.Equal(got, []string{"uplink", "uplink", "uplink", "takeover"}) {
		t.Fatalf("g's log = %v", got)
	}
	if n, err := g.TakeOver("a"); n != 0 || err != nil {
		t.Errorf("second TakeOver(a) = %d, %v; want 0, nil", n, err)
	}

	// a comes back and learns it: it drops the three, keeps the later one.
	s.sync("a", "g")
	left, _ := a.Messages(0, 10)
	if got := msgKinds(left); !slices.Equal(got, []string{"PicUpload", "Indata"}) || left[1].RecordID != id3 {
		t.Errorf("a's outbox after the takeover = %v; want its picture and id3's Indata", got)
	}
	evs, _ := a.RecentAudit(5)
	if len(evs) == 0 || evs[len(evs)-1].Kind != "site_takeover" || !strings.Contains(evs[len(evs)-1].Detail, "box g") {
		t.Errorf("a's audit = %+v; want the takeover", evs)
	}
	// c: g's three queued, a's shadow only id3's Indata.
	s.sync("c", "g")
	s.sync("c", "a")
	if sh, _ := c.ReplShadow("g"); len(sh) != 3 {
		t.Errorf("c's shadow of g = %v; want the three taken", msgKinds(sh))
	}
	if sh, _ := c.ReplShadow("a"); len(sh) != 1 || sh[0].RecordID != id3 {
		t.Errorf("c's shadow of a = %+v; want id3's Indata", sh)
	}
	// g delivers them: they leave the shadows.
	for _, m := range out {
		must(g.Ack(m.Seq))
	}
	s.sync("c", "g")
	if sh, _ := c.ReplShadow("g"); len(sh) != 0 {
		t.Errorf("c's shadow of g after the acks = %v", msgKinds(sh))
	}
	for _, box := range s.boxes {
		if err := s.db[box].CheckConsistency(); err != nil {
			t.Errorf("%s: %v", box, err)
		}
	}
}

func TestTakeOverRefuses(t *testing.T) {
	db, _ := storetest.Open(t, boxOpts("g"))
	for _, origin := range []string{"g", "", "A", "toolong"} {
		if _, err := db.TakeOver(origin); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("TakeOver(%q) = %v; want ErrInvalid", origin, err)
		}
	}
	nobox, _ := storetest.Open(t, opts())
	if _, err := nobox.TakeOver("a"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("TakeOver without a box = %v; want ErrInvalid", err)
	}
}

func msgKinds(ms []store.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Kind)
	}
	return out
}

// A record entered at a and left at g: g's own Outdata, queued before the
// takeover, still goes after a's Indata taken over.
func TestTakeOverKeepsRecordOrder(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "g")
	a, g := s.db["a"], s.db["g"]
	id := a.NewRecordID(t0, 1)
	r := car("京C1", 1, t0)
	r.ID = id
	if _, err := a.OpenRecord(r, indata(id)); err != nil {
		t.Fatal(err)
	}
	s.sync("g", "a")
	ap := store.Message{Kind: store.KindAutoPay, RecordID: id, RequestOrder: "RO1"}
	if _, err := s.at("g", time.Hour).CloseRecord(id, store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour)}, ap, outdata(id)); err != nil {
		t.Fatal(err)
	}
	other := g.NewRecordID(t0, 2)
	ro := car("京C2", 2, t0)
	ro.ID = other
	if _, err := g.OpenRecord(ro, indata(other)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.at("g", 2*time.Hour).TakeOver("a"); n != 1 || err != nil {
		t.Fatalf("TakeOver = %d, %v; want 1", n, err)
	}
	out, _ := g.Messages(0, 10)
	var got []string
	for _, m := range out {
		got = append(got, m.Kind+":"+m.RecordID)
	}
	want := []string{"Indata:" + other, "Indata:" + id, "AutoPay:" + id, "Outdata:" + id}
	if !slices.Equal(got, want) {
		t.Fatalf("g's outbox = %v; want %v", got, want)
	}
	if !out[2].Unresolved || out[2].RequestOrder != "RO1" {
		t.Errorf("moved AutoPay = %+v; want RO1 unresolved", out[2])
	}
	due, _ := g.Due(t0.Add(3*time.Hour), 10)
	if len(due) != 2 || due[0].RecordID != other || due[1].Kind != "Indata" || due[1].RecordID != id {
		t.Errorf("due = %v; want the two Indata only", msgKinds(due))
	}
	// The other boxes' shadows of g follow the move.
	b, _ := storetest.Open(t, store.Options{Box: "b", Now: func() time.Time { return t0 }})
	es, _ := g.ReplOwn(0, 100)
	if _, err := b.ApplyRepl("g", es); err != nil {
		t.Fatal(err)
	}
	sh, _ := b.ReplShadow("g")
	var gotSh []string
	for _, m := range sh {
		gotSh = append(gotSh, m.Kind+":"+m.RecordID)
	}
	if !slices.Equal(gotSh, want) {
		t.Errorf("b's shadow of g = %v; want %v", gotSh, want)
	}
}
