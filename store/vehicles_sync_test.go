package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestSyncVehicles(t *testing.T) {
	db, _ := storetest.Open(t, store.Options{})
	mine := func(v store.Vehicle) bool { return strings.HasPrefix(v.Note, "config") }
	if err := db.PutVehicle(store.Vehicle{Plate: "粤B9", List: store.ListMonthly, Note: "added at the console"}); err != nil {
		t.Fatal(err)
	}
	until := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	vip := store.Vehicle{Plate: "粤B1", List: store.ListVIP, Note: "config"}
	black := store.Vehicle{Plate: "粤B2", List: store.ListBlack, Until: until, Note: "config: stolen"}
	bad := store.Vehicle{Plate: "粤B3", List: "gold", Note: "config"}
	steps := []struct {
		name        string
		want        []store.Vehicle
		put, del    int
		errInvalid  bool
		wantEntries string
	}{
		{"first sync", []store.Vehicle{vip, black}, 2, 0, false, "粤B1/vip,粤B2/black,粤B9/monthly"},
		{"unchanged", []store.Vehicle{vip, black}, 0, 0, false, "粤B1/vip,粤B2/black,粤B9/monthly"},
		{"changed note", []store.Vehicle{vip, {Plate: "粤B2", List: store.ListBlack, Until: until, Note: "config: found"}}, 1, 0, false, "粤B1/vip,粤B2/black,粤B9/monthly"},
		{"one dropped", []store.Vehicle{vip}, 0, 1, false, "粤B1/vip,粤B9/monthly"},
		{"an invalid entry is skipped, the rest synced", []store.Vehicle{bad, black}, 1, 1, true, "粤B2/black,粤B9/monthly"},
		{"empty file", nil, 0, 1, false, "粤B9/monthly"},
	}
	for _, s := range steps {
		put, del, err := db.SyncVehicles(s.want, mine)
		if put != s.put || del != s.del || errors.Is(err, store.ErrInvalid) != s.errInvalid || (err != nil && !s.errInvalid) {
			t.Fatalf("%s: SyncVehicles = %d, %d, %v; want %d put, %d deleted, invalid %v", s.name, put, del, err, s.put, s.del, s.errInvalid)
		}
		vs, err := db.ListVehicles()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.Plate+"/"+string(v.List))
		}
		slices.Sort(got)
		if strings.Join(got, ",") != s.wantEntries {
			t.Errorf("%s: vehicles = %v; want %s", s.name, got, s.wantEntries)
		}
	}
}

func TestSyncVehiclesClosed(t *testing.T) {
	db, _ := storetest.Open(t, store.Options{})
	db.Close()
	if _, _, err := db.SyncVehicles([]store.Vehicle{{Plate: "A1", List: store.ListVIP}}, func(store.Vehicle) bool { return true }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("SyncVehicles on a closed store = %v; want ErrClosed", err)
	}
}
