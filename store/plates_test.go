package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestPlateForm(t *testing.T) {
	tests := []struct{ plate, want string }{
		{"京A12345", "*A12345"},
		{"粤BODQ8B", "*800088"},
		{"京AI1Z2S5G6", "*A11225566"},
		{"京a12345", "*A12345"},
		{"A12345", "A12345"},
		{"B12345", "812345"},   // no province: B is just a confusable
		{"京A1234警", "*A1234警"}, // only the first CJK character is a province
	}
	for _, tt := range tests {
		if got := store.PlateForm(tt.plate); got != tt.want {
			t.Errorf("PlateForm(%q) = %q; want %q", tt.plate, got, tt.want)
		}
	}
}

// OpenLookalikes finds, through the index alone, the open plates a
// camera may have read as the plate asked for: one table row per
// confusion class, the province, one character more or fewer.
func TestOpenLookalikes(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	inside := []string{
		"京A12345", "京A10345", "京AD2345", "京A12348", "京A12346", "沪C99999", "粤BD12345", "粤B12345警",
	}
	for i, p := range inside {
		if _, err := db.OpenRecord(car(p, 1, t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	closed, err := db.OpenRecord(car("京A1234Z", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CloseRecord(closed.ID, store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, read string
		want       []string
	}{
		{"exact is among them", "沪C99999", []string{"沪C99999"}},
		{"0/O", "京A1O345", []string{"京A10345"}},
		{"0/D", "京A1D345", []string{"京A10345"}},
		{"0/Q", "京AQ2345", []string{"京AD2345"}},
		{"8/B", "京A1234B", []string{"京A12348"}},
		{"1/I", "沪C99999", []string{"沪C99999"}},
		{"1/I in the read", "京AI2345", []string{"京A12345"}},
		{"2/Z", "京A1Z345", []string{"京A12345"}},
		{"5/S", "京A1234S", []string{"京A12345"}},
		{"6/G", "京A1234G", []string{"京A12346"}},
		{"province", "津C99999", []string{"沪C99999"}},
		{"several confusables", "京AIZ34S", []string{"京A12345"}},
		{"one missing", "沪C9999", []string{"沪C99999"}},
		{"province missing", "C99999", []string{"沪C99999"}},
		{"suffix or letter missing", "粤B12345", []string{"粤B12345警", "粤BD12345"}},
		{"one extra", "沪C999999", []string{"沪C99999"}},
		{"one extra in front", "沪沪C99999", []string{"沪C99999"}},
		{"several", "京A1234", []string{"京A12345", "京A12346", "京A12348"}},
		{"closed records are not open", "京A1234Z", nil},
		{"none", "新F77777", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := db.OpenLookalikes(tt.read)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				if !r.State.Open() {
					t.Errorf("OpenLookalikes(%q) returned closed record %s", tt.read, r.ID)
				}
				got = append(got, r.Plate)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("OpenLookalikes(%q) = %q; want %q", tt.read, got, tt.want)
			}
		})
	}
	if _, err := db.OpenLookalikes(""); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("OpenLookalikes(\"\") = %v; want ErrInvalid", err)
	}
}

// The index follows a record's plate through a correction and its close.
func TestOpenLookalikesFollowsChanges(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	r, err := db.OpenRecord(car("京A12345", 1, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateRecord(r.ID, func(r *store.Record) error { r.Plate = "沪C77777"; return nil }); err != nil {
		t.Fatal(err)
	}
	plates := func(read string) []string {
		t.Helper()
		recs, err := db.OpenLookalikes(read)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.Plate)
		}
		return out
	}
	if got := plates("京A1234S"); got != nil {
		t.Errorf("after the correction, look-alikes of the old plate = %q; want none", got)
	}
	if got := plates("沪C7777"); !slices.Equal(got, []string{"沪C77777"}) {
		t.Errorf("after the correction, look-alikes of the new plate = %q; want it", got)
	}
	if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 2, OutTime: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := plates("沪C7777"); got != nil {
		t.Errorf("after the close = %q; want none", got)
	}
}

// BenchmarkOpenLookalikes: a misread plate (one confusable) among 10k and
// 100k open records, and one that matches nothing (every form sought).
func BenchmarkOpenLookalikes(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		db := benchDB(b, n)
		for _, c := range []struct{ name, read string }{{"misread", "京AOO1234"}, {"missing", "京A01234"}, {"unknown", "新F77777"}} {
			b.Run(fmt.Sprintf("open=%d/%s", n, c.name), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					if _, err := db.OpenLookalikes(c.read); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
