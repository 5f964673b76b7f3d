package site_test

import (
	"os"
	"path/filepath"
	"testing"

	"laned/internal/progress"
	"laned/site"
)

func TestEntriesFlowEveryWay(t *testing.T) {
	noLeak(t)
	s := newSite(t, nil, "a", "b", "c")
	for i, b := range s.boxes {
		b.commit(5 + i)
	}
	s.waitConverged("every box has every log")
	s.checkLogs()
	// OnApplied saw every batch that moved a cursor, in order.
	for _, b := range s.boxes {
		last := map[string]uint64{}
		for _, r := range b.applyResults() {
			if r.Cursor <= last[r.Origin] {
				t.Errorf("%s: OnApplied cursor of %s went %d -> %d", b.name, r.Origin, last[r.Origin], r.Cursor)
			}
			last[r.Origin] = r.Cursor
		}
		for _, o := range s.boxes {
			if o != b && last[o.name] != uint64(len(o.st.Own())) {
				t.Errorf("%s: OnApplied last cursor of %s = %d; want %d", b.name, o.name, last[o.name], len(o.st.Own()))
			}
		}
	}
	// More traffic after the first round: the consumers keep following.
	s.boxes[2].commit(3)
	s.boxes[0].commit(1)
	s.waitConverged("second round")
	s.checkLogs()
}

func TestPartitionThenHeal(t *testing.T) {
	noLeak(t)
	s := newSite(t, nil, "a", "b", "c")
	a, b, c := s.boxes[0], s.boxes[1], s.boxes[2]
	for _, x := range s.boxes {
		x.commit(2)
	}
	s.waitConverged("before the cut")

	b.proxy.Cut()
	for _, x := range s.boxes {
		x.commit(4)
	}
	// b keeps publishing to its own stream while cut off; a and c go on
	// replicating between them through the hub.
	progressUntilPublished(t, s, b.st, uint64(len(b.st.Own())))
	s.waitConverged("a and c while b is cut", a, c)
	if got := b.st.Cursor("a"); got > 2 {
		// Nothing can reach b through a cut link.
		t.Fatalf("b applied a's entry %d through a cut link", got)
	}

	b.proxy.Restore()
	s.waitConverged("everyone after the link is restored")
	s.checkLogs()
}

func TestKilledConnectionsReconnect(t *testing.T) {
	s := newSite(t, nil, "a", "b")
	a, b := s.boxes[0], s.boxes[1]
	a.commit(3)
	s.waitConverged("first")
	before := b.proxy.Forwarded()
	b.proxy.Kill()
	a.commit(3)
	b.commit(3)
	s.waitConverged("after the connections were killed")
	if b.proxy.Forwarded() <= before {
		t.Fatalf("the leaf did not dial again (%d connections; %d before the kill)", b.proxy.Forwarded(), before)
	}
	s.checkLogs()
}

func TestRestartResumesFromCursors(t *testing.T) {
	noLeak(t)
	s := newSite(t, nil, "a", "b", "c")
	a, b := s.boxes[0], s.boxes[1]
	for _, x := range s.boxes {
		x.commit(3)
	}
	s.waitConverged("before the restart")

	s.stop(b)
	b.commit(2) // logged while its node is down: published after the restart
	a.commit(4)
	s.boxes[2].commit(4)
	s.start(b)
	s.waitConverged("after b's restart")
	s.checkLogs()
	if r := b.st.Resets(); len(r) != 0 {
		t.Errorf("b reset its published cursor %v; its stream lost nothing", r)
	}
	// b resumed from its cursors: its consumers started after the
	// stream sequence of the last entry applied, so nothing came twice.
	if n := b.st.Skipped(); n != 0 {
		t.Errorf("b was given %d entries it had applied before the restart", n)
	}

	// And the hub restarts too.
	s.stop(a)
	s.boxes[2].commit(2)
	b.commit(2)
	s.start(a)
	a.commit(1)
	s.waitConverged("after the hub's restart")
	s.checkLogs()
}

func TestStreamLostWhileStopped(t *testing.T) {
	s := newSite(t, nil, "a", "b")
	a, b := s.boxes[0], s.boxes[1]
	b.commit(10)
	a.commit(2)
	s.waitConverged("before the loss")

	// b's JetStream store is lost (a power cut before NATS synced, a bad
	// card); its store (here the fake) keeps its log and cursors.
	s.stop(b)
	s.stop(a)
	removeAll(t, b.cfg.DataDir)
	b.commit(3)
	s.start(a)
	s.start(b)
	b.commit(1)
	a.commit(1)
	s.waitConverged("after the loss")
	s.checkLogs()
	if r := b.st.Resets(); len(r) != 1 || r[0] != 0 {
		t.Fatalf("b's resets = %v; want [0] (an empty stream behind published 10)", r)
	}
}

func TestGapRepairedFromOrigin(t *testing.T) {
	// b's stream keeps only a few entries, so a box cut off for long
	// finds the start of b's log gone from the stream: it must fetch it
	// from b's store.
	s := newSite(t, func(c *site.Config) {
		if c.Box == "b" {
			c.MaxBytes = 2048
		}
	}, "a", "b")
	a, b := s.boxes[0], s.boxes[1]
	b.proxy.Cut()
	b.commit(60)
	progressUntilPublished(t, s, b.st, 60)
	b.proxy.Restore()
	s.waitConverged("after the gap's repair")
	s.checkLogs()
	if a.st.Fetched() == 0 {
		t.Fatalf("a applied b's log without a fetch; the stream should have dropped its start (results %+v)", a.applyResults())
	}
}

func TestStreamTailLostWhileStopped(t *testing.T) {
	s := newSite(t, nil, "a", "b")
	b := s.boxes[1]
	b.commit(40)
	s.waitConverged("before the loss")
	s.stop(b)
	// A power cut before NATS synced: the tail of b's message block is
	// gone (JetStream checks the block on start and drops what is torn).
	blks, _ := filepath.Glob(filepath.Join(b.cfg.DataDir, "jetstream", "*", "streams", site.StreamName("b"), "msgs", "*.blk"))
	if len(blks) == 0 {
		t.Fatalf("no message blocks of %s under %s", site.StreamName("b"), b.cfg.DataDir)
	}
	last := blks[len(blks)-1]
	fi, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	// The stream's index files may still name the lost messages; like
	// after a real power cut, only the blocks are what they are.
	idx, _ := filepath.Glob(filepath.Join(b.cfg.DataDir, "jetstream", "*", "streams", site.StreamName("b"), "msgs", "*.idx"))
	for _, f := range idx {
		removeAll(t, f)
	}
	removeAll(t, filepath.Join(b.cfg.DataDir, "jetstream", "$G", "streams", site.StreamName("b"), "msgs", "index.db"))
	s.start(b)
	b.commit(2)
	s.waitConverged("after the tail's loss")
	s.checkLogs()
	r := b.st.Resets()
	if len(r) != 1 || r[0] >= 40 {
		t.Fatalf("b's resets = %v; want one, below 40 (the stream lost its tail)", r)
	}
}

func TestHubFailoverURLs(t *testing.T) {
	// A leaf lists a dead hub URL before the live one: it gets through.
	dead := freePort(t)
	s := newSite(t, func(c *site.Config) {
		if len(c.Hub) > 0 {
			c.Hub = append([]string{"nats-leaf://" + dead}, c.Hub...)
		}
	}, "a", "b")
	s.boxes[0].commit(2)
	s.boxes[1].commit(2)
	s.waitConverged("through the second hub URL")
	s.checkLogs()
}

func TestStopsAtAnInvalidEntry(t *testing.T) {
	// The store refuses a batch holding an entry it finds invalid: the
	// entries before it are applied, replication of that origin stops
	// at it (logged), and the other origins go on.
	s := newSite(t, nil, "a", "b", "c")
	a, b, c := s.boxes[0], s.boxes[1], s.boxes[2]
	b.proxy.Cut()
	b.commit(2)
	b.st.Commit("bogus", "x", nil)
	b.commit(2)
	progressUntilPublished(t, s, b.st, 5)
	b.proxy.Restore()
	progress.Until(t, "a and c past b's valid entries", func() bool {
		return a.st.Cursor("b") == 2 && c.st.Cursor("b") == 2
	}, s.progressOf)
	c.commit(3)
	s.waitConverged("a and c", a, c)
	if got := a.st.Cursor("b"); got != 2 {
		t.Fatalf("a's cursor of b = %d; want 2 (stopped at the invalid entry 3)", got)
	}
}
