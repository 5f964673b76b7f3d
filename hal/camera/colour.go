package camera

import (
	"strings"

	"laned/hal"
)

// DefaultColours is the colour field of the common plate cameras: 0
// unknown, 1 blue, 2 yellow, 3 white, 4 black, 5 green, and the colours'
// names in Chinese (a trailing 色 is ignored). It is not the platform's
// numbering (0 blue … 4 green), which a camera set up that way states
// with colours = ["0:blue", "1:yellow", "2:white", "3:black", "4:green"].
var DefaultColours = map[string]int{
	"0": hal.ColourUnknown, "1": hal.ColourBlue, "2": hal.ColourYellow, "3": hal.ColourWhite, "4": hal.ColourBlack, "5": hal.ColourGreen,
	"蓝": hal.ColourBlue, "黄": hal.ColourYellow, "白": hal.ColourWhite, "黑": hal.ColourBlack, "绿": hal.ColourGreen,
}

// ColourNames are the names of the platform's colour codes in a
// template's colours list: hal.ColourName's, and "unknown".
var ColourNames = func() map[string]int {
	m := map[string]int{hal.ColourName(hal.ColourUnknown): hal.ColourUnknown}
	for c := hal.ColourBlue; hal.ValidColour(c); c++ {
		m[hal.ColourName(c)] = c
	}
	return m
}()

// colour decodes the camera's colour value v.
func (t *Template) colour(v string) int {
	m := t.Colours
	if m == nil {
		m = DefaultColours
	}
	if c, ok := m[v]; ok {
		return c
	}
	if c, ok := m[strings.TrimSuffix(v, "色")]; ok {
		return c
	}
	return hal.ColourUnknown
}
