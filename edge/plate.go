package edge

import "unicode/utf8"

// confusable groups characters an ANPR camera commonly mistakes for one
// another. Two plates that differ in exactly one position, where both
// characters fall in the same group, may be the same vehicle.
var confusable = func() map[rune]int {
	groups := []string{"0ODQ", "8B", "2Z", "1I", "5S"}
	m := make(map[rune]int)
	for i, g := range groups {
		for _, r := range g {
			m[r] = i + 1
		}
	}
	return m
}()

// plateLike reports whether read may be a misread of stored: the same
// length, and exactly one position differs, either by a confusable pair or
// in the province character (the first one, a CJK character the camera
// misreads most often).
func plateLike(read, stored string) bool {
	if read == stored || read == "" || stored == "" {
		return false
	}
	if utf8.RuneCountInString(read) != utf8.RuneCountInString(stored) {
		return false
	}
	diffs, pos := 0, -1
	var ra, rb rune
	i := 0
	for a, b := read, stored; a != ""; i++ {
		x, nx := utf8.DecodeRuneInString(a)
		y, ny := utf8.DecodeRuneInString(b)
		a, b = a[nx:], b[ny:]
		if x != y {
			diffs++
			if diffs > 1 {
				return false
			}
			pos, ra, rb = i, x, y
		}
	}
	if diffs != 1 {
		return false
	}
	if pos == 0 && ra >= 0x4E00 && rb >= 0x4E00 { // a misread province
		return true
	}
	ga, gb := confusable[ra], confusable[rb]
	return ga != 0 && ga == gb
}

// matchPlate picks the stored plate that read stands for: read itself when
// it is among the candidates, else the single candidate that plateLike
// accepts. Two or more look-alikes are ambiguous and match nothing: a wrong
// match would charge the wrong driver.
func matchPlate(read string, candidates []string) (string, bool) {
	var found string
	n := 0
	for _, c := range candidates {
		if c == read {
			return c, true
		}
		if plateLike(read, c) {
			found = c
			n++
		}
	}
	if n != 1 {
		return "", false
	}
	return found, true
}
