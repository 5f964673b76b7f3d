package update

import (
	"strconv"
	"strings"
)

// version is a parsed semver-ish version: [v]MAJOR[.MINOR[.PATCH]][-PRE][+BUILD].
type version struct {
	num [3]uint64
	pre []string // dot-separated pre-release identifiers; nil for a release
}

// parseVersion parses s; ok is false for "dev", "" and anything else that
// is not semver-ish.
func parseVersion(s string) (v version, ok bool) {
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i] // build metadata never orders
	}
	core := s
	if i := strings.IndexByte(s, '-'); i >= 0 {
		core = s[:i]
		pre := s[i+1:]
		if pre == "" {
			return version{}, false
		}
		v.pre = strings.Split(pre, ".")
		for _, id := range v.pre {
			if id == "" || !isIdent(id) {
				return version{}, false
			}
		}
	}
	parts := strings.Split(core, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return version{}, false
	}
	for i, p := range parts {
		if p == "" || len(p) > 9 || !isDigits(p) {
			return version{}, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return version{}, false
		}
		v.num[i] = n
	}
	return v, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// ValidVersion reports whether s is a semver-ish version a release may
// carry ("v1.2.3", "1.2", "1.2.3-rc1"; not "dev").
func ValidVersion(s string) bool {
	_, ok := parseVersion(s)
	return ok
}

// CompareVersions returns -1, 0 or +1 as a is older than, the same as or
// newer than b. Numbers compare numerically, a pre-release is older than its
// release ("1.2.3-rc1" < "1.2.3") and pre-release identifiers compare as in
// semver. A version that does not parse ("dev", "dev-0123abcd", "") is older
// than every version that does; two such versions compare equal.
func CompareVersions(a, b string) int {
	va, oka := parseVersion(a)
	vb, okb := parseVersion(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	for i := range va.num {
		if va.num[i] != vb.num[i] {
			return cmp(va.num[i] > vb.num[i])
		}
	}
	switch {
	case va.pre == nil && vb.pre == nil:
		return 0
	case va.pre == nil:
		return 1
	case vb.pre == nil:
		return -1
	}
	for i := 0; i < len(va.pre) && i < len(vb.pre); i++ {
		x, y := va.pre[i], vb.pre[i]
		if x == y {
			continue
		}
		xn, yn := isDigits(x), isDigits(y)
		switch {
		case xn && yn:
			if len(x) != len(y) {
				return cmp(len(x) > len(y))
			}
			return cmp(x > y)
		case xn:
			return -1 // numeric identifiers sort before alphanumeric ones
		case yn:
			return 1
		default:
			return cmp(x > y)
		}
	}
	if len(va.pre) == len(vb.pre) {
		return 0
	}
	return cmp(len(va.pre) > len(vb.pre))
}

func cmp(greater bool) int {
	if greater {
		return 1
	}
	return -1
}
