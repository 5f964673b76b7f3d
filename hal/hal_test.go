package hal_test

import (
	"testing"

	"laned/hal"
)

// TestColours: the plate colour codes, their names and back.
func TestColours(t *testing.T) {
	tests := []struct {
		code  int
		name  string
		valid bool
	}{
		{hal.ColourBlue, "blue", true},
		{hal.ColourYellow, "yellow", true},
		{hal.ColourWhite, "white", true},
		{hal.ColourBlack, "black", true},
		{hal.ColourGreen, "green", true},
		{hal.ColourUnknown, "unknown", false},
	}
	for _, tt := range tests {
		if got := hal.ColourName(tt.code); got != tt.name {
			t.Errorf("ColourName(%d) = %q; want %q", tt.code, got, tt.name)
		}
		if got := hal.ValidColour(tt.code); got != tt.valid {
			t.Errorf("ValidColour(%d) = %v; want %v", tt.code, got, tt.valid)
		}
		if got, ok := hal.ParseColour(tt.name); got != tt.code || !ok {
			t.Errorf("ParseColour(%q) = %d, %v; want %d, true", tt.name, got, ok, tt.code)
		}
	}
	for _, c := range []int{5, -2, 255} {
		if hal.ValidColour(c) || hal.ColourName(c) != "unknown" {
			t.Errorf("code %d: ValidColour %v, ColourName %q; want false, unknown", c, hal.ValidColour(c), hal.ColourName(c))
		}
	}
	for _, name := range []string{"", "Blue", "purple", "蓝"} {
		if c, ok := hal.ParseColour(name); ok || c != hal.ColourUnknown {
			t.Errorf("ParseColour(%q) = %d, %v; want ColourUnknown, false", name, c, ok)
		}
	}
}
