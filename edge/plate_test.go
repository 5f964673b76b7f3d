package edge

import (
	"slices"
	"testing"
)

func TestLookalikeCost(t *testing.T) {
	tests := []struct {
		name         string
		read, stored string
		want         int
	}{
		{"identical", "京A12345", "京A12345", 0},
		{"5/S", "京A1234S", "京A12345", 1},
		{"1/I", "京AI2345", "京A12345", 1},
		{"0/Q", "京A0B345", "京AQB345", 1},
		{"D/0", "京AD2345", "京A02345", 1},
		{"O/0", "京A1O345", "京A10345", 1},
		{"8/B", "京A1234B", "京A12348", 1},
		{"2/Z", "京AZ2345", "京A22345", 1},
		{"6/G", "京A6G345", "京AGG345", 1},
		{"province", "津A12345", "京A12345", 1},
		{"two confusables", "京A8234Z", "京AB2342", 2},
		{"province and a confusable", "津A1234S", "京A12345", 2},
		{"not a confusable pair", "京B12345", "京A12345", -1},
		{"one missing", "京A1234", "京A12345", 1},
		{"one missing in the middle", "京A1245", "京A12345", 1},
		{"province missing", "A12345", "京A12345", 1},
		{"one extra", "京A123456", "京A12345", 1},
		{"one extra in front", "1京A12345", "京A12345", 1},
		{"one missing and a confusable", "京A124S", "京A12345", 2},
		{"two missing", "京A123", "京A12345", -1},
		{"one missing, another different", "京A1247", "京A12345", -1},
		{"first position: not both CJK", "A12345", "京12345", -1},
		{"empty", "", "京A12345", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lookalikeCost(tt.read, tt.stored); got != tt.want {
				t.Errorf("lookalikeCost(%q, %q) = %d; want %d", tt.read, tt.stored, got, tt.want)
			}
			if got := lookalikeCost(tt.stored, tt.read); got != tt.want {
				t.Errorf("lookalikeCost(%q, %q) = %d; want %d (symmetric)", tt.stored, tt.read, got, tt.want)
			}
		})
	}
}

func TestMatchPlate(t *testing.T) {
	tests := []struct {
		name       string
		read       string
		conf       int
		candidates []string
		want       string
		ambiguous  []string
	}{
		{"exact wins over look-alikes", "京A12345", 96, []string{"京A1234S", "京A12345"}, "京A12345", nil},
		{"one look-alike", "京A1234S", 96, []string{"沪C99999", "京A12345"}, "京A12345", nil},
		{"one missing character", "京A1234", 96, []string{"沪C99999", "京A12345"}, "京A12345", nil},
		{"one extra character", "京A112345", 96, []string{"沪C99999", "京A12345"}, "京A12345", nil},
		{"misread province", "冀A12345", 96, []string{"沪C99999", "京A12345"}, "京A12345", nil},
		{"two look-alikes are ambiguous", "京A1234S", 96, []string{"京A12345", "津A1234S"}, "", []string{"京A12345", "津A1234S"}},
		{"a confusable and a missing char: ambiguous", "京A1234", 96, []string{"京A12345", "京A1234B"}, "", []string{"京A12345", "京A1234B"}},
		{"two edits, a confident read: no match", "京A1Z34S", 96, []string{"京A12345"}, "", nil},
		{"two edits, an unsure read: matched", "京A1Z34S", 60, []string{"京A12345"}, "京A12345", nil},
		{"two edits, no confidence given: no match", "京A1Z34S", 0, []string{"京A12345"}, "", nil},
		{"an unsure read sees more: ambiguous", "京A1Z34S", 60, []string{"京A12345", "京A1Z345"}, "", []string{"京A12345", "京A1Z345"}},
		{"three edits, unsure: no match", "津A1Z34S", 10, []string{"京A12345"}, "", nil},
		{"none", "京A12345", 96, []string{"沪C99999"}, "", nil},
		{"empty set", "京A12345", 96, nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, amb := matchPlate(tt.read, tt.conf, 0, tt.candidates)
			if got != tt.want || !slices.Equal(amb, tt.ambiguous) {
				t.Errorf("matchPlate(%q, %d, 0, %q) = %q, %q; want %q, %q", tt.read, tt.conf, tt.candidates, got, amb, tt.want, tt.ambiguous)
			}
		})
	}
}

// A lane's min_confidence (issue 17): a read below it is a misread
// candidate, handled like a look-alike plate even when it is exact.
func TestMatchPlateMinConfidence(t *testing.T) {
	tests := []struct {
		name       string
		read       string
		conf, min  int
		candidates []string
		want       string
		ambiguous  []string
	}{
		{"above min_confidence: exact wins", "京A12345", 90, 85, []string{"京A1234S", "京A12345"}, "京A12345", nil},
		{"below: exact with a look-alike is ambiguous", "京A12345", 70, 85, []string{"京A1234S", "京A12345"}, "", []string{"京A12345", "京A1234S"}},
		{"below: exact alone is taken", "京A12345", 70, 85, []string{"沪C99999", "京A12345"}, "京A12345", nil},
		{"below: two edits reach a single record", "京A1Z34S", 84, 85, []string{"京A12345"}, "京A12345", nil},
		{"no confidence given: exact wins", "京A12345", 0, 85, []string{"京A1234S", "京A12345"}, "京A12345", nil},
		{"min_confidence sets the unsure bound", "京A1Z34S", 84, 90, []string{"京A12345"}, "京A12345", nil},
		{"above it two edits do not match", "京A1Z34S", 92, 90, []string{"京A12345"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, amb := matchPlate(tt.read, tt.conf, tt.min, tt.candidates)
			if got != tt.want || !slices.Equal(amb, tt.ambiguous) {
				t.Errorf("matchPlate(%q, %d, %d, %q) = %q, %q; want %q, %q", tt.read, tt.conf, tt.min, tt.candidates, got, amb, tt.want, tt.ambiguous)
			}
		})
	}
}

func FuzzLookalikeCost(f *testing.F) {
	f.Add("京A12345", "京A1234S")
	f.Add("粤B0D12X", "粤BOD12X")
	f.Add("京A1234", "京A12345")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := lookalikeCost(a, b), lookalikeCost(b, a)
		if ab != ba {
			t.Errorf("lookalikeCost(%q, %q) = %d, reversed %d: not symmetric", a, b, ab, ba)
		}
		if a == b && ab != 0 {
			t.Errorf("lookalikeCost(%q, itself) = %d; want 0", a, ab)
		}
		if a != b && ab == 0 {
			t.Errorf("lookalikeCost(%q, %q) = 0 for different plates", a, b)
		}
	})
}
