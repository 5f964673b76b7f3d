package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func kinds(msgs []store.Message) string {
	var s []string
	for _, m := range msgs {
		s = append(s, m.Kind+":"+m.RecordID)
	}
	return strings.Join(s, " ")
}

func TestOutboxOrderPerRecord(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	a, _ := db.OpenRecord(store.Record{ID: "A", Plate: "京A1", InTime: t0}, indata("A"))
	if _, err := db.Enqueue(store.Message{Kind: store.KindSpaceInfo}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Enqueue(store.Message{Kind: store.KindPicUpload, RecordID: "A"}); err != nil {
		t.Fatal(err)
	}
	autopay := store.Message{Kind: store.KindAutoPay, RecordID: "A", RequestOrder: "A-1", Params: map[string]string{"request_order": "A-1"}}
	if _, err := db.CloseRecord(a.ID, store.Exit{OutTime: t0}, autopay, outdata("A")); err != nil {
		t.Fatal(err)
	}
	db.OpenRecord(store.Record{ID: "B", Plate: "京B1", InTime: t0}, indata("B"))
	later := store.Message{Kind: store.KindConfigUpload, Due: t0.Add(time.Hour)}
	db.Enqueue(later)

	steps := []struct {
		ack  string // kind:record acked before Due
		want string
	}{
		{"", "Indata:A SpaceInfo: Indata:B"},
		{"Indata:A", "SpaceInfo: PicUpload:A AutoPay:A Indata:B"},
		{"PicUpload:A", "SpaceInfo: AutoPay:A Indata:B"},
		{"AutoPay:A", "SpaceInfo: Outdata:A Indata:B"},
	}
	for _, st := range steps {
		if st.ack != "" {
			due, _ := db.Due(t0, 100)
			acked := false
			for _, m := range due {
				if m.Kind+":"+m.RecordID == st.ack {
					if err := db.Ack(m.Seq); err != nil {
						t.Fatal(err)
					}
					acked = true
				}
			}
			if !acked {
				t.Fatalf("%s was not due", st.ack)
			}
		}
		due, err := db.Due(t0, 100)
		if got := kinds(due); err != nil || got != st.want {
			t.Errorf("after ack %q: Due = %q, %v; want %q", st.ack, got, err, st.want)
		}
	}
	if due, _ := db.Due(t0, 1); len(due) != 1 || due[0].Kind != store.KindSpaceInfo {
		t.Errorf("Due(limit 1) = %q; want the oldest", kinds(due))
	}
	if due, _ := db.Due(t0.Add(time.Hour), 100); !strings.Contains(kinds(due), "ConfigUpload") {
		t.Errorf("Due(+1h) = %q; want the ConfigUpload once due", kinds(due))
	}
	if next, ok, err := db.NextDue(); err != nil || !ok || !next.Equal(t0) {
		t.Errorf("NextDue = %v, %v, %v; want %v", next, ok, err, t0)
	}
	if err := db.Ack(9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Ack(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := db.Enqueue(store.Message{Kind: ""}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Enqueue(no kind) = %v; want ErrInvalid", err)
	}
}

func TestOutboxRetryAndUnresolvedAutoPay(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(store.Record{ID: "A", Plate: "京A1", InTime: t0})
	ap := store.Message{Kind: store.KindAutoPay, RecordID: "A", RequestOrder: "A-1", Params: map[string]string{"amount": "500"}}
	db.CloseRecord(r.ID, store.Exit{OutTime: t0}, ap, outdata("A"))
	due, _ := db.Due(t0, 10)
	if len(due) != 1 || due[0].Kind != store.KindAutoPay {
		t.Fatalf("Due = %q; want only the AutoPay", kinds(due))
	}
	seq := due[0].Seq
	if dead, err := db.Retry(seq, t0.Add(time.Minute), "connection refused"); err != nil || dead {
		t.Fatalf("Retry = %v, %v", dead, err)
	}
	if due, _ := db.Due(t0.Add(59*time.Second), 10); len(due) != 0 {
		t.Errorf("Due before the retry time = %q; want nothing (Outdata waits too)", kinds(due))
	}
	if err := db.MarkUnresolved(seq, t0.Add(2*time.Minute), "timeout"); err != nil {
		t.Fatal(err)
	}
	due, _ = db.Due(t0.Add(2*time.Minute), 10)
	if len(due) != 1 || due[0].Seq != seq || !due[0].Unresolved || due[0].Attempts != 2 ||
		due[0].RequestOrder != "A-1" || due[0].LastError != "timeout" {
		t.Fatalf("Due after MarkUnresolved = %+v; want the same AutoPay, unresolved, 2 attempts", due)
	}
	// PayOrderStatus said "no such order": send again with the same request_order.
	if err := db.Resolve(seq, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	m, _ := db.Message(seq)
	if m.Unresolved || m.RequestOrder != "A-1" || !m.Due.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("after Resolve: %+v", m)
	}
	// The dispatcher learns something and rewrites the params in place.
	if _, err := db.UpdateMessage(seq, func(m *store.Message) error { m.Params["amount"] = "400"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateMessage(seq, func(m *store.Message) error { m.Seq++; return nil }); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("UpdateMessage changing seq = %v; want ErrInvalid", err)
	}
	if m, _ := db.Message(seq); m.Params["amount"] != "400" {
		t.Errorf("params after UpdateMessage = %v", m.Params)
	}
	if err := db.MarkUnresolved(mustDue(t, db, t0.Add(time.Hour))[0].Seq+1, t0, "x"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("MarkUnresolved(Outdata) = %v; want ErrInvalid (no request_order)", err)
	}
	db.Ack(seq)
	if due := mustDue(t, db, t0); len(due) != 1 || due[0].Kind != store.KindOutdata {
		t.Errorf("after the AutoPay: Due = %q; want the Outdata", kinds(due))
	}
	st, _ := db.OutboxStats(t0.Add(time.Hour))
	if st.LastError != "connection refused" || st.Count != 1 || st.ByKind[store.KindOutdata] != 1 || st.OldestAge != time.Hour {
		t.Errorf("OutboxStats = %+v", st)
	}
}

func mustDue(t *testing.T, db *store.DB, now time.Time) []store.Message {
	t.Helper()
	due, err := db.Due(now, 100)
	if err != nil {
		t.Fatal(err)
	}
	return due
}

func TestOutboxDeadLetter(t *testing.T) {
	o := opts()
	o.DeadLetterAfter = time.Hour
	o.DeadLetterMax = 2
	db, _ := storetest.Open(t, o)
	seqs, err := db.Enqueue(
		store.Message{Kind: store.KindPicUpload, Created: t0},
		store.Message{Kind: store.KindIndata, RecordID: "R", Created: t0},
		store.Message{Kind: store.KindSpaceInfo, Created: t0},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		seq  uint64
		next time.Time
		dead bool
	}{
		{seqs[0], t0.Add(time.Hour), false},
		{seqs[0], t0.Add(time.Hour + time.Second), true},
		{seqs[1], t0.Add(1000 * time.Hour), false}, // Indata: never
	}
	for _, tc := range tests {
		dead, err := db.Retry(tc.seq, tc.next, "503")
		if err != nil || dead != tc.dead {
			t.Errorf("Retry(%d, +%v) = %v, %v; want %v", tc.seq, tc.next.Sub(t0), dead, err, tc.dead)
		}
	}
	if _, err := db.Message(seqs[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dead-lettered message still queued: %v", err)
	}
	for i := 0; i < 3; i++ {
		db.Enqueue(store.Message{Kind: store.KindAutoPayStatus, Created: t0.Add(time.Duration(i) * time.Minute)})
	}
	n, err := db.Expire(t0.Add(time.Minute+time.Second), 100) // SpaceInfo and two AutoPayStatus
	if err != nil || n != 3 {
		t.Errorf("Expire = %d, %v; want 3", n, err)
	}
	st, _ := db.OutboxStats(t0)
	if st.Dead != 2 || st.DeadTotal != 4 || st.Count != 2 || st.ByKind[store.KindIndata] != 1 || st.ByKind[store.KindAutoPayStatus] != 1 {
		t.Errorf("OutboxStats = %+v; want 2 kept of 4 dead, Indata and one AutoPayStatus queued", st)
	}
	dl, _ := db.DeadLetters(10)
	if len(dl) != 2 || dl[0].Seq >= dl[1].Seq {
		t.Errorf("DeadLetters = %+v; want the 2 newest, oldest first", dl)
	}
}

func TestOutboxBound(t *testing.T) {
	o := opts()
	o.OutboxMax = 4
	db, _ := storetest.Open(t, o)
	big := strings.Repeat("x", 1000)
	db.Enqueue(
		store.Message{Kind: store.KindSpaceInfo},
		store.Message{Kind: store.KindPicUpload, RecordID: "A", Params: map[string]string{"pic_con": big}},
		store.Message{Kind: store.KindIndata, RecordID: "A"},
		store.Message{Kind: store.KindPicUpload, RecordID: "A", Params: map[string]string{"pic_con": big}},
	)
	steps := []struct {
		add  store.Message
		want map[string]int
		over uint64
	}{
		{store.Message{Kind: store.KindOutdata, RecordID: "A"}, map[string]int{"SpaceInfo": 1, "PicUpload": 1, "Indata": 1, "Outdata": 1}, 0},
		{store.Message{Kind: store.KindIndata, RecordID: "B"}, map[string]int{"SpaceInfo": 1, "Indata": 2, "Outdata": 1}, 0},
		{store.Message{Kind: store.KindAutoPay, RecordID: "B"}, map[string]int{"Indata": 2, "Outdata": 1, "AutoPay": 1}, 0},
		{store.Message{Kind: store.KindOutdata, RecordID: "B"}, map[string]int{"Indata": 2, "Outdata": 2, "AutoPay": 1}, 1},
	}
	for i, st := range steps {
		if _, err := db.Enqueue(st.add); err != nil {
			t.Fatalf("step %d: Enqueue = %v; want success even when full", i, err)
		}
		s, _ := db.OutboxStats(t0)
		if len(s.ByKind) != len(st.want) || s.Overfull != st.over {
			t.Errorf("step %d: ByKind = %v, overfull %d; want %v, %d", i, s.ByKind, s.Overfull, st.want, st.over)
		}
		for k, n := range st.want {
			if s.ByKind[k] != n {
				t.Errorf("step %d: %s = %d; want %d", i, k, s.ByKind[k], n)
			}
		}
	}
	// Bytes bound: a picture bigger than the bound is evicted at once.
	o2 := opts()
	o2.OutboxMaxBytes = 2000
	db2, _ := storetest.Open(t, o2)
	db2.Enqueue(store.Message{Kind: store.KindIndata, RecordID: "A"})
	db2.Enqueue(store.Message{Kind: store.KindPicUpload, RecordID: "A", Params: map[string]string{"pic_con": big + big}})
	if s, _ := db2.OutboxStats(t0); s.Count != 1 || s.Evicted != 1 || s.Bytes > 2000 {
		t.Errorf("bytes bound: %+v; want the picture evicted", s)
	}
}

// TestRetryAll: every queued message is due at once, each keeping its
// attempts, its place and its other fields, and the outbox's figures stay
// right (storetest checks the file at cleanup); a backlog beyond one
// transaction's batch is covered too.
func TestRetryAll(t *testing.T) {
	for _, n := range []int{0, 3, 5000} {
		db, _ := storetest.Open(t, opts())
		var msgs []store.Message
		for i := range n {
			m := store.Message{Kind: store.KindConfigUpload, Due: t0.Add(time.Duration(i-1) * time.Hour)} // the first one due already
			if i == 1 {
				m = store.Message{Kind: store.KindAutoPay, RecordID: "A", RequestOrder: "A-1", Due: t0.Add(time.Hour)}
			}
			msgs = append(msgs, m)
		}
		if n > 0 {
			if _, err := db.Enqueue(msgs...); err != nil {
				t.Fatal(err)
			}
			if err := db.MarkUnresolved(2, t0.Add(2*time.Hour), "timeout"); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := db.Messages(0, n+1)
		st0, _ := db.OutboxStats(t0)
		got, err := db.RetryAll(t0)
		if err != nil || got != n {
			t.Fatalf("n=%d: RetryAll = %d, %v; want %d, nil", n, got, err, n)
		}
		due, _ := db.Due(t0, n+1)
		if len(due) != n {
			t.Errorf("n=%d: %d due after RetryAll; want %d", n, len(due), n)
		}
		after, _ := db.Messages(0, n+1)
		for i := range after {
			b, a := before[i], after[i]
			wantDue := t0
			if b.Due.Before(t0) {
				wantDue = b.Due
			}
			if a.Seq != b.Seq || a.Attempts != b.Attempts || a.Unresolved != b.Unresolved || a.Kind != b.Kind || !a.Due.Equal(wantDue) {
				t.Fatalf("n=%d: message %d after RetryAll = %+v; want %+v due %v", n, i, a, b, wantDue)
			}
		}
		if st1, _ := db.OutboxStats(t0); st1.Count != st0.Count || st1.Bytes != st0.Bytes {
			t.Errorf("n=%d: stats %d msgs %d bytes; want %d, %d", n, st1.Count, st1.Bytes, st0.Count, st0.Bytes)
		}
	}
}
