package store_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

// corpus is a closed store file with every kind of entry, and what it
// holds.
type corpus struct {
	file    []byte
	pages   store.PageMap
	records map[string]store.Record
	msgs    []store.Message
	pays    []store.Payment
	bind    []store.Binding
	veh     []store.Vehicle
}

// buildCorpus writes n records (half of them closed), an Indata per
// record and an Outdata per closed one, a payment per tenth record,
// bindings, vehicles and audit events, through the store's API.
func buildCorpus(t *testing.T, n int) corpus {
	t.Helper()
	path := filepath.Join(t.TempDir(), "laned.db")
	db, _, err := store.Open(path, opts())
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = car(fmt.Sprintf("京A%05d", i), 1+i%4, t0.Add(time.Duration(i)*time.Second))
		recs[i].Note = strings.Repeat("n", i%50)
	}
	if err := db.OpenMany(recs); err != nil {
		t.Fatal(err)
	}
	var msgs []store.Message
	for _, r := range recs {
		msgs = append(msgs, indata(r.ID))
	}
	if _, err := db.Enqueue(msgs...); err != nil {
		t.Fatal(err)
	}
	if err := db.CloseMany(recs[:n/2], store.Exit{OutCode: 9, OutTime: t0.Add(time.Hour), Fees: store.Fees{Total: 500, Paid: 500}}); err != nil {
		t.Fatal(err)
	}
	msgs = msgs[:0]
	for _, r := range recs[:n/2] {
		msgs = append(msgs, outdata(r.ID))
	}
	if _, err := db.Enqueue(msgs...); err != nil {
		t.Fatal(err)
	}
	var c corpus
	for i := 0; i < n; i += 10 {
		p := store.Payment{Order: fmt.Sprintf("ord%06d", i), RecordID: recs[i].ID, Plate: recs[i].Plate, PayType: 1, Amount: int64(100 + i), PayTime: t0.Add(time.Minute)}
		if err := db.AddPayment(p); err != nil {
			t.Fatal(err)
		}
		c.pays = append(c.pays, p)
	}
	for i := range 20 {
		b := store.Binding{Plate: fmt.Sprintf("京A%05d", i), Limit: 10000, Source: store.SourceBind, Updated: t0}
		v := store.Vehicle{Plate: fmt.Sprintf("京B%05d", i), List: store.ListMonthly, Until: t0.Add(24 * time.Hour)}
		if err := db.PutBinding(b); err != nil {
			t.Fatal(err)
		}
		if err := db.PutVehicle(v); err != nil {
			t.Fatal(err)
		}
		c.bind, c.veh = append(c.bind, b), append(c.veh, v)
	}
	if err := db.FillAudit(300); err != nil {
		t.Fatal(err)
	}
	all, err := db.Records("", 2*n)
	if err != nil {
		t.Fatal(err)
	}
	c.records = map[string]store.Record{}
	for _, r := range all {
		c.records[r.ID] = r
	}
	if c.msgs, err = db.Messages(0, 4*n); err != nil {
		t.Fatal(err)
	}
	if c.pays, err = paymentsOf(db, c.pays); err != nil {
		t.Fatal(err)
	}
	if c.bind, err = db.Bindings(); err != nil {
		t.Fatal(err)
	}
	if c.veh, err = db.ListVehicles(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if c.pages, err = store.Pages(path); err != nil {
		t.Fatal(err)
	}
	if c.file, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	return c
}

// paymentsOf reads the payments back as stored.
func paymentsOf(db *store.DB, pays []store.Payment) ([]store.Payment, error) {
	var out []store.Payment
	for _, p := range pays {
		got, err := db.PaymentByOrder(p.Order)
		if err != nil {
			return nil, err
		}
		out = append(out, got)
	}
	return out, nil
}

// intact reports whether the entry key of bucket lies on a page that is
// not damaged: its leaf, or the tree of buckets for an inline bucket. A
// damaged branch page above it loses nothing: the leaves it cut off are
// recovered.
func (c corpus) intact(bucket, key string, damaged map[uint64]bool) bool {
	path, ok := c.pages.Paths[bucket][key]
	if !ok {
		panic(fmt.Sprintf("no page known for %s/%q", bucket, key))
	}
	if len(path) == 0 {
		return !damaged[c.pages.Root]
	}
	return !damaged[path[len(path)-1]]
}

func u64key(v uint64) string {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return string(b)
}

// damage writes c's file with fn applied to a copy and returns its path.
func (c corpus) damage(t *testing.T, fn func(b []byte)) (string, []byte) {
	t.Helper()
	b := bytes.Clone(c.file)
	fn(b)
	path := filepath.Join(t.TempDir(), "laned.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// salvaged opens a damaged file, expects a salvage and checks what every
// salvage must show; it returns the open store and the report.
func salvaged(t *testing.T, path string, damaged []byte) (*store.DB, store.SalvageReport) {
	t.Helper()
	var logs bytes.Buffer
	o := opts()
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	db, rep, err := store.Open(path, o)
	if err != nil {
		t.Fatalf("Open(damaged) = %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		storetest.Check(t, path, opts())
		if fc, err := store.CheckFile(path, opts()); err != nil || len(fc.Problems) > 0 {
			t.Errorf("CheckFile(salvaged) = %+v, %v; want no problem", fc, err)
		}
	})
	if rep.Salvage == nil {
		t.Fatalf("Open(damaged) report = %+v; want a salvage", rep)
	}
	t.Logf("salvage: %s", rep.Salvage)
	if kept, err := os.ReadFile(rep.MovedAside); err != nil || !bytes.Equal(kept, damaged) {
		t.Errorf("damaged file kept as %s: %v, same bytes %v", rep.MovedAside, err, bytes.Equal(kept, damaged))
	}
	if fc, err := store.CheckFile(rep.MovedAside, opts()); err != nil || len(fc.Problems) == 0 {
		t.Errorf("CheckFile(damaged) = %+v, %v; want problems", fc, err)
	}
	ev, err := db.RecentAudit(1)
	if err != nil || len(ev) != 1 || ev[0].Kind != "fault" || !strings.Contains(ev[0].Detail, "salvaged") || !strings.Contains(ev[0].Detail, "kept records=") {
		t.Errorf("RecentAudit(1) = %+v, %v; want the salvage's fault event", ev, err)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "salvaged") || !strings.Contains(l, "kept_records=") {
		t.Errorf("log = %s; want an ERROR line with the counts", l)
	}
	if _, err := os.Stat(path + ".salvage-needed"); err == nil {
		t.Errorf("salvage marker left behind")
	}
	return db, *rep.Salvage
}

// verify checks that every entry on intact pages survived unchanged;
// with exact, that nothing else did. It returns how many records
// survived.
func (c corpus) verify(t *testing.T, db *store.DB, rep store.SalvageReport, damaged map[uint64]bool, exact bool) int {
	t.Helper()
	found, intact := 0, 0
	for id, want := range c.records {
		got, err := db.RecordByID(id)
		ok := c.intact("records", id, damaged)
		if ok {
			intact++
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("record %s on intact pages: RecordByID = %+v, %v; want %+v", id, got, err, want)
			}
		} else if exact && err == nil {
			t.Errorf("record %s on a damaged page survived", id)
			exact = false // once is enough
		}
		if err == nil {
			found++
		}
	}
	sum, err := db.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Kept[store.KindRecords]; got != sum.Records || got < found {
		t.Errorf("Kept[records] = %d; the store holds %d, %d of them found by their IDs", got, sum.Records, found)
	}
	if exact && found != intact {
		t.Errorf("%d records survived; %d were on intact pages", found, intact)
	}
	if rep.Kept[store.KindRecords]+rep.Lost[store.KindRecords] > len(c.records) {
		t.Errorf("kept %d and lost %d of %d records", rep.Kept[store.KindRecords], rep.Lost[store.KindRecords], len(c.records))
	}
	// The outbox: every intact message with its sequence number, in order.
	msgs, err := db.Messages(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]store.Message{}
	for i, m := range msgs {
		got[m.Seq] = m
		if i > 0 && msgs[i-1].Seq >= m.Seq {
			t.Errorf("outbox out of order: %d after %d", m.Seq, msgs[i-1].Seq)
		}
	}
	for _, want := range c.msgs {
		m, ok := got[want.Seq]
		if c.intact("outbox", u64key(want.Seq), damaged) && (!ok || m.Kind != want.Kind || m.RecordID != want.RecordID || !reflect.DeepEqual(m.Params, want.Params)) {
			t.Errorf("message %d on intact pages: got %+v (%v); want %+v", want.Seq, m, ok, want)
		}
	}
	// OutboxBefore is the damaged file's own counter: -1 when its meta
	// bucket was lost with it.
	if rep.Kept[store.KindOutbox] != len(msgs) || rep.OutboxBefore != len(c.msgs) && (rep.OutboxBefore != -1 || !damaged[c.pages.Root]) {
		t.Errorf("outbox: kept %d of %d; %d queued, %d before", rep.Kept[store.KindOutbox], rep.OutboxBefore, len(msgs), len(c.msgs))
	}
	// A new message follows every salvaged one.
	seqs, err := db.Enqueue(store.Message{Kind: store.KindSpaceInfo})
	if err != nil || seqs[0] <= c.msgs[len(c.msgs)-1].Seq {
		t.Errorf("Enqueue after salvage = %v, %v; want a sequence past %d", seqs, err, c.msgs[len(c.msgs)-1].Seq)
	}
	// Payments survive with their record.
	for _, p := range c.pays {
		got, err := db.PaymentByOrder(p.Order)
		_, recErr := db.RecordByID(p.RecordID)
		key := p.RecordID + "\x00" + p.Order
		if c.intact("payments", key, damaged) && recErr == nil && (err != nil || !reflect.DeepEqual(got, p)) {
			t.Errorf("payment %s on intact pages: %+v, %v; want %+v", p.Order, got, err, p)
		}
		if recErr != nil && err == nil {
			t.Errorf("payment %s kept without its record", p.Order)
		}
	}
	for _, b := range c.bind {
		if got, err := db.Binding(b.Plate); c.intact("bindings", b.Plate, damaged) && (err != nil || !reflect.DeepEqual(got, b)) {
			t.Errorf("binding %s: %+v, %v; want %+v", b.Plate, got, err, b)
		}
	}
	vs, err := db.ListVehicles()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kept[store.KindVehicles] != len(vs) {
		t.Errorf("Kept[vehicles] = %d; %d listed", rep.Kept[store.KindVehicles], len(vs))
	}
	// A new record gets a sequence past every salvaged one.
	r, err := db.OpenRecord(car("新Z99999", 1, t0.Add(48*time.Hour)))
	if err != nil {
		t.Fatalf("OpenRecord after salvage = %v", err)
	}
	for id := range c.records {
		if id[17:] >= r.ID[17:] {
			t.Errorf("new record %s reuses the sequence of %s", r.ID, id)
			break
		}
	}
	return found
}

func TestSalvageZeroedPages(t *testing.T) {
	c := buildCorpus(t, 2000)
	leaf := func(bucket, key string) uint64 { p := c.pages.Paths[bucket][key]; return p[len(p)-1] }
	someRecord := slices.Sorted(func(yield func(string) bool) {
		for id := range c.records {
			if !yield(id) {
				return
			}
		}
	})[1000]
	p0 := c.pays[0]
	tests := []struct {
		name  string
		pages []uint64
	}{
		{"one records leaf", []uint64{leaf("records", someRecord)}},
		{"records root branch", []uint64{c.pages.Paths["records"][someRecord][0]}},
		{"outbox and payments leaves", []uint64{leaf("outbox", u64key(c.msgs[10].Seq)), leaf("payments", p0.RecordID+"\x00"+p0.Order)}},
		{"a leaf of each of three buckets and the audit ring", []uint64{leaf("records", someRecord), leaf("outbox", u64key(c.msgs[len(c.msgs)-1].Seq)), leaf("audit", u64key(5))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			damaged := map[uint64]bool{}
			path, b := c.damage(t, func(b []byte) {
				for _, p := range tc.pages {
					damaged[p] = true
					clear(b[int64(p)*c.pages.PageSize : int64(p+1)*c.pages.PageSize])
				}
			})
			db, rep := salvaged(t, path, b)
			found := c.verify(t, db, rep, damaged, true)
			if len(rep.BadPages) != len(tc.pages) {
				t.Errorf("BadPages = %q; want %d", rep.BadPages, len(tc.pages))
			}
			t.Logf("records: kept %d, lost %d of %d", found, len(c.records)-found, len(c.records))
			if found == 0 {
				t.Errorf("no record kept")
			}
			if tc.name == "records root branch" && (len(rep.Recovered) == 0 || found != len(c.records)) {
				t.Errorf("under a zeroed branch page: %d records kept of %d, %d pages recovered; want all", found, len(c.records), len(rep.Recovered))
			}
		})
	}
}

func TestSalvageFlippedBytes(t *testing.T) {
	c := buildCorpus(t, 2000)
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 20261130))
			damaged := map[uint64]bool{}
			path, b := c.damage(t, func(b []byte) {
				for range 40 {
					p := c.pages.Tree[rng.IntN(len(c.pages.Tree))]
					off := int64(p)*c.pages.PageSize + rng.Int64N(c.pages.PageSize)
					b[off] ^= byte(1 + rng.IntN(255))
					damaged[p] = true
				}
			})
			db, rep := salvaged(t, path, b)
			found := c.verify(t, db, rep, damaged, false)
			t.Logf("40 flipped bytes on %d pages: records kept %d of %d", len(damaged), found, len(c.records))
			if !damaged[c.pages.Root] && found == 0 {
				t.Errorf("no record kept")
			}
		})
	}
}

// With the page check off, a file bbolt itself cannot open (its tree of
// buckets zeroed) is salvaged all the same: every bucket's tree is found
// among the pages nothing reaches any more.
func TestSalvageWhenBboltRefuses(t *testing.T) {
	c := buildCorpus(t, 1000)
	damaged := map[uint64]bool{c.pages.Root: true}
	path, b := c.damage(t, func(b []byte) {
		clear(b[int64(c.pages.Root)*c.pages.PageSize : int64(c.pages.Root+1)*c.pages.PageSize])
	})
	o := opts()
	o.CheckTimeout = -1
	db, rep, err := store.Open(path, o)
	if err != nil {
		t.Fatalf("Open = %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		storetest.Check(t, path, opts())
	})
	if rep.Salvage == nil || !strings.Contains(rep.Reason, "bbolt") {
		t.Fatalf("Open report = %+v; want a salvage after bbolt refused the file", rep)
	}
	if kept, err := os.ReadFile(rep.MovedAside); err != nil || !bytes.Equal(kept, b) {
		t.Errorf("damaged file kept as %s: %v", rep.MovedAside, err)
	}
	t.Logf("salvage: %s", rep.Salvage)
	if found := c.verify(t, db, *rep.Salvage, damaged, false); found != len(c.records) {
		t.Errorf("%d of %d records kept; want all (only the tree of buckets was lost)", found, len(c.records))
	}
}
