package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func groupDB(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "group.db")
	now := time.Unix(1_700_000_000, 0)
	db, _, err := Open(path, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func lastTxID(t *testing.T, db *DB) int {
	t.Helper()
	var id int
	db.bolt.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
	return id
}

// Issue 12 item 9: a group commit in which one call is invalid fails that
// call alone; the others are committed, each all or none.
func TestEnqueueGroupBadCallFailsAlone(t *testing.T) {
	db, _ := groupDB(t)
	group := []*enqueueCall{
		{msgs: []Message{{Kind: KindSpaceInfo}, {Kind: KindConfigUpload}}},
		{msgs: []Message{{Kind: KindSpaceInfo}, {Kind: ""}}}, // invalid kind: the whole call fails
		{msgs: []Message{{Kind: KindAutoPayStatus}}},
	}
	db.commitGroup(group)
	if group[0].err != nil || len(group[0].seqs) != 2 || group[2].err != nil || len(group[2].seqs) != 1 {
		t.Fatalf("good calls: %+v, %+v; want committed", group[0], group[2])
	}
	if !errors.Is(group[1].err, ErrInvalid) || group[1].seqs != nil {
		t.Fatalf("bad call: seqs %v, err %v; want ErrInvalid and nothing", group[1].seqs, group[1].err)
	}
	msgs, err := db.Messages(0, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Messages = %d, %v; want the 3 of the good calls", len(msgs), err)
	}
	for i, want := range []string{KindSpaceInfo, KindConfigUpload, KindAutoPayStatus} {
		if msgs[i].Kind != want {
			t.Errorf("message %d = %s; want %s", i, msgs[i].Kind, want)
		}
	}
}

// Callers that arrive while a commit runs wait and are committed
// together, in one transaction, by the next leader; each returns its own
// sequence numbers.
func TestEnqueueGroupsWaitingCallers(t *testing.T) {
	db, _ := groupDB(t)
	before := lastTxID(t, db)
	held, err := db.bolt.Begin(true) // the writer lock: the first leader blocks on it
	if err != nil {
		t.Fatal(err)
	}
	pending := func() (busy bool, n int) {
		db.enq.mu.Lock()
		defer db.enq.mu.Unlock()
		return db.enq.busy, len(db.enq.pending)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for i := 0; !ok(); i++ {
			if i > 1_000_000 {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(50 * time.Microsecond) // a poll on progress, no deadline on time
		}
	}
	const callers = 5
	var wg sync.WaitGroup
	seqs := make([][]uint64, callers)
	errs := make([]error, callers)
	call := func(i int) {
		defer wg.Done()
		seqs[i], errs[i] = db.Enqueue(Message{Kind: KindSpaceInfo, Params: map[string]string{"i": fmt.Sprint(i)}})
	}
	wg.Add(1)
	go call(0)
	waitFor("the first caller leads", func() bool { b, n := pending(); return b && n == 0 })
	for i := 1; i < callers; i++ {
		wg.Add(1)
		go call(i)
	}
	waitFor("the others wait", func() bool { _, n := pending(); return n == callers-1 })
	if err := held.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	seen := map[uint64]int{}
	for i := range callers {
		if errs[i] != nil || len(seqs[i]) != 1 {
			t.Fatalf("caller %d: %v, %v", i, seqs[i], errs[i])
		}
		m, err := db.Message(seqs[i][0])
		if err != nil || m.Params["i"] != fmt.Sprint(i) {
			t.Errorf("caller %d: message %d = %+v, %v; want its own", i, seqs[i][0], m, err)
		}
		seen[seqs[i][0]]++
	}
	if len(seen) != callers {
		t.Errorf("sequence numbers %v; want %d distinct", seen, callers)
	}
	if got := lastTxID(t, db) - before; got != 2 {
		t.Errorf("%d commits; want 2 (the first caller's, then the %d waiting ones together)", got, callers-1)
	}
	if b, n := pending(); b || n != 0 {
		t.Errorf("after: busy %v, %d pending; want idle", b, n)
	}
}

// Many concurrent callers: every message is on disk when its Enqueue
// returns, and found again after a reopen.
func TestEnqueueConcurrentCallersDurable(t *testing.T) {
	db, path := groupDB(t)
	const workers, each = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[uint64]string{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("%d/%d", w, i)
				seqs, err := db.Enqueue(Message{Kind: KindSpaceInfo, Params: map[string]string{"id": id}})
				if err != nil || len(seqs) != 1 {
					t.Errorf("Enqueue %s = %v, %v", id, seqs, err)
					return
				}
				if m, err := db.Message(seqs[0]); err != nil || m.Params["id"] != id {
					t.Errorf("after Enqueue %s returned: %+v, %v", id, m, err)
				}
				mu.Lock()
				got[seqs[0]] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != workers*each {
		t.Fatalf("%d distinct sequence numbers; want %d", len(got), workers*each)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, _, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	msgs, err := db2.Messages(0, 2*workers*each)
	if err != nil || len(msgs) != workers*each {
		t.Fatalf("after reopen: %d messages, %v; want %d", len(msgs), err, workers*each)
	}
	for _, m := range msgs {
		if got[m.Seq] != m.Params["id"] {
			t.Errorf("message %d = %q; the caller got %q", m.Seq, m.Params["id"], got[m.Seq])
		}
	}
}
