package console

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// edit feeds in to a fresh editor and returns what happened, in a readable
// form: each event as "<line:…>", "<cancel>", "<eof>", "<toolong>".
func edit(in string, echo, mask bool, max int) (events, echoed string) {
	l := newLineEditor(max, echo)
	l.mask = mask
	var ev, out strings.Builder
	for i := 0; i < len(in); i++ {
		e, line := l.feed(in[i])
		out.Write(l.takeEcho())
		switch e {
		case evLine:
			ev.WriteString("<line:" + line + ">")
		case evCancel:
			ev.WriteString("<cancel>")
		case evEOF:
			ev.WriteString("<eof>")
		case evTooLong:
			ev.WriteString("<toolong>")
		}
	}
	return ev.String(), out.String()
}

var lineTests = []struct {
	name       string
	in         string
	echo, mask bool
	max        int
	wantEv     string
	wantEcho   string
}{
	{"cr", "status\r", true, false, 0, "<line:status>", "status\r\n"},
	{"lf", "status\n", true, false, 0, "<line:status>", "status\r\n"},
	{"crlf is one end", "a\r\nb\r\n", false, false, 0, "<line:a><line:b>", ""},
	{"lfcr is two ends", "a\n\rb\n", false, false, 0, "<line:a><line:><line:b>", ""},
	{"cr cr is two ends", "a\r\r", false, false, 0, "<line:a><line:>", ""},
	{"backspace", "lanez\bs\r", true, false, 0, "<line:lanes>", "lanez\b \bs\r\n"},
	{"del", "lanez\x7fs\r", true, false, 0, "<line:lanes>", "lanez\b \bs\r\n"},
	{"backspace on empty", "\b\x7fok\r", true, false, 0, "<line:ok>", "ok\r\n"},
	{"backspace erases a whole rune", "京A\b\b沪\r", false, false, 0, "<line:沪>", ""},
	{"wide rune erases two columns", "京\x7f\r", true, false, 0, "<line:>", "京\b \b\b \b\r\n"},
	{"ctrl-u erases the line", "abc\x15x\r", true, false, 0, "<line:x>", "abc\b \b\b \b\b \bx\r\n"},
	{"ctrl-c cancels", "lane 1 open\x03status\r", true, false, 0, "<cancel><line:status>", "lane 1 open^C\r\nstatus\r\n"},
	{"ctrl-d on empty line", "\x04", true, false, 0, "<eof>", ""},
	{"ctrl-d on a line is ignored", "ab\x04\r", false, false, 0, "<line:ab>", ""},
	{"arrow keys dropped", "\x1b[Ast\x1b[1;5Cat\x1bOPus\r", true, false, 0, "<line:status>", "status\r\n"},
	{"alt-x dropped", "\x1bxok\r", false, false, 0, "<line:ok>", ""},
	{"control bytes dropped", "s\x00t\x07a\ttus\r", false, false, 0, "<line:status>", ""},
	{"telnet cr nul", "a\r\x00b\r", false, false, 0, "<line:a><line:b>", ""},
	{"too long", "abcdef\rok\r", true, false, 4, "<toolong><line:ok>", "abcd\a\r\nok\r\n"},
	{"too long stays lost after erase", "abcde\b\b\r", false, false, 4, "<toolong>", ""},
	{"ctrl-u on an overlong line", "abcde\x15\r", false, false, 4, "<toolong>", ""}, // once looped for ever
	{"exactly max", "abcd\r", false, false, 4, "<line:abcd>", ""},
	{"mask", "1234\r", true, true, 0, "<line:1234>", "****\r\n"},
	{"mask erase", "12\b3\r", true, true, 0, "<line:13>", "**\b \b*\r\n"},
	{"no echo", "status\b\r", false, false, 0, "<line:statu>", ""},
}

func TestLineEditor(t *testing.T) {
	for _, tt := range lineTests {
		t.Run(tt.name, func(t *testing.T) {
			ev, echo := edit(tt.in, tt.echo, tt.mask, tt.max)
			if ev != tt.wantEv {
				t.Errorf("edit(%q) events = %q; want %q", tt.in, ev, tt.wantEv)
			}
			if echo != tt.wantEcho {
				t.Errorf("edit(%q) echo = %q; want %q", tt.in, echo, tt.wantEcho)
			}
		})
	}
}

// FuzzLineEditor: whatever the bytes, a line never holds a control byte or
// ESC, is never longer than max, and valid UTF-8 typed stays valid after
// erasing.
func FuzzLineEditor(f *testing.F) {
	for _, tt := range lineTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := newLineEditor(16, true)
		for _, b := range in {
			ev, line := l.feed(b)
			l.takeEcho()
			if len(l.buf) > 16 {
				t.Fatalf("buffer %d bytes; max 16", len(l.buf))
			}
			if ev != evLine {
				continue
			}
			if len(line) > 16 {
				t.Fatalf("line %q longer than 16", line)
			}
			for i := 0; i < len(line); i++ {
				if line[i] < 0x20 || line[i] == 0x7f {
					t.Fatalf("line %q holds control byte %#x", line, line[i])
				}
			}
		}
		if utf8.Valid(in) {
			// Typing valid text and erasing never leaves half a rune.
			l := newLineEditor(1024, false)
			for _, b := range in {
				if b < 0x20 || b == 0x7f {
					continue
				}
				l.feed(b)
				l.feed(keyDEL)
				if !utf8.Valid(l.buf) {
					t.Fatalf("after erase buffer %q is not valid UTF-8", l.buf)
				}
			}
		}
	})
}
