package store_test

import (
	"encoding/json"
	"errors"
	"testing"

	"laned/store"
	"laned/store/storetest"
)

// FuzzApplyRepl hands a box hostile entries: an error changes nothing
// (not even the cursor), a success leaves a consistent file.
func FuzzApplyRepl(f *testing.F) {
	seeds := []struct {
		kind, key, data string
	}{
		{store.ReplRecord, "r1", `{"id":"r1","plate":"京A1","state":1,"rev":1,"writer":"b","in_time":"2023-11-14T22:13:20Z"}`},
		{store.ReplRecord, "r1", `{"id":"r1","plate":"京A1","state":3,"rev":2,"writer":"b","superseded":"r2"}`},
		{store.ReplPayment, "O1", `{"order":"O1","record_id":"r1","amount":500,"request_order":"RO1"}`},
		{store.ReplBinding, "京A1", `{"plate":"京A1","limit":100}`},
		{store.ReplUnbind, "京A1", ``},
		{store.ReplVehicle, "京A1", `{"plate":"京A1","list":"vip"}`},
		{store.ReplVehicleDel, "京A1", `{"plate":"京A1","list":"black"}`},
		{store.ReplArrear, "京A1", `{"plate":"京A1","record_id":"r1","amount":3}`},
		{store.ReplArrearDel, "京A1", `{"plate":"京A1","record_id":"r1"}`},
		{store.ReplUplink, "r1", `{"seq":4,"kind":"Outdata","record_id":"r1"}`},
		{store.ReplUplinkDone, "r1", `{"seq":4,"kind":"Outdata","record_id":"r1"}`},
		{store.ReplTakeover, "c", `{"origin":"c","upto":9,"seqs":[1,2]}`},
		{store.ReplTakeover, "a", `{"origin":"a","upto":9,"seqs":[1,2,18446744073709551615]}`},
		{store.ReplRecord, "r1", `{"id":`},
		{"nope", "r1", `{}`},
		{store.ReplPayment, "O1", `{"order":"O1","record_id":"r1","amount":-1}`},
		{store.ReplRecord, "r\x001", `{"id":"r\u00001","plate":"x","state":1,"rev":1,"writer":"b"}`},
	}
	for _, s := range seeds {
		f.Add(s.kind, s.key, []byte(s.data), uint64(1))
	}
	db, _ := storetest.Open(f, boxOpts("a"))
	if _, err := db.OpenRecord(car("京A9", 1, t0), indata("x")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind, key string, data []byte, seqOff uint64) {
		var cur uint64
		if cs, _ := db.ReplCursors(); len(cs) == 1 {
			cur = cs[0].Seq
		}
		e := store.ReplEntry{Origin: "b", Seq: cur + 1 + seqOff%3, At: t0, Kind: kind, Key: key, Data: json.RawMessage(data)}
		if len(data) == 0 {
			e.Data = nil
		}
		before := snapshot(t, db)
		res, err := db.ApplyRepl("b", []store.ReplEntry{e})
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("ApplyRepl(%s %q %q) = %v; want ErrInvalid or success", kind, key, data, err)
			}
			if after := snapshot(t, db); after != before {
				t.Fatalf("a refused entry changed the store")
			}
			if res.Cursor != 0 && res.Cursor != cur {
				t.Fatalf("refused: cursor %d; was %d", res.Cursor, cur)
			}
			return
		}
		if err := db.CheckConsistency(); err != nil {
			t.Fatalf("after ApplyRepl(%s %q %q): %v", kind, key, data, err)
		}
		if h, _, _ := db.ReplHead(); h != 2 {
			t.Fatalf("applying logged own entries: head %d", h)
		}
	})
}
