package site_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"laned/internal/progress"
	"laned/site"
	"laned/site/sitetest"
	"laned/store"
	"laned/store/storetest"
)

// TestWithRealStores runs two boxes on real store files: a record opened
// at one is found by plate at the other, both ways, and the cursors and
// published marks end where the logs end.
func TestWithRealStores(t *testing.T) {
	hub := freePort(t)
	p, err := sitetest.NewProxy(hub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	members := []string{"a", "b"}
	dbs := map[string]*store.DB{}
	nodes := map[string]*site.Node{}
	for _, box := range members {
		db, _ := storetest.Open(t, store.Options{Box: box})
		dbs[box] = db
		cfg := site.Config{Box: box, Members: members, User: "laned", Password: "pw",
			DataDir: filepath.Join(t.TempDir(), "nats"), Logger: testLogger(t, box+": ")}
		if box == "a" {
			cfg.Listen, cfg.Gateway = hub, true
		} else {
			cfg.Hub = []string{"nats-leaf://" + p.Addr()}
		}
		n, err := site.Start(context.Background(), cfg, db)
		if err != nil {
			t.Fatal(err)
		}
		nodes[box] = n
	}
	// The nodes close before the store files (cleanups run last first).
	t.Cleanup(func() {
		for _, n := range nodes {
			n.Close()
		}
	})
	in := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	want := map[string]string{} // plate → record id
	for i, box := range members {
		for j := 0; j < 3; j++ {
			plate := fmt.Sprintf("京%s%05d", map[string]string{"a": "A", "b": "B"}[box], j)
			r, err := dbs[box].OpenRecord(store.Record{Plate: plate, CarType: 1, PowerType: 1, InCode: i + 1, InTime: in.Add(time.Duration(j) * time.Minute)})
			if err != nil {
				t.Fatalf("%s: OpenRecord(%s) = %v", box, plate, err)
			}
			want[plate] = r.ID
		}
	}
	moved := func() any {
		s := ""
		for _, box := range members {
			h, pub, _ := dbs[box].ReplHead()
			cs, _ := dbs[box].ReplCursors()
			s += fmt.Sprint(box, h, pub, cs)
		}
		return s
	}
	for plate, id := range want {
		for _, box := range members {
			progress.Until(t, fmt.Sprintf("%s's open record %s at %s", plate, id, box), func() bool {
				r, err := dbs[box].OpenByPlate(plate)
				return err == nil && r.ID == id
			}, moved)
		}
	}
	for _, box := range members {
		head, pub, err := dbs[box].ReplHead()
		if err != nil || pub != head {
			t.Errorf("%s: ReplHead() = %d, %d, %v; want published = head", box, head, pub, err)
		}
	}
}
