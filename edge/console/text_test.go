package console

import (
	"strconv"
	"testing"
	"unicode"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"京A12345", "京A12345"},
		{"fire drill", "fire drill"},
		{"京A\x1b[2J", `"京A\x1b[2J"`},
		{"A\u202e1", `"A\u202e1"`},
		{"A\u200b1", `"A\u200b1"`},
		{"A\u009b1", `"A\u009b1"`},
		{"A\xff", `"A\xff"`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzText: what text prints is printable, and says exactly the input.
func FuzzText(f *testing.F) {
	for _, s := range []string{"京A12345", "A\x1b[2J", "A\u202e1", "\xff\xfe", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := text(s)
		for _, r := range out {
			if !unicode.IsPrint(r) {
				t.Fatalf("text(%q) = %q holds %U", s, out, r)
			}
		}
		if out != s {
			back, err := strconv.Unquote(out)
			if err != nil || back != s {
				t.Fatalf("text(%q) = %s does not unquote to the input: %q, %v", s, out, back, err)
			}
		}
	})
}
