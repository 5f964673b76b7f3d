package update

import "testing"

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"v1.2.3", "v1.2.3", 0},
		{"v1.2.3", "1.2.3", 0},
		{"v1.2.4", "v1.2.3", 1},
		{"v1.10.0", "v1.9.9", 1},
		{"v2", "v1.99.99", 1},
		{"1.2", "1.2.0", 0},
		{"1.2.3-rc1", "1.2.3", -1},
		{"1.2.3-rc.2", "1.2.3-rc.10", -1},
		{"1.2.3-alpha", "1.2.3-beta", -1},
		{"1.2.3-1", "1.2.3-alpha", -1},
		{"1.2.3-rc", "1.2.3-rc.1", -1},
		{"1.2.3+build5", "1.2.3+build7", 0},
		{"dev", "v0.0.1", -1},
		{"dev-0123456789ab", "v0.0.1-rc1", -1},
		{"", "v0.0.1", -1},
		{"dev", "garbage", 0},
		{"v1.2.3.4", "v0.0.1", -1},
		{"v1..3", "v0.0.1", -1},
		{"v1.2.3-", "v0.0.1", -1},
		{"v1.2.3-a..b", "v0.0.1", -1},
		{"v1.2.x", "v0.0.1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_vs_"+tt.b, func(t *testing.T) {
			if got := CompareVersions(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
			}
			if got := CompareVersions(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d; want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func FuzzCompareVersions(f *testing.F) {
	f.Add("v1.2.3", "1.2.3-rc1")
	f.Add("dev", "v0.0.1")
	f.Add("1.2.3-rc.2", "1.2.3-rc.10")
	f.Fuzz(func(t *testing.T, a, b string) {
		if x, y := CompareVersions(a, b), CompareVersions(b, a); x != -y {
			t.Errorf("CompareVersions(%q, %q) = %d but reversed = %d", a, b, x, y)
		}
		if CompareVersions(a, a) != 0 {
			t.Errorf("CompareVersions(%q, itself) != 0", a)
		}
	})
}
