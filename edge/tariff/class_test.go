package tariff

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		plate  string
		colour int
		want   Class
	}{
		{"粤B12345", 0, Small},
		{"粤B12345", -1, Small},
		{"粤B12345", 1, Large},      // yellow
		{"粤BD12345", 1, Large},     // yellow wins over the 8-character shape
		{"粤B12345", 4, NewEnergy},  // green
		{"粤BD12345", 0, NewEnergy}, // 8 characters, province + letter + 6
		{"粤BD12345", -1, NewEnergy},
		{"WJ粤1234X", -1, Small}, // 8 characters but not a province first
		{"粤812345X", -1, Small}, // 8 characters but no letter second: not new-energy-shaped
		{"京A1234学", 0, Small},
		{"NOPLATE0123456789", -1, Small}, // an unlicensed vehicle's virtual plate
		{"", -1, Small},
	}
	for _, tt := range tests {
		if got := Classify(tt.plate, tt.colour); got != tt.want {
			t.Errorf("Classify(%q, %d) = %v; want %v", tt.plate, tt.colour, got, tt.want)
		}
	}
}

func TestIsMilitaryPolice(t *testing.T) {
	tests := []struct {
		plate string
		want  bool
	}{
		{"粤B1234警", true},
		{"WJ粤1234X", true},
		{"wj粤1234X", true},
		{"军A12345", true},
		{"北K12345", true},
		{"空A12345", true},
		{"海B12345", true},
		{"粤B12345", false},
		{"京A12345", false},
		{"粤BD12345", false},
		{"粤Z1234港", false},
		{"警", false}, // too short to be a plate
		{"", false},
	}
	for _, tt := range tests {
		if got := IsMilitaryPolice(tt.plate); got != tt.want {
			t.Errorf("IsMilitaryPolice(%q) = %v; want %v", tt.plate, got, tt.want)
		}
	}
}

func TestEngineIsMilitaryPoliceConfigured(t *testing.T) {
	cfg := shenzhen()
	cfg.MilitaryPrefixes = []string{"VA", "KA"}
	e := mustNew(t, cfg)
	tests := []struct {
		plate string
		want  bool
	}{
		{"VA12345", true},
		{"KA12345", true},
		{"军A12345", false}, // the list replaces the defaults
		{"粤B1234警", true},  // suffixes keep their defaults
	}
	for _, tt := range tests {
		if got := e.IsMilitaryPolice(tt.plate); got != tt.want {
			t.Errorf("IsMilitaryPolice(%q) = %v; want %v", tt.plate, got, tt.want)
		}
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Small: "small", Large: "large", NewEnergy: "new_energy", Class(9): "unknown"} {
		if got := c.String(); got != want {
			t.Errorf("Class(%d).String() = %q; want %q", int(c), got, want)
		}
	}
}
