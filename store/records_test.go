package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

var t0 = time.Unix(1_700_000_000, 0)

func fixedNow() time.Time { return t0 }

func opts() store.Options { return store.Options{Now: fixedNow} }

func car(plate string, lane int, in time.Time) store.Record {
	return store.Record{Plate: plate, CarType: 1, PowerType: 1, InCode: lane, InTime: in}
}

func indata(id string) store.Message {
	return store.Message{Kind: store.KindIndata, RecordID: id, Params: map[string]string{"record_id": id}}
}

func outdata(id string) store.Message {
	return store.Message{Kind: store.KindOutdata, RecordID: id, Params: map[string]string{"record_id": id}}
}

func TestRecordLifecycle(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	a, err := db.OpenRecord(car("京A12345", 1, t0))
	if err != nil {
		t.Fatalf("OpenRecord = %v", err)
	}
	if len(a.ID) == 0 || len(a.ID) > store.MaxRecordID || a.State != store.StateInside {
		t.Fatalf("OpenRecord = %+v; want an ID ≤ 32 bytes and state inside", a)
	}
	vip := car("粤B0D12X", 2, t0.Add(time.Minute))
	vip.AuthType = store.AuthVIP
	b, err := db.OpenRecord(vip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenRecord(car("京A12345", 2, t0.Add(2*time.Minute)), indata("x")); !errors.Is(err, store.ErrAlreadyInside) {
		t.Fatalf("second OpenRecord of the same plate = %v; want ErrAlreadyInside", err)
	}
	if _, err := db.OpenRecord(store.Record{ID: a.ID, Plate: "沪C11111", InTime: t0}); !errors.Is(err, store.ErrExists) {
		t.Errorf("OpenRecord with a taken ID = %v; want ErrExists", err)
	}
	for _, bad := range []store.Record{
		{Plate: "", InTime: t0},
		{ID: "123456789012345678901234567890123", Plate: "沪C1", InTime: t0},
		{Plate: "沪C1", InCode: -1},
		{Plate: "沪C1", State: store.StateClosed},
	} {
		if _, err := db.OpenRecord(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("OpenRecord(%+v) = %v; want ErrInvalid", bad, err)
		}
	}

	got, err := db.OpenByPlate("京A12345")
	if err != nil || got.ID != a.ID {
		t.Fatalf("OpenByPlate = %+v, %v; want %s", got, err, a.ID)
	}
	if _, err := db.OpenByPlate("京A00000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenByPlate(unknown) = %v; want ErrNotFound", err)
	}
	all, err := db.OpenRecords()
	if err != nil || len(all) != 2 {
		t.Fatalf("OpenRecords = %d, %v; want 2", len(all), err)
	}
	lane2, err := db.OpenRecordsByLane(2)
	if err != nil || len(lane2) != 1 || lane2[0].ID != b.ID {
		t.Fatalf("OpenRecordsByLane(2) = %+v, %v; want [%s]", lane2, err, b.ID)
	}
	sum, err := db.Summary()
	if err != nil || sum.Open != 2 || sum.OpenVIP != 1 || sum.OpenTemp != 1 || sum.Records != 2 {
		t.Errorf("Summary = %+v, %v; want 2 open, 1 VIP, 1 temp", sum, err)
	}

	if _, err := db.MarkLeaving(a.ID, 9, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.RecordByID(a.ID); r.State != store.StateLeaving || r.OutCode != 9 {
		t.Errorf("after MarkLeaving: %+v; want leaving at 9", r)
	}
	// A corrected plate moves the index.
	if _, err := db.UpdateRecord(a.ID, func(r *store.Record) error { r.Plate = "京A12346"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenByPlate("京A12345"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old plate after correction: %v; want ErrNotFound", err)
	}
	if r, err := db.OpenByPlate("京A12346"); err != nil || r.ID != a.ID {
		t.Errorf("OpenByPlate(corrected) = %v, %v", r.ID, err)
	}
	if _, err := db.UpdateRecord(a.ID, func(r *store.Record) error { r.ID = "other"; return nil }); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("UpdateRecord changing the ID = %v; want ErrInvalid", err)
	}
	boom := errors.New("boom")
	if _, err := db.UpdateRecord(a.ID, func(r *store.Record) error { r.Plate = "X"; return boom }, indata(a.ID)); !errors.Is(err, boom) {
		t.Errorf("UpdateRecord with failing fn = %v; want boom", err)
	}

	out := t0.Add(2 * time.Hour)
	exit := store.Exit{OutCode: 9, OutTime: out, Fees: store.Fees{Total: 1000, Paid: 1000},
		Items: []store.ChargeItem{{PayType: 99, ShouldPay: 1000, ActualPay: 1000, Time: out, SeqNum: "s1"}}}
	closed, err := db.CloseRecord(a.ID, exit, outdata(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	if closed.State != store.StateClosed || closed.Fees.Total != 1000 || len(closed.Items) != 1 || !closed.OutTime.Equal(out) {
		t.Errorf("CloseRecord = %+v", closed)
	}
	if _, err := db.CloseRecord(a.ID, exit, outdata(a.ID)); !errors.Is(err, store.ErrRecordClosed) {
		t.Errorf("second CloseRecord = %v; want ErrRecordClosed", err)
	}
	if _, err := db.MarkLeaving(a.ID, 9, out); !errors.Is(err, store.ErrRecordClosed) {
		t.Errorf("MarkLeaving(closed) = %v; want ErrRecordClosed", err)
	}
	if _, err := db.CloseRecord("nope", exit); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CloseRecord(unknown) = %v; want ErrNotFound", err)
	}
	// Only the successful close queued its Outdata.
	msgs, _ := db.Messages(0, 100)
	if len(msgs) != 1 || msgs[0].Kind != store.KindOutdata {
		t.Errorf("queued after failures = %+v; want exactly the one Outdata", msgs)
	}
	if got := db.NewestTime(); !got.Equal(out) {
		t.Errorf("NewestTime() = %v; want %v", got, out)
	}
	sum, _ = db.Summary()
	if sum.Open != 1 || sum.OpenVIP != 1 || sum.OpenTemp != 0 {
		t.Errorf("Summary after close = %+v; want 1 open VIP", sum)
	}
	// The plate may enter again.
	if _, err := db.OpenRecord(car("京A12346", 1, out.Add(time.Minute))); err != nil {
		t.Errorf("re-entry after close = %v", err)
	}
}

func TestReplaceStale(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	old, err := db.OpenRecord(car("京A1", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	fresh := car("京A1", 1, t0.Add(24*time.Hour))
	fresh.ID = db.NewRecordID(fresh.InTime, 1)
	if _, err := db.ReplaceStale("nope", store.Exit{}, fresh); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceStale(unknown) = %v; want ErrNotFound", err)
	}
	other, _ := db.OpenRecord(car("京B2", 1, t0))
	if _, err := db.ReplaceStale(other.ID, store.Exit{}, fresh); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReplaceStale(other plate) = %v; want ErrInvalid", err)
	}
	got, err := db.ReplaceStale(old.ID, store.Exit{OutTime: fresh.InTime, Note: "stale"}, fresh, outdata(old.ID), indata(fresh.ID))
	if err != nil || got.ID != fresh.ID {
		t.Fatalf("ReplaceStale = %+v, %v", got, err)
	}
	if r, _ := db.RecordByID(old.ID); r.State != store.StateClosed || r.Note != "stale" {
		t.Errorf("stale record = %+v; want closed with note", r)
	}
	if r, _ := db.OpenByPlate("京A1"); r.ID != fresh.ID {
		t.Errorf("OpenByPlate = %s; want %s", r.ID, fresh.ID)
	}
	msgs, _ := db.Messages(0, 10)
	if len(msgs) != 2 || msgs[0].RecordID != old.ID || msgs[1].RecordID != fresh.ID {
		t.Errorf("messages = %+v; want Outdata(old), Indata(new)", msgs)
	}
}

func TestNewRecordIDUniqueAcrossRestart(t *testing.T) {
	_, path := storetest.Open(t, opts())
	seen := map[string]bool{}
	prev := ""
	for round := 0; round < 3; round++ {
		db, _, err := store.Open(path+"2", opts())
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			// Same second, same lane: only the sequence tells them apart.
			r, err := db.OpenRecord(store.Record{Plate: string(rune('A'+round*5+i)) + "1", InCode: 3, InTime: t0})
			if err != nil {
				t.Fatal(err)
			}
			if seen[r.ID] || len(r.ID) > store.MaxRecordID || r.ID <= prev {
				t.Fatalf("record id %q: duplicate, too long or not increasing (prev %q)", r.ID, prev)
			}
			seen[r.ID], prev = true, r.ID
		}
		db.NewRecordID(t0, 3) // handed out, never committed: harmless
		db.Close()
	}
	storetest.Check(t, path+"2", opts())
}

func TestImportOpen(t *testing.T) {
	db, _ := storetest.Open(t, store.Options{})
	in := time.Unix(1772413200, 0)
	recs := []store.Record{
		{Plate: "京A00001", InCode: 1, InTime: in, CarType: 1, PowerType: 1},
		{Plate: "京A00002", InCode: 1, InTime: in, CarType: 1, PowerType: 1},
	}
	if err := db.ImportOpen(recs); err != nil {
		t.Fatalf("ImportOpen = %v", err)
	}
	open, _, err := db.Occupancy()
	if err != nil || open != 2 {
		t.Errorf("Occupancy() = %d, %v; want 2", open, err)
	}
	// A duplicate plate aborts the whole import.
	dup := []store.Record{
		{Plate: "京A00003", InCode: 1, InTime: in, CarType: 1, PowerType: 1},
		{Plate: "京A00001", InCode: 1, InTime: in, CarType: 1, PowerType: 1},
	}
	if err := db.ImportOpen(dup); !errors.Is(err, store.ErrAlreadyInside) {
		t.Errorf("ImportOpen(duplicate) = %v; want ErrAlreadyInside", err)
	}
	if _, err := db.OpenByPlate("京A00003"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed import left a record: %v", err)
	}
}

func TestRecordsNewestFirst(t *testing.T) {
	db, _ := storetest.Open(t, store.Options{})
	in := time.Unix(1772413200, 0)
	for i, p := range []string{"京A00001", "京A00002", "京A00001"} {
		r, err := db.OpenRecord(store.Record{Plate: p, InCode: 1, InTime: in.Add(time.Duration(i) * time.Hour), CarType: 1, PowerType: 1})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 1, OutTime: in.Add(30 * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, err := db.Records("", 0)
	if err != nil || len(all) != 3 || !all[0].InTime.After(all[1].InTime) {
		t.Fatalf("Records(\"\") = %d records, %v; want 3 newest first", len(all), err)
	}
	mine, err := db.Records("京A00001", 10)
	if err != nil || len(mine) != 2 || mine[0].State != store.StateInside || mine[1].State != store.StateClosed {
		t.Fatalf("Records(京A00001) = %+v, %v; want the open one then the closed one", mine, err)
	}
	if one, _ := db.Records("", 1); len(one) != 1 {
		t.Errorf("Records limit 1 gave %d", len(one))
	}
}

// OpenRecordsByLane filters the open records (there is no lane index):
// closed ones and other lanes' are left out, the order is record_id.
func TestOpenRecordsByLane(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	ids := map[int][]string{}
	for i, lane := range []int{2, 1, 2, 3, 2, 1} {
		// Plates in the reverse order of the IDs: the plate index walks
		// them in the wrong order.
		r, err := db.OpenRecord(car(fmt.Sprintf("京L%d", 9-i), lane, t0.Add(time.Duration(i)*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 9, OutTime: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		ids[lane] = append(ids[lane], r.ID)
	}
	for _, lane := range []int{1, 2, 3, 4} {
		got, err := db.OpenRecordsByLane(lane)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		if fmt.Sprint(gotIDs) != fmt.Sprint(ids[lane]) {
			t.Errorf("OpenRecordsByLane(%d) = %v; want %v", lane, gotIDs, ids[lane])
		}
	}
}
