package store_test

import (
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// holdAll holds every message it is asked about for an hour from its
// creation and notes what it was asked.
type holdAll struct {
	asked map[uint64]store.ShadowedUplink
}

func (h *holdAll) fn(m *store.Message, first store.ShadowedUplink) time.Time {
	h.asked[m.Seq] = first
	return m.Created.Add(time.Hour)
}

func dueSeqs(t *testing.T, db *store.DB, now time.Time, hold store.HoldFunc) []uint64 {
	t.Helper()
	ms, err := db.DueInSite(now, 64, hold)
	if err != nil {
		t.Fatalf("DueInSite = %v", err)
	}
	var out []uint64
	for _, m := range ms {
		out = append(out, m.Seq)
	}
	return out
}

// An uplink at c of a record whose Indata is queued at a is held (only
// that one, only while the Indata is in a's shadow queue, only by an
// uplink made before it); NextDueInSite counts it due when its hold ends.
func TestDueInSiteHoldsBehindElsewhere(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "c")
	a, c := s.db["a"], s.db["c"]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	id := a.NewRecordID(t0, 1)
	r := car("京D1", 1, t0)
	r.ID = id
	_, err := a.OpenRecord(r, indata(id))
	must(err)
	s.sync("c", "a")
	if q, err := c.QueuedElsewhere(id); err != nil || len(q) != 1 || q[0].Kind != store.KindIndata {
		t.Fatalf("QueuedElsewhere = %v, %v; want a's Indata", msgKinds(q), err)
	}

	// c: the record's Outdata a minute later, and a record of its own.
	seqs, err := s.at("c", time.Minute).Enqueue(outdata(id))
	must(err)
	outSeq := seqs[0]
	ownID := c.NewRecordID(t0, 1)
	seqs, err = c.Enqueue(indata(ownID))
	must(err)
	ownSeq := seqs[0]

	now := t0.Add(2 * time.Minute)
	h := &holdAll{asked: map[uint64]store.ShadowedUplink{}}
	if got := dueSeqs(t, c, now, h.fn); len(got) != 1 || got[0] != ownSeq {
		t.Errorf("DueInSite = %v; want only c's own %d", got, ownSeq)
	}
	if f, ok := h.asked[outSeq]; !ok || f.Origin != "a" || f.Kind != store.KindIndata || !f.Created.Equal(t0) {
		t.Errorf("hold asked about the Outdata with %+v (%v); want a's Indata made at t0", f, ok)
	}
	if _, ok := h.asked[ownSeq]; ok {
		t.Errorf("hold asked about c's own record")
	}
	must(c.Ack(ownSeq))
	next, ok, err := c.NextDueInSite(h.fn)
	if err != nil || !ok || !next.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Errorf("NextDueInSite = %v, %v, %v; want the hold's end %v", next, ok, err, t0.Add(time.Minute+time.Hour))
	}
	// Past the hold it is due.
	if got := dueSeqs(t, c, t0.Add(2*time.Hour), h.fn); len(got) != 1 || got[0] != outSeq {
		t.Errorf("DueInSite after the hold = %v; want %d", got, outSeq)
	}

	// a delivers its Indata: the index forgets it, nothing is held.
	q, _ := a.Messages(0, 10)
	must(a.Ack(q[0].Seq))
	s.sync("c", "a")
	if q, err := c.QueuedElsewhere(id); err != nil || len(q) != 0 {
		t.Errorf("QueuedElsewhere after the done = %v, %v; want none", msgKinds(q), err)
	}
	clear(h.asked)
	if got := dueSeqs(t, c, now, h.fn); len(got) != 1 || got[0] != outSeq {
		t.Errorf("DueInSite after a's done = %v; want %d", got, outSeq)
	}
	if len(h.asked) != 0 {
		t.Errorf("hold asked %v; want nothing", h.asked)
	}
}

// An uplink made before the one queued elsewhere is not held by it.
func TestDueInSiteOnlyEarlier(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "c")
	a, c := s.db["a"], s.db["c"]
	id := a.NewRecordID(t0, 1)
	seqs, err := c.Enqueue(outdata(id)) // at t0
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.at("a", time.Minute).Enqueue(indata(id)); err != nil {
		t.Fatal(err)
	}
	s.sync("c", "a")
	h := &holdAll{asked: map[uint64]store.ShadowedUplink{}}
	if got := dueSeqs(t, c, t0.Add(time.Hour), h.fn); len(got) != 1 || got[0] != seqs[0] {
		t.Errorf("DueInSite = %v; want %d", got, seqs[0])
	}
}

// Without a box DueInSite is Due: the hold is never asked.
func TestDueInSiteNoBox(t *testing.T) {
	db, _ := storetest.Open(t, store.Options{Now: func() time.Time { return t0 }})
	if _, err := db.Enqueue(outdata("r1"), indata("r2")); err != nil {
		t.Fatal(err)
	}
	h := &holdAll{asked: map[uint64]store.ShadowedUplink{}}
	if got := dueSeqs(t, db, t0, h.fn); len(got) != 2 || len(h.asked) != 0 {
		t.Errorf("DueInSite = %v, asked %v; want both, nothing asked", got, h.asked)
	}
	if next, ok, err := db.NextDueInSite(h.fn); err != nil || !ok || !next.Equal(t0) {
		t.Errorf("NextDueInSite = %v, %v, %v; want t0", next, ok, err)
	}
}

// A takeover drops the taken messages from the index of a third box, and
// a reopened file (or one written before the index) has it rebuilt.
func TestShadowIndexTakeoverAndRebuild(t *testing.T) {
	s := newSite(t, "batch", nil, "a", "g", "c")
	a, g, c := s.db["a"], s.db["g"], s.db["c"]
	id := a.NewRecordID(t0, 1)
	if _, err := a.Enqueue(indata(id)); err != nil {
		t.Fatal(err)
	}
	s.sync("g", "a")
	s.sync("c", "a")
	if q, _ := c.QueuedElsewhere(id); len(q) != 1 {
		t.Fatalf("QueuedElsewhere at c = %v; want a's Indata", msgKinds(q))
	}
	if n, err := g.TakeOver("a"); err != nil || n != 1 {
		t.Fatalf("TakeOver = %d, %v", n, err)
	}
	if q, _ := g.QueuedElsewhere(id); len(q) != 0 {
		t.Errorf("QueuedElsewhere at g after its takeover = %v; want none", msgKinds(q))
	}
	s.sync("c", "g")
	if q, _ := c.QueuedElsewhere(id); len(q) != 1 || q[0].Kind != store.KindIndata {
		t.Errorf("QueuedElsewhere at c after g's takeover = %v; want g's Indata", msgKinds(q))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2, _, err := store.Open(s.path["c"], store.Options{Box: "c", Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if q, _ := c2.QueuedElsewhere(id); len(q) != 1 {
		t.Errorf("QueuedElsewhere after reopening = %v; want one", msgKinds(q))
	}
}

// BenchmarkDueInSite: a box holding 10k other-box uplinks in its shadow
// queues reads 64 due Outdata, each of a record whose Indata waits
// elsewhere (all held: each costs an index seek), against plain Due; and
// QueuedElsewhere of one record against the walk it replaced.
func BenchmarkDueInSite(b *testing.B) {
	cNow := t0
	a, _ := storetest.Open(b, store.Options{Box: "a", Now: func() time.Time { return t0 }})
	c, _ := storetest.Open(b, store.Options{Box: "c", Now: func() time.Time { return cNow }})
	const n = 10000
	ids := make([]string, 0, n)
	var msgs []store.Message
	for range n {
		id := a.NewRecordID(t0, 1)
		ids = append(ids, id)
		msgs = append(msgs, indata(id))
	}
	if _, err := a.Enqueue(msgs...); err != nil {
		b.Fatal(err)
	}
	var cur uint64
	for {
		es, err := a.ReplOwn(cur, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		res, err := c.ApplyRepl("a", es)
		if err != nil {
			b.Fatal(err)
		}
		cur = res.Cursor
	}
	var outs []store.Message
	for i := range 64 {
		outs = append(outs, outdata(ids[i*100]))
	}
	cNow = t0.Add(time.Hour)
	if _, err := c.Enqueue(outs...); err != nil {
		b.Fatal(err)
	}
	now := t0.Add(2 * time.Hour)
	hold := func(m *store.Message, _ store.ShadowedUplink) time.Time { return now.Add(time.Hour) }
	b.Run("Due", func(b *testing.B) {
		for b.Loop() {
			if ms, err := c.Due(now, 64); err != nil || len(ms) != 64 {
				b.Fatal(len(ms), err)
			}
		}
	})
	b.Run("DueInSite", func(b *testing.B) {
		for b.Loop() {
			if ms, err := c.DueInSite(now, 64, hold); err != nil || len(ms) != 0 {
				b.Fatal(len(ms), err)
			}
		}
	})
	b.Run("QueuedElsewhere", func(b *testing.B) {
		for b.Loop() {
			if q, err := c.QueuedElsewhere(ids[5000]); err != nil || len(q) != 1 {
				b.Fatal(len(q), err)
			}
		}
	})
	// What QueuedElsewhere cost before the index: every shadow entry read
	// and decoded (ReplShadow of the one origin does the same walk).
	b.Run("ShadowWalk", func(b *testing.B) {
		for b.Loop() {
			if q, err := c.ReplShadow("a"); err != nil || len(q) != n {
				b.Fatal(len(q), err)
			}
		}
	})
}
