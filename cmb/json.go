package cmb

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Lenient JSON reading: the platform's document writes numbers as quoted
// strings ("status": "int") and its examples mix both, so a numeric field
// is accepted as a JSON number or a numeric string, and a string field as a
// string or a number (its text). null or absent reads as the zero value.

// parseJSON decodes exactly one JSON value with numbers kept as json.Number.
func parseJSON(b []byte, field string) (any, *FieldError) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fieldErr(field, "not JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fieldErr(field, "trailing data after JSON value")
	}
	return v, nil
}

// jobj reads the members of one JSON object; the first problem sticks.
type jobj struct {
	m    map[string]any
	path string // prefix for field names in errors, "" or "data." or "pay_list[0]."
	err  *FieldError
}

// asObj reads v as a JSON object (null reads as an empty one); field names
// v in errors, path prefixes its members' names.
func asObj(v any, field, path string) (*jobj, *FieldError) {
	switch m := v.(type) {
	case map[string]any:
		return &jobj{m: m, path: path}, nil
	case nil:
		return &jobj{m: map[string]any{}, path: path}, nil
	default:
		return nil, fieldErr(field, "not a JSON object")
	}
}

func (o *jobj) fail(e *FieldError) {
	if o.err == nil && e != nil {
		o.err = e
	}
}

// integer reads a member that is a number or a numeric string.
func (o *jobj) integer(name string) (n int64, present bool, e *FieldError) {
	return jsonInt(o.m[name], o.path+name)
}

// where names a member in errors: with the object's path.
func (o *jobj) where(name string) string { return o.path + name }

// text reads a member that is a string or a number (its text).
func (o *jobj) text(name string) (s string, present bool, e *FieldError) {
	switch v := o.m[name].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case json.Number:
		return v.String(), true, nil
	}
	return "", false, fieldErr(o.path+name, "not a string")
}

// jsonInt reads an integer from a number or a numeric string; ok is false
// for null, absent or "".
func jsonInt(v any, field string) (n int64, ok bool, e *FieldError) {
	var s string
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
		if s == "" {
			return 0, false, nil
		}
	default:
		return 0, false, fieldErr(field, "not a number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// 1000.0 or 1e3 from a float-minded encoder: accept exact integers.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
			return 0, false, fieldErr(field, "not an integer: %q", clip(s))
		}
		n = int64(f)
	}
	return n, true, nil
}

// marshalCompact encodes v as compact JSON without HTML escaping (the text
// is signed as sent, so keep it plain).
func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, the rest as is.
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendInt appends the member ,"name":n, or "name":n when first.
func appendInt(b []byte, name string, n int64, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, n, 10)
}

// appendStr appends the member ,"name":"s", or "name":"s" when first.
func appendStr(b []byte, name, s string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, s)
}
