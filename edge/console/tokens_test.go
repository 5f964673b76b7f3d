package console

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

var tokenTests = []struct {
	in      string
	want    []string
	wantErr error
}{
	{"", nil, nil},
	{"   ", nil, nil},
	{"status", []string{"status"}, nil},
	{"  lane\t1  open  ", []string{"lane", "1", "open"}, nil},
	{`lane exit1 open "fire drill"`, []string{"lane", "exit1", "open", "fire drill"}, nil},
	{`lane exit1 open 'fire drill'`, []string{"lane", "exit1", "open", "fire drill"}, nil},
	{`say "a \"b\" \\ c"`, []string{"say", `a "b" \ c`}, nil},
	{`a"b c"d`, []string{"ab cd"}, nil},
	{`""`, []string{""}, nil},
	{`x 'it"s'`, []string{"x", `it"s`}, nil},
	{`records 京A12345`, []string{"records", "京A12345"}, nil},
	{`lane 1 open "fire`, nil, errUnterminated},
}

func TestTokenize(t *testing.T) {
	for _, tt := range tokenTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := tokenize(tt.in)
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Errorf("tokenize(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzTokenize(f *testing.F) {
	for _, tt := range tokenTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args, err := tokenize(in)
		if err != nil {
			return
		}
		// Words without quotes, spaces or backslashes re-join to the
		// same words.
		plain := true
		for _, a := range args {
			if a == "" || strings.ContainsAny(a, " \t\"'\\") {
				plain = false
			}
		}
		if plain {
			again, err := tokenize(strings.Join(args, " "))
			if err != nil || !slices.Equal(again, args) {
				t.Fatalf("tokenize(join(%q)) = %q, %v", args, again, err)
			}
		}
	})
}
