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
// from the plate of the record it is matched to; unsure is the confidence
// below which a read is unsure of itself (unsureConf, or the lane's
// min_confidence when it has one).
func maxLookalikeCost(conf, unsure int) int {
	if conf > 0 && conf < unsure {
		return 2
	}
	return 1
}

// misread reports whether a read is below the lane's configured
// min_confidence (0: none): a misread candidate, whose exact match is not
// taken on trust but weighed with its look-alikes.
func misread(conf, minConf int) bool { return minConf > 0 && conf > 0 && conf < minConf }

// unsureBelow is the confidence below which a lane's reads are unsure.
func unsureBelow(minConf int) int {
	if minConf > 0 {
		return minConf
	}
	return unsureConf
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
//
// minConf is the lane's min_confidence (0: none): below it the read is a
// misread candidate, and even a candidate equal to it is only taken when
// no look-alike is within reach.
func matchPlate(read string, conf, minConf int, candidates []string) (match string, ambiguous []string) {
	exact := slices.Contains(candidates, read)
	if exact && !misread(conf, minConf) {
		return read, nil
	}
	limit := maxLookalikeCost(conf, unsureBelow(minConf))
	var near []string
	if exact {
		near = append(near, read)
	}
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
