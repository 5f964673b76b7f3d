package store_test

import (
	"errors"
	"regexp"
	"testing"

	"laned/store"
	"laned/store/storetest"
)

func TestValidBox(t *testing.T) {
	for _, tc := range []struct {
		box string
		ok  bool
	}{
		{"a", true}, {"gw", true}, {"b1", true}, {"abcdef", true}, {"z09", true},
		{"", false}, {"abcdefg", false}, {"1a", false}, {"A", false}, {"a-b", false},
		{"a b", false}, {"a.b", false}, {"a\x00", false}, {"é", false}, {"a*", false}, {"a>", false},
	} {
		err := store.ValidBox(tc.box)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("ValidBox(%q) = %v; want ok=%v", tc.box, err, tc.ok)
		}
	}
}

func TestOpenRefusesBadBox(t *testing.T) {
	_, _, err := store.Open(t.TempDir()+"/x.db", store.Options{Box: "Bad!"})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Open with box %q = %v; want ErrInvalid", "Bad!", err)
	}
}

func TestNewRecordIDWithBox(t *testing.T) {
	for _, tc := range []struct {
		box  string
		want *regexp.Regexp
	}{
		{"", regexp.MustCompile(`^20231114221320007000000001$`)},
		{"b1", regexp.MustCompile(`^20231114221320b1007000000001$`)},
		{"abcdef", regexp.MustCompile(`^20231114221320abcdef999000000001$`)},
	} {
		opt := opts()
		opt.Box = tc.box
		db, _ := storetest.Open(t, opt)
		lane := 7
		if len(tc.box) == 6 {
			lane = 999
		}
		id := db.NewRecordID(t0, lane)
		if !tc.want.MatchString(id) || len(id) > store.MaxRecordID {
			t.Errorf("box %q: NewRecordID = %q; want %v, ≤ %d bytes", tc.box, id, tc.want, store.MaxRecordID)
		}
		r, err := db.OpenRecord(car("京A12345", lane, t0))
		if err != nil {
			t.Fatalf("box %q: OpenRecord = %v", tc.box, err)
		}
		if r.ID == id || !tc.want.MatchString(r.ID[:len(r.ID)-9]+"000000001") {
			t.Errorf("box %q: OpenRecord id %q; want a fresh id of the same form", tc.box, r.ID)
		}
	}
}

func TestRecordIDsOfTwoBoxesDiffer(t *testing.T) {
	a, _ := storetest.Open(t, store.Options{Now: fixedNow, Box: "a"})
	b, _ := storetest.Open(t, store.Options{Now: fixedNow, Box: "b"})
	if x, y := a.NewRecordID(t0, 1), b.NewRecordID(t0, 1); x == y {
		t.Fatalf("boxes a and b gave the same id %q for the same lane, time and sequence", x)
	}
}

func TestOpenRefusesOtherBox(t *testing.T) {
	db, path := storetest.Open(t, boxOpts("a"))
	db.Close()
	if _, _, err := store.Open(path, boxOpts("b")); !errors.Is(err, store.ErrOtherBox) {
		t.Fatalf("Open of a's file as b = %v; want ErrOtherBox", err)
	}
	for _, box := range []string{"", "a"} {
		db, _, err := store.Open(path, boxOpts(box))
		if err != nil {
			t.Fatalf("Open of a's file as %q = %v", box, err)
		}
		db.Close()
	}
}
