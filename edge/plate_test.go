package edge

import "testing"

func TestPlateLike(t *testing.T) {
	tests := []struct {
		read, stored string
		want         bool
	}{
		{"京A12345", "京A12345", false}, // identical is an exact match, not a look-alike
		{"京A1234S", "京A12345", true},  // 5/S
		{"京AI2345", "京A12345", true},  // 1/I
		{"京A0B345", "京AQB345", true},  // 0/Q
		{"京AD2345", "京A02345", true},  // D/0
		{"京A8234Z", "京AB2342", false}, // two differences
		{"津A12345", "京A12345", true},  // province misread
		{"京B12345", "京A12345", false}, // A/B is not a confusable pair
		{"京A12345", "京A123456", false},
		{"粤B0D12X", "粤BOD12X", true},
		{"", "京A12345", false},
		{"A12345", "京12345", false}, // first position: not both CJK
	}
	for _, tt := range tests {
		if got := plateLike(tt.read, tt.stored); got != tt.want {
			t.Errorf("plateLike(%q, %q) = %v; want %v", tt.read, tt.stored, got, tt.want)
		}
	}
}

func TestMatchPlate(t *testing.T) {
	tests := []struct {
		name       string
		read       string
		candidates []string
		want       string
		ok         bool
	}{
		{"exact wins over look-alikes", "京A12345", []string{"京A1234S", "京A12345"}, "京A12345", true},
		{"one look-alike", "京A1234S", []string{"沪C99999", "京A12345"}, "京A12345", true},
		{"two look-alikes are ambiguous", "京A1234S", []string{"京A12345", "津A1234S"}, "", false},
		{"none", "京A12345", []string{"沪C99999"}, "", false},
		{"empty set", "京A12345", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := matchPlate(tt.read, tt.candidates)
			if got != tt.want || ok != tt.ok {
				t.Errorf("matchPlate(%q, %q) = %q, %v; want %q, %v", tt.read, tt.candidates, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzPlateLike(f *testing.F) {
	f.Add("京A12345", "京A1234S")
	f.Add("粤B0D12X", "粤BOD12X")
	f.Fuzz(func(t *testing.T, a, b string) {
		if plateLike(a, b) != plateLike(b, a) {
			t.Errorf("plateLike not symmetric for %q, %q", a, b)
		}
		if plateLike(a, a) {
			t.Errorf("plateLike(%q, itself) = true", a)
		}
	})
}
