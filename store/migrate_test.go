package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/store"
)

// fixtureNow is the Options.Now of the schema fixtures.
var fixtureNow = time.Unix(1_700_000_000, 0).UTC()

// storeDump is everything the public API shows of a store, as JSON: a
// migration must leave it unchanged.
type storeDump struct {
	Records    []store.Record
	Open       []store.Record
	ByLane     map[int][]store.Record
	ByPlate    map[string]string
	Payments   map[string][]store.Payment
	Messages   []store.Message
	DueNow     []store.Message
	DueLater   []store.Message
	Stats      store.OutboxStats
	Dead       []store.Message
	Audit      []store.AuditEvent
	Bindings   []store.Binding
	Vehicles   []store.Vehicle
	Open3      [3]int // Summary.Open, OpenVIP, OpenTemp
	RecordsN   int
	Newest     int64
	NextDue    int64
	NextDueSet bool
}

func dumpStore(t *testing.T, db *store.DB) []byte {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var d storeDump
	var err error
	d.Records, err = db.Records("", 1<<20)
	must(err)
	d.Open, err = db.OpenRecords()
	must(err)
	d.ByLane = map[int][]store.Record{}
	d.ByPlate = map[string]string{}
	d.Payments = map[string][]store.Payment{}
	for _, r := range d.Records {
		if _, ok := d.ByLane[r.InCode]; !ok {
			d.ByLane[r.InCode], err = db.OpenRecordsByLane(r.InCode)
			must(err)
		}
		if o, err := db.OpenByPlate(r.Plate); err == nil {
			d.ByPlate[r.Plate] = o.ID
		}
		d.Payments[r.ID], err = db.Payments(r.ID)
		must(err)
	}
	d.Messages, err = db.Messages(0, 1<<20)
	must(err)
	d.DueNow, err = db.Due(fixtureNow, 1<<20)
	must(err)
	d.DueLater, err = db.Due(fixtureNow.Add(1000*time.Hour), 1<<20)
	must(err)
	d.Stats, err = db.OutboxStats(fixtureNow)
	must(err)
	d.Dead, err = db.DeadLetters(1 << 20)
	must(err)
	d.Audit, err = db.RecentAudit(1 << 20)
	must(err)
	d.Bindings, err = db.Bindings()
	must(err)
	d.Vehicles, err = db.ListVehicles()
	must(err)
	s, err := db.Summary()
	must(err)
	d.Open3 = [3]int{s.Open, s.OpenVIP, s.OpenTemp}
	d.RecordsN = s.Records
	d.Newest = db.NewestTime().Unix()
	next, ok, err := db.NextDue()
	must(err)
	d.NextDue, d.NextDueSet = next.UnixNano(), ok
	b, err := json.MarshalIndent(d, "", " ")
	must(err)
	return b
}

// copyFixture copies testdata/name into a temporary directory.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "laned.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMigrateSchema1 opens a file written by schema 1 (testdata/schema1.db,
// made by testdata/schema1_gen.go.txt with the schema-1 code; its API view
// is testdata/schema1.json) and checks that every record, index, message,
// counter, payment, binding, vehicle, dead letter and audit event shows
// the same after the migration, that the dropped buckets are gone, and
// that the migrated file goes on working.
func TestMigrateSchema1(t *testing.T) {
	path := copyFixture(t, "schema1.db")
	want, err := os.ReadFile(filepath.Join("testdata", "schema1.json"))
	if err != nil {
		t.Fatal(err)
	}
	o := store.Options{Now: func() time.Time { return fixtureNow }, DeadLetterAfter: time.Hour}
	db, rep, err := store.Open(path, o)
	if err != nil {
		t.Fatalf("Open(schema 1) = %v", err)
	}
	if rep.FromSchema != 1 || rep.Schema != 4 || rep.Created || rep.MovedAside != "" {
		t.Errorf("Open(schema 1) report = %+v; want migrated from 1 to 4", rep)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Errorf("CheckConsistency after migration = %v", err)
	}
	if got := dumpStore(t, db); !bytes.Equal(got, want) {
		t.Errorf("the store after migration differs from before:\n%s", lineDiff(string(want), string(got)))
	}
	db.Close()

	// The layout: the lane and retention indexes are gone, the kind index
	// holds droppable kinds only, the plate index is keyed by look-alike
	// form.
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	droppable := 0
	b.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"open_lane", "closed"} {
			if tx.Bucket([]byte(name)) != nil {
				left = append(left, name)
			}
		}
		tx.Bucket([]byte("open_plate")).ForEach(func(k, _ []byte) error {
			form, plate, ok := bytes.Cut(k, []byte{0})
			if !ok || string(form) != store.PlateForm(string(plate)) {
				left = append(left, "open_plate key "+string(k))
			}
			return nil
		})
		return tx.Bucket([]byte("outbox_kind")).ForEach(func(k, _ []byte) error {
			kind, _, _ := bytes.Cut(k, []byte{0})
			if !store.Droppable(string(kind)) {
				left = append(left, "outbox_kind entry "+string(kind))
			}
			droppable++
			return nil
		})
	})
	b.Close()
	if len(left) != 0 || droppable != 5 {
		t.Errorf("after migration: left over %q, %d droppable kind entries; want none and 5", left, droppable)
	}

	// Reopened: no migration; and it works on.
	db, rep, err = store.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if rep.FromSchema != rep.Schema || rep.Schema != 4 {
		t.Errorf("second Open report = %+v; want schema 4 already", rep)
	}
	// Closed records by exit: IMPORT-0001 −10h, the stale one −1h, −48h, −216h.
	if n, err := db.Prune(context.Background(), fixtureNow.Add(-24*time.Hour), 1); err != nil || n != 2 {
		t.Errorf("Prune(−24h) = %d, %v; want 2", n, err)
	}
	if _, err := db.PaymentByOrder("o5b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("payment of a pruned record: %v; want ErrNotFound", err)
	}
	if n, err := db.Prune(context.Background(), fixtureNow, 10); err != nil || n != 2 {
		t.Errorf("Prune(now) = %d, %v; want 2", n, err)
	}
	if s, _ := db.Summary(); s.Records != 5 || s.Open != 5 {
		t.Errorf("after pruning: %+v; want the 5 open records", s)
	}
	r, err := db.OpenByPlate("京A00001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 9, OutTime: fixtureNow.Add(time.Hour)}, outdata(r.ID)); err != nil {
		t.Errorf("CloseRecord on the migrated file = %v", err)
	}
	if st, _ := db.OutboxStats(fixtureNow); st.ByKind[store.KindOutdata] != 5 || st.ByKind[store.KindPicUpload] != 2 {
		t.Errorf("OutboxStats.ByKind = %v; want 5 Outdata, 2 PicUpload", st.ByKind)
	}
	if err := db.CheckConsistency(); err != nil {
		t.Errorf("CheckConsistency = %v", err)
	}
}

// lineDiff shows the first lines where a and b differ.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)) && len(out) < 20; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d: want %q, got %q", i+1, x, y))
		}
	}
	return strings.Join(out, "\n")
}
