package edge

import (
	"slices"
	"unicode/utf8"

	"laned/store"
)

// unsureConf is the camera confidence (0–100) below which a read is taken
// to be unsure of itself: a look-alike two edits away may then be the
// vehicle. A confident read (or a camera that gives no confidence) is
// matched one edit away at most: a second difference in a reading the
// camera is sure of is more likely another vehicle.
const unsureConf = 80

// maxLookalikeCost is how many edits a read of confidence conf may be
// from the plate of the record it is matched to.
func maxLookalikeCost(conf int) int {
	if conf > 0 && conf < unsureConf {
		return 2
	}
	return 1
}

// lookalikeCost counts the edits that make stored out of read, when a
// camera could have made them: 0 when equal; for plates of the same
// length and the same look-alike form (store.PlateForm), the characters
// that differ (each a confusable pair such as 0/O/D/Q, 8/B, 1/I, 2/Z, 5/S,
// 6/G, or the province); with one character more or fewer, 1 plus the
// differences of the best alignment. -1 when stored cannot be a misread
// of read at all.
func lookalikeCost(read, stored string) int {
	if read == stored {
		return 0
	}
	if !utf8.ValidString(read) || !utf8.ValidString(stored) {
		return -1
	}
	a, b := []rune(read), []rune(stored)
	switch len(a) - len(b) {
	case 0:
		return substCost(a, b)
	case 1, -1:
		long, short := a, b
		if len(b) > len(a) {
			long, short = b, a
		}
		best := -1
		buf := make([]rune, 0, len(long))
		for i := range long {
			buf = append(append(buf[:0], long[:i]...), long[i+1:]...)
			if c := substCost(buf, short); c >= 0 && (best < 0 || c < best) {
				best = c
			}
		}
		if best < 0 {
			return -1
		}
		return best + 1
	}
	return -1
}

// substCost counts the positions where a and b differ, -1 unless they
// have the same look-alike form.
func substCost(a, b []rune) int {
	if len(a) != len(b) || store.PlateForm(string(a)) != store.PlateForm(string(b)) {
		return -1
	}
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// matchPlate picks the plate among candidates (open records' plates) that
// read, a camera reading of confidence conf, stands for: read itself when
// it is a candidate; else the single candidate within
// maxLookalikeCost(conf) edits. Two or more such candidates are ambiguous
// and returned instead: a wrong guess would charge the wrong driver.
func matchPlate(read string, conf int, candidates []string) (match string, ambiguous []string) {
	if slices.Contains(candidates, read) {
		return read, nil
	}
	limit := maxLookalikeCost(conf)
	var near []string
	for _, c := range candidates {
		if n := lookalikeCost(read, c); n > 0 && n <= limit && !slices.Contains(near, c) {
			near = append(near, c)
		}
	}
	switch len(near) {
	case 0:
		return "", nil
	case 1:
		return near[0], nil
	}
	slices.Sort(near)
	return "", near
}
