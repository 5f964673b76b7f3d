package store_test

import (
	"errors"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestRefusedDeadLettersAfterIdenticalRefusals(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, _ := db.OpenRecord(car("京A1", 1, t0))
	seqs, err := db.Enqueue(
		store.Message{Kind: store.KindIndata, RecordID: r.ID, Params: map[string]string{"a": "1"}, Created: t0, Due: t0},
		store.Message{Kind: store.KindOutdata, RecordID: r.ID, Params: map[string]string{"a": "2"}, Created: t0, Due: t0},
	)
	if err != nil {
		t.Fatal(err)
	}
	in := seqs[0]
	steps := []struct {
		name     string
		refusal  string // "" = a network failure (Retry)
		wantDead bool
	}{
		{"first refusal", "status 7: dup", false},
		{"a different refusal restarts", "status 8: other", false},
		{"a network failure restarts", "", false},
		{"1 of 3", "status 7: dup", false},
		{"2 of 3", "status 7: dup", false},
		{"3 of 3: dead", "status 7: dup", true},
	}
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		if st.refusal == "" {
			if _, err := db.Retry(in, now, "timeout"); err != nil {
				t.Fatalf("%s: Retry = %v", st.name, err)
			}
			continue
		}
		dead, err := db.Refused(in, now, st.refusal, 3, now)
		if err != nil || dead != st.wantDead {
			t.Fatalf("%s: Refused = %v, %v; want dead %v", st.name, dead, err, st.wantDead)
		}
		// Until it is dead, the Indata holds back its record's Outdata.
		due, _ := db.Due(now.Add(time.Hour), 10)
		if !st.wantDead && (len(due) != 1 || due[0].Seq != in) {
			t.Fatalf("%s: due = %+v; want only the Indata", st.name, due)
		}
	}
	if _, err := db.Message(in); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Message(dead) = %v; want ErrNotFound", err)
	}
	due, _ := db.Due(t0.Add(time.Hour), 10)
	if len(due) != 1 || due[0].Seq != seqs[1] {
		t.Errorf("due after the dead letter = %+v; want the Outdata", due)
	}
	dl, err := db.DeadLettersBetween(t0, t0.Add(time.Hour))
	if err != nil || len(dl) != 1 || dl[0].Refusals != 3 || dl[0].DeadWhy == "" {
		t.Errorf("DeadLettersBetween = %+v, %v; want the Indata, 3 refusals, a reason", dl, err)
	}
	ev, _ := db.RecentAudit(10)
	if len(ev) == 0 || ev[len(ev)-1].Kind != "dead_letter" {
		t.Errorf("audit = %+v; want a dead_letter event", ev)
	}
	if st, _ := db.OutboxStats(t0); st.Dead != 1 || st.DeadTotal != 1 {
		t.Errorf("OutboxStats = %+v; want 1 dead", st)
	}
}
