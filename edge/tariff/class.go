package tariff

import (
	"strings"
	"unicode/utf8"

	"laned/hal"
)

// Class is a vehicle class, each with its own rule set.
type Class int

// The vehicle classes.
const (
	Small     Class = iota // blue plates and everything else
	Large                  // yellow plates
	NewEnergy              // green plates, 8 characters
	numClasses
)

// String returns the class's configuration key: "small", "large",
// "new_energy".
func (c Class) String() string {
	switch c {
	case Small:
		return "small"
	case Large:
		return "large"
	case NewEnergy:
		return "new_energy"
	}
	return "unknown"
}

// provinces are the first characters of civil plates.
const provinces = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

// Classify chooses a plate's class from its text and its platform colour
// code (0 blue, 1 yellow, 2 white, 3 black, 4 green, -1 unknown): a yellow
// plate is Large; a green plate, or an 8-character plate shaped like a
// new-energy plate (province, letter, 6 characters), is NewEnergy; anything
// else, including an unlicensed vehicle's virtual plate, is Small. Yellow
// wins over the length: a large new-energy vehicle prices as Large.
func Classify(plate string, colour int) Class {
	switch {
	case colour == hal.ColourYellow:
		return Large
	case colour == hal.ColourGreen:
		return NewEnergy
	case isNewEnergyPlate(plate):
		return NewEnergy
	}
	return Small
}

func isNewEnergyPlate(plate string) bool {
	if utf8.RuneCountInString(plate) != 8 {
		return false
	}
	first, n := utf8.DecodeRuneInString(plate)
	if !strings.ContainsRune(provinces, first) {
		return false
	}
	second := plate[n]
	return second >= 'A' && second <= 'Z'
}

// DefaultMilitaryPrefixes are the plate prefixes IsMilitaryPolice treats as
// military or armed police: "WJ" (armed police) and the first characters of
// the older military plates (军 and the military regions and services).
// None is a civil province character. The newer letter-first military
// plates are not included by default: an unlicensed vehicle's virtual plate
// can start with letters too. Config.MilitaryPrefixes replaces the list.
var DefaultMilitaryPrefixes = []string{"WJ", "军", "北", "南", "广", "沈", "成", "兰", "济", "空", "海"}

// DefaultPoliceSuffixes are the plate endings IsMilitaryPolice treats as
// police. Config.PoliceSuffixes replaces the list.
var DefaultPoliceSuffixes = []string{"警"}

// IsMilitaryPolice reports whether a plate looks like a military or police
// plate by DefaultMilitaryPrefixes and DefaultPoliceSuffixes. It is a
// heuristic on OCR text, conservative on purpose; Engine.IsMilitaryPolice
// uses the configured lists.
func IsMilitaryPolice(plate string) bool {
	return matchMilitary(plate, DefaultMilitaryPrefixes, DefaultPoliceSuffixes)
}

func matchMilitary(plate string, prefixes, suffixes []string) bool {
	plate = strings.ToUpper(strings.TrimSpace(plate))
	if utf8.RuneCountInString(plate) < 3 {
		return false
	}
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(plate, strings.ToUpper(p)) {
			return true
		}
	}
	for _, s := range suffixes {
		if s != "" && strings.HasSuffix(plate, strings.ToUpper(s)) {
			return true
		}
	}
	return false
}
