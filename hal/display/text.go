package display

import (
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func fmtConfig(format string, a ...any) error {
	return fmt.Errorf("display: config: %s: %w", fmt.Sprintf(format, a...), ErrConfig)
}

// GBK encodes UTF-8 text as GBK, the boards' encoding. A character GBK
// has no code for is an error naming it.
func GBK(s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("display: text %q is not valid UTF-8: %w", s, ErrText)
	}
	out := make([]byte, 0, 2*len(s))
	enc := simplifiedchinese.GBK.NewEncoder()
	for _, r := range s {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		b, err := enc.Bytes([]byte(string(r)))
		if err != nil {
			return nil, fmt.Errorf("display: GBK cannot encode %q (U+%04X) in %q: %w", r, r, s, ErrText)
		}
		out = append(out, b...)
	}
	return out, nil
}

// FromGBK decodes GBK bytes to UTF-8 (undecodable bytes become U+FFFD).
func FromGBK(p []byte) string {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(p)
	if err != nil {
		return string([]rune(fmt.Sprintf("%q", p)))
	}
	return string(s)
}

// CheckText reports whether a line's text fits codec c: GBK can encode it
// and it is no longer than the board takes.
func CheckText(c Codec, s string) error {
	b, err := GBK(s)
	if err != nil {
		return err
	}
	if len(b) > c.MaxText() {
		return fmt.Errorf("display: text %q is %d bytes in GBK; the %s board takes at most %d: %w", s, len(b), c.Name(), c.MaxText(), ErrText)
	}
	return nil
}
