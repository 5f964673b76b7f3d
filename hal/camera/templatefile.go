package camera

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// LoadTemplate reads a template file (see ParseTemplate).
func LoadTemplate(path string) (*Template, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("camera: load template: %w", err)
	}
	defer f.Close()
	t, err := ParseTemplate(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTemplate reads the little configuration language of the spec's
// example, one `key = value` per line:
//
//	header   = "$PLT,"     # literal; \xAA, \r, \n, \t, \\ and \" escapes
//	fields   = ["plate", "color", "conf", "time14"]
//	sep      = ","
//	widths   = [8, 1, 3, 14]   # only with sep = ""
//	trailer  = "*"
//	checksum = "xor"       # none | sum8 | xor
//	end      = "\r\n"
//	encoding = "gbk"       # gbk | utf-8
//	zone     = "Asia/Shanghai"
//	colours  = ["1:blue", "2:yellow", "蓝:blue"]  # camera value:colour
//
// `#` starts a comment outside quotes; values may also be bare words
// (checksum = xor). colours maps the camera's values of the color field
// to the platform's colours (unknown, blue, yellow, white, black, green)
// and replaces DefaultColours. Errors name the line. The result is
// validated.
func ParseTemplate(r io.Reader) (*Template, error) {
	t := &Template{}
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		bad := func(format string, a ...any) error {
			return fmt.Errorf("camera: template: line %d: %s: %w", line, fmt.Sprintf(format, a...), ErrConfig)
		}
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if text == "" || text[0] == '#' {
			continue
		}
		key, rest, ok := strings.Cut(text, "=")
		if !ok {
			return nil, bad("want key = value, got %q", text)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if prev, dup := seen[key]; dup {
			return nil, bad("%s given again (first on line %d)", key, prev)
		}
		seen[key] = line
		v, err := parseValue(rest)
		if err != nil {
			return nil, bad("%s: %v", key, err)
		}
		str := func() (string, error) {
			if v.list != nil {
				return "", bad("%s wants a string, not a list", key)
			}
			return v.str, nil
		}
		switch key {
		case "header", "sep", "trailer", "end", "checksum", "encoding", "zone":
			s, err := str()
			if err != nil {
				return nil, err
			}
			switch key {
			case "header":
				t.Header = s
			case "sep":
				t.Sep = s
			case "trailer":
				t.Trailer = s
			case "end":
				t.End = s
			case "checksum":
				t.Checksum = strings.ToLower(s)
			case "encoding":
				t.Encoding = s
			case "zone":
				t.Location = LoadZone(s)
			}
		case "fields":
			if v.list == nil {
				return nil, bad("fields wants a list such as [\"plate\", \"color\"]")
			}
			t.Fields = v.list
		case "widths":
			if v.list == nil {
				return nil, bad("widths wants a list of numbers such as [8, 1, 3]")
			}
			for _, s := range v.list {
				n, err := strconv.Atoi(s)
				if err != nil {
					return nil, bad("width %q is not a number", s)
				}
				t.Widths = append(t.Widths, n)
			}
		case "colours", "colors":
			if v.list == nil {
				return nil, bad("%s wants a list such as [\"1:blue\", \"2:yellow\"]", key)
			}
			t.Colours = map[string]int{}
			for _, e := range v.list {
				cam, name, ok := strings.Cut(e, ":")
				code, known := ColourNames[strings.ToLower(strings.TrimSpace(name))]
				if !ok || !known || strings.TrimSpace(cam) == "" {
					return nil, bad("%s: %q: want camera-value:colour, the colour one of unknown, blue, yellow, white, black, green", key, e)
				}
				if _, dup := t.Colours[strings.TrimSpace(cam)]; dup {
					return nil, bad("%s: camera value %q given twice", key, cam)
				}
				t.Colours[strings.TrimSpace(cam)] = code
			}
		default:
			return nil, bad("unknown key %q (want header, fields, sep, widths, trailer, checksum, end, encoding, zone or colours)", key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("camera: template: line %d: %w", line+1, err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

type value struct {
	str  string
	list []string // non-nil for a list, even an empty one
}

// parseValue parses a quoted string, a bare word or a [list] followed by
// nothing but an optional comment.
func parseValue(s string) (value, error) {
	var v value
	s = strings.TrimLeft(s, " \t")
	switch {
	case s == "" || s[0] == '#':
		return v, fmt.Errorf("missing value")
	case s[0] == '[':
		v.list = []string{}
		s = s[1:]
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" {
				return v, fmt.Errorf("missing ]")
			}
			if s[0] == ']' {
				s = s[1:]
				break
			}
			item, rest, err := parseItem(s, ",]")
			if err != nil {
				return v, err
			}
			v.list = append(v.list, item)
			s = strings.TrimLeft(rest, " \t")
			if s != "" && s[0] == ',' {
				s = s[1:]
			} else if s == "" || s[0] != ']' {
				return v, fmt.Errorf("want , or ] after %q", item)
			}
		}
	default:
		item, rest, err := parseItem(s, "#")
		if err != nil {
			return v, err
		}
		v.str, s = item, rest
	}
	s = strings.TrimLeft(s, " \t")
	if s != "" && s[0] != '#' {
		return v, fmt.Errorf("unexpected %q after the value", s)
	}
	return v, nil
}

// parseItem parses a quoted string or a bare word ending before any of
// stops or white space.
func parseItem(s, stops string) (item, rest string, err error) {
	if s[0] != '"' {
		end := strings.IndexAny(s, stops+" \t")
		if end < 0 {
			end = len(s)
		}
		if end == 0 {
			return "", s, fmt.Errorf("missing value before %q", s[:1])
		}
		return s[:end], s[end:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("unfinished escape")
			}
			i++
			switch s[i] {
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			case '\\', '"':
				b.WriteByte(s[i])
			case 'x', 'X':
				if i+2 >= len(s) {
					return "", "", fmt.Errorf("\\x wants two hex digits")
				}
				n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
				if err != nil {
					return "", "", fmt.Errorf("\\x%s is not two hex digits", s[i+1:i+3])
				}
				b.WriteByte(byte(n))
				i += 2
			default:
				return "", "", fmt.Errorf("unknown escape \\%c", s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("missing closing quote")
}
