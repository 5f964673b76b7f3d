package config

import (
	"regexp"
	"strconv"
	"strings"
)

// LineIndex knows the line of every key of a TOML text, by its full path
// with array-of-tables indices: "park.park_code", "lanes[1].camera.baud",
// "tariff.small.segments[0].cap". It is a small scanner, not a parser:
// the text has already parsed when it is asked.
type LineIndex struct {
	at   map[string]int
	keys []keyLine // in file order
}

type keyLine struct {
	key  string
	line int
}

// Line returns the line of key, else of its nearest enclosing key or
// table (a missing key is reported at its section), else 0.
func (x *LineIndex) Line(key string) int {
	for key != "" {
		if n, ok := x.at[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

// occurrences lists the keys whose path without indices is plain.
func (x *LineIndex) occurrences(plain string) []keyLine {
	var out []keyLine
	for _, k := range x.keys {
		if stripIndices(k.key) == plain {
			out = append(out, k)
		}
	}
	return out
}

// laneRefRE finds the index names the board saw in its messages.
var laneRefRE = regexp.MustCompile(`#(\d+)`)

var indexRE = regexp.MustCompile(`\[\d+\]`)

func stripIndices(k string) string { return indexRE.ReplaceAllString(k, "") }

// IndexLines scans a TOML text that has already parsed.
func IndexLines(data []byte) *LineIndex {
	x := &LineIndex{at: map[string]int{}}
	put := func(k string, n int) {
		if _, ok := x.at[k]; !ok {
			x.at[k] = n
		}
		x.keys = append(x.keys, keyLine{k, n})
	}
	arrays := map[string]int{} // array of tables (indexed path) → count
	resolve := func(parts []string) string {
		p := ""
		for _, c := range parts {
			if p != "" {
				p += "."
			}
			p += c
			if n, ok := arrays[p]; ok {
				p += "[" + strconv.Itoa(n-1) + "]"
			}
		}
		return p
	}
	var sc tomlScan
	table := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if sc.busy() {
			sc.scan(line)
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
		case strings.HasPrefix(s, "[["):
			parts, _, ok := parseKey(s[2:])
			if !ok {
				continue
			}
			base := resolve(parts[:len(parts)-1])
			if base != "" {
				base += "."
			}
			base += parts[len(parts)-1]
			arrays[base]++
			table = base + "[" + strconv.Itoa(arrays[base]-1) + "]"
			put(base, n)
			put(table, n)
		case s[0] == '[':
			parts, _, ok := parseKey(s[1:])
			if !ok {
				continue
			}
			table = resolve(parts)
			put(table, n)
		default:
			parts, rest, ok := parseKey(s)
			if !ok || !strings.HasPrefix(rest, "=") {
				continue
			}
			k := strings.Join(parts, ".")
			if table != "" {
				k = table + "." + k
			}
			put(k, n)
			sc.scan(rest[1:])
		}
	}
	return x
}

// parseKey reads a dotted key (bare or quoted parts) at the start of s
// and returns its parts and what follows it, trimmed.
func parseKey(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		var part string
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return nil, "", false
			}
			q := s[0]
			part, s = s[1:1+end], s[2+end:]
			if q == '"' && strings.Contains(part, `\`) {
				if u, err := strconv.Unquote(`"` + part + `"`); err == nil {
					part = u
				}
			}
		default:
			end := strings.IndexFunc(s, func(r rune) bool {
				return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
			})
			if end == 0 {
				return nil, "", false
			}
			if end < 0 {
				end = len(s)
			}
			part, s = s[:end], s[end:]
		}
		parts = append(parts, part)
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, ".") {
			s = s[1:]
			continue
		}
		return parts, strings.TrimRight(strings.TrimLeft(strings.TrimLeft(s, "]"), " \t"), " \t\r"), true
	}
}

// tomlScan follows a value over lines: open brackets and multi-line
// strings, so that their inner lines are not read as keys.
type tomlScan struct {
	depth int
	ml    string // the open multi-line string's delimiter
}

func (t *tomlScan) busy() bool { return t.depth > 0 || t.ml != "" }

func (t *tomlScan) scan(s string) {
	for i := 0; i < len(s); {
		if t.ml != "" {
			j := strings.Index(s[i:], t.ml)
			if j < 0 {
				return
			}
			i += j + 3
			t.ml = ""
			continue
		}
		switch c := s[i]; c {
		case '#':
			return
		case '[', '{':
			t.depth++
		case ']', '}':
			if t.depth > 0 {
				t.depth--
			}
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				t.ml = strings.Repeat(string(c), 3)
				i += 3
				continue
			}
			j := i + 1
			for j < len(s) && s[j] != c {
				if c == '"' && s[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		}
		i++
	}
}
