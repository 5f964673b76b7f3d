package console

import (
	"errors"
	"strings"
)

// errUnterminated: a quote was opened and not closed.
var errUnterminated = errors.New(`unterminated quote; close it, as in: lane 1 open "fire drill"`)

// tokenize splits a command line at spaces and tabs. Double or single
// quotes group words ("fire drill"); inside double quotes a backslash
// escapes a double quote or a backslash. Quotes join with adjacent text
// (a"b c"d is one word).
func tokenize(line string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		in    bool // inside a word
		quote byte
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '"' && c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			cur.WriteByte(line[i])
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				args = append(args, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, errUnterminated
	}
	if in {
		args = append(args, cur.String())
	}
	return args, nil
}
