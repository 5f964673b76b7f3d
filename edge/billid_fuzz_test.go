package edge

import (
	"testing"
	"time"
)

// FuzzParseBillID: a bill_id from the platform (the pay notice carries it
// back) either is refused or names a sane time and due, and one made by
// billID reads back exactly.
func FuzzParseBillID(f *testing.F) {
	f.Add("R1", billID("R1", time.Unix(1767225600, 0), 600))
	f.Add("R1", "R1Q-5D1")
	f.Add("R1", "R2Q1767225600D600")
	f.Add("", "Q1D1")
	f.Fuzz(func(t *testing.T, rec, s string) {
		at, due, ok := parseBillID(rec, s)
		if !ok {
			return
		}
		if due < 0 || at.Unix() <= 0 {
			t.Fatalf("parseBillID(%q, %q) = %v, %d", rec, s, at, due)
		}
		at2, due2, ok2 := parseBillID(rec, billID(rec, at, due))
		if !ok2 || !at2.Equal(at) || due2 != due {
			t.Fatalf("round trip of %v, %d = %v, %d, %v", at, due, at2, due2, ok2)
		}
	})
}
