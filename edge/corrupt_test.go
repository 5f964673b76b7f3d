package edge

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"laned/store"
)

// A store page damaged under the running lane: the exit whose record sits
// on it is refused with a reason (store.ErrCorrupt, no crash, barrier
// down), and the next vehicle, whose record is on an intact page, is
// decided and released as usual.
func TestExitOnDamagedStore(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Spaces.Total = 10000 })
	// Enough open records that the records and plate index buckets span
	// many pages: the first ones (by ID and by plate) far from the last.
	bulk := make([]store.Record, 3000)
	for i := range bulk {
		bulk[i] = store.Record{Plate: fmt.Sprintf("粤B%05d", i), CarType: 1, PowerType: 1, InCode: 1, InTime: start.Add(-5 * time.Minute)}
	}
	if err := h.db.ImportOpen(bulk); err != nil {
		t.Fatal(err)
	}
	victim := h.enter("鲁A12345") // sorts last, by record ID and by plate
	h.drain()                    // its Indata is sent: no queued message names it
	safe, err := h.db.OpenByPlate("粤B00000")
	if err != nil {
		t.Fatal(err)
	}

	// Zero every page holding the victim's record or its plate index entry
	// (stale free copies too: harmless).
	path := h.db.Path()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int64(os.Getpagesize())
	saved := map[int64][]byte{}
	for _, pat := range [][]byte{[]byte(`"plate":"` + victim.Plate + `"`), []byte(victim.Plate + victim.ID)} {
		for off := 0; ; {
			i := bytes.Index(file[off:], pat)
			if i < 0 {
				break
			}
			pg := int64(off+i) / ps
			saved[pg] = bytes.Clone(file[pg*ps : (pg+1)*ps])
			off += i + len(pat)
		}
	}
	if len(saved) == 0 {
		t.Fatal("no page holds the victim's record")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for pg := range saved {
		if _, err := f.WriteAt(make([]byte, ps), pg*ps); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	// Before the harness's own cleanup checks the file: put back the pages
	// bbolt did not reuse, and drop the salvage marker.
	t.Cleanup(func() {
		h.stop()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for pg, b := range saved {
			cur := make([]byte, ps)
			if _, err := f.ReadAt(cur, pg*ps); err == nil && bytes.Equal(cur, make([]byte, ps)) {
				f.WriteAt(b, pg*ps)
			}
		}
		os.Remove(path + ".salvage-needed")
	})

	n := opens(h.exit)
	st := h.arriveExit(victim.Plate)
	if st.State != "refused" || !strings.Contains(st.Reason, "internal error") {
		t.Errorf("exit on a damaged record: %s (%s); want refused with a reason", st.State, st.Reason)
	}
	if opens(h.exit) != n {
		t.Errorf("the barrier opened for a vehicle without a readable record")
	}
	if _, err := h.db.OpenByPlate(victim.Plate); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("OpenByPlate(victim) = %v; want ErrCorrupt", err)
	}
	if _, err := os.Stat(path + ".salvage-needed"); err != nil {
		t.Errorf("no salvage marker: %v", err)
	}
	h.exit.Back()
	h.settle()

	// The lane goes on: a free exit on intact pages commits and opens.
	n = opens(h.exit)
	st = h.arriveExit(safe.Plate)
	if st.State != "released" {
		t.Fatalf("exit on an intact record: %s (%s); want released", st.State, st.Reason)
	}
	h.leaveExit(n)
	if rec := h.closed(safe.ID); rec.OutCode != 1 {
		t.Errorf("closed record %+v", rec)
	}
	select {
	case err := <-h.done:
		t.Fatalf("the controller stopped: %v", err)
	default:
	}
}
