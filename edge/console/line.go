package console

import (
	"unicode"
	"unicode/utf8"
)

// MaxLine is the longest command line accepted, in bytes.
const MaxLine = 256

// lineEvent is what one input byte completed.
type lineEvent int

const (
	evNone    lineEvent = iota
	evLine              // a line ended (CR, LF or CRLF)
	evCancel            // Ctrl-C: the line was dropped
	evEOF               // Ctrl-D on an empty line
	evTooLong           // a line ended that was longer than max
)

// Control bytes the editor acts on.
const (
	keyCtrlC = 0x03
	keyCtrlD = 0x04
	keyBS    = 0x08
	keyLF    = '\n'
	keyCR    = '\r'
	keyCtrlU = 0x15
	keyEsc   = 0x1b
	keyDEL   = 0x7f
)

type escState int

const (
	escNone escState = iota
	escStart
	escCSI
	escSS3
)

// lineEditor is the line discipline of a session: it turns the bytes a
// terminal sends into lines, echoing what a terminal without local echo
// needs. It is fed one byte at a time and never blocks.
//
// CR, LF and CRLF end a line (an LF right after a CR is swallowed);
// backspace and DEL erase the last rune, Ctrl-U the whole line; Ctrl-C
// drops the line; Ctrl-D on an empty line ends the session; ANSI escape
// sequences (arrow keys, function keys) and other control bytes are
// dropped. A line over max bytes is reported as too long when it ends.
type lineEditor struct {
	max   int
	echo  bool // echo what is typed (a serial terminal does not)
	mask  bool // echo '*' instead of the characters (PIN entry)
	buf   []byte
	over  bool // the line grew past max; it is dropped at its end
	afCR  bool // the previous byte was a CR
	esc   escState
	escN  int    // bytes of the current escape sequence
	out   []byte // echo to write
	pwide []bool // per rune in buf (in order): two columns wide
	// junk is set by feed when the byte was line noise: a control byte
	// no key sends (other than tab, and NUL after CR as telnet sends), a
	// byte that never occurs in UTF-8, or a malformed escape sequence.
	junk bool
	// noise: junk was seen on the line in progress; noisyLine: the line
	// just ended had junk, or text that is not printable UTF-8.
	noise, noisyLine bool
}

func newLineEditor(max int, echo bool) *lineEditor {
	if max <= 0 {
		max = MaxLine
	}
	return &lineEditor{max: max, echo: echo}
}

// takeEcho returns and clears the pending echo.
func (l *lineEditor) takeEcho() []byte {
	o := l.out
	l.out = nil
	return o
}

func (l *lineEditor) emit(s string) {
	if l.echo {
		l.out = append(l.out, s...)
	}
}

// feed consumes one byte. For evLine it returns the line, without its end.
func (l *lineEditor) feed(b byte) (lineEvent, string) {
	l.junk = false
	prevCR := l.afCR
	if l.afCR {
		l.afCR = false
		if b == keyLF {
			return evNone, ""
		}
	}
	switch l.esc {
	case escStart:
		switch b {
		case '[':
			l.esc, l.escN = escCSI, 0
		case 'O':
			l.esc = escSS3
		default:
			l.esc = escNone // ESC x (Alt-x): dropped
		}
		return evNone, ""
	case escSS3:
		l.esc = escNone
		return evNone, ""
	case escCSI:
		l.escN++
		switch {
		case b >= 0x40 && b <= 0x7e: // final byte
			l.esc = escNone
			return evNone, ""
		case b >= 0x20 && b <= 0x3f && l.escN < 16: // parameters, intermediates
			return evNone, ""
		}
		l.esc = escNone // malformed: handle b as itself
		l.markJunk()
	}
	switch {
	case b == keyCR || b == keyLF:
		l.afCR = b == keyCR
		l.emit("\r\n")
		line, over := string(l.buf), l.over
		l.noisyLine = l.noise || !printable(line)
		l.reset()
		if over {
			return evTooLong, ""
		}
		return evLine, line
	case b == keyBS || b == keyDEL:
		l.erase()
	case b == keyCtrlU:
		for len(l.buf) > 0 && !l.over { // an overlong line is lost anyway
			l.erase()
		}
	case b == keyCtrlC:
		l.emit("^C\r\n")
		l.reset()
		return evCancel, ""
	case b == '\t' || b == 0 && prevCR:
		// tab, telnet's NUL after CR: dropped
	case b == keyCtrlD:
		if len(l.buf) == 0 && !l.over {
			return evEOF, ""
		}
	case b == keyEsc:
		l.esc = escStart
	case b < 0x20:
		l.markJunk() // other control bytes (bell, NUL …): dropped
	default:
		if b == 0xc0 || b == 0xc1 || b >= 0xf5 {
			l.markJunk() // never in UTF-8; kept, the line is noisy
		}
		if l.over || len(l.buf) >= l.max {
			if !l.over {
				l.emit("\a")
			}
			l.over = true
			return evNone, ""
		}
		l.buf = append(l.buf, b)
		if b < 0x80 || b >= 0xc0 { // the first byte of a rune
			if l.mask {
				l.emit("*")
			} else {
				l.emit(string([]byte{b}))
			}
			l.pwide = append(l.pwide, false)
		} else if l.echo && !l.mask {
			l.out = append(l.out, b)
		}
		if b >= 0x80 {
			// a continuation may complete a wide rune: re-measure
			if r, size := utf8.DecodeLastRune(l.buf); r != utf8.RuneError && size > 1 && len(l.pwide) > 0 {
				l.pwide[len(l.pwide)-1] = wide(r)
			}
		}
	}
	return evNone, ""
}

func (l *lineEditor) reset() {
	l.buf, l.over, l.pwide, l.noise = l.buf[:0], false, l.pwide[:0], false
}

func (l *lineEditor) markJunk() { l.junk, l.noise = true, true }

// printable reports whether s is UTF-8 of printable characters (spaces
// included): what a person types.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// erase drops the last rune (or stray byte) of the line.
func (l *lineEditor) erase() {
	if l.over {
		return // the line is lost anyway; erasing cannot save it
	}
	if len(l.buf) == 0 {
		return
	}
	// Back to the last lead byte: a rune, with any stray continuation
	// bytes that followed it, goes as one.
	i := len(l.buf) - 1
	for i > 0 && l.buf[i] >= 0x80 && l.buf[i] < 0xc0 {
		i--
	}
	l.buf = l.buf[:i]
	cols := 1
	if k := len(l.pwide); k > 0 {
		if l.pwide[k-1] && !l.mask {
			cols = 2
		}
		l.pwide = l.pwide[:k-1]
	}
	for range cols {
		l.emit("\b \b")
	}
}

// wide reports whether r takes two terminal columns (East Asian wide and
// full-width: Han characters in plates, full-width punctuation).
func wide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115f,
		r >= 0x2e80 && r <= 0x303e,
		r >= 0x3041 && r <= 0x33ff,
		r >= 0x3400 && r <= 0x4dbf,
		r >= 0x4e00 && r <= 0x9fff,
		r >= 0xa000 && r <= 0xa4cf,
		r >= 0xac00 && r <= 0xd7a3,
		r >= 0xf900 && r <= 0xfaff,
		r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60,
		r >= 0xffe0 && r <= 0xffe6,
		r >= 0x20000 && r <= 0x3fffd:
		return true
	}
	return false
}
