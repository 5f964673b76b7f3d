package camera

import (
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var errBadText = errors.New("text is not valid in its encoding")

// decodeGBK turns GB18030/GBK bytes (a superset of GB2312) into UTF-8,
// refusing bytes that are not valid GB18030.
func decodeGBK(b []byte) (string, error) {
	if isASCII(b) {
		return string(b), nil // GB18030 is ASCII below 0x80
	}
	d := gbkDecoders.Get().(*encoding.Decoder)
	s, err := d.Bytes(b) // Bytes resets the decoder
	gbkDecoders.Put(d)
	if err != nil {
		return "", errBadText
	}
	if bytesContainRuneError(s) {
		return "", errBadText
	}
	return string(s), nil
}

// gbkDecoders saves a decoder's allocation per frame.
var gbkDecoders = sync.Pool{New: func() any { return simplifiedchinese.GB18030.NewDecoder() }}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decodeUTF8 checks that b is UTF-8.
func decodeUTF8(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errBadText
	}
	return string(b), nil
}

func bytesContainRuneError(s []byte) bool {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError {
			return true
		}
		s = s[n:]
	}
	return false
}

// encodeGBK turns UTF-8 into GB18030 bytes (identical to GBK for every
// character a plate uses).
func encodeGBK(s string) ([]byte, error) {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return nil, errBadText
	}
	return b, nil
}

// noPlateTexts are what cameras put in the plate field for a vehicle
// without a plate.
var noPlateTexts = map[string]bool{"无牌车": true, "无车牌": true, "无牌": true, "_无_": true}

// MaxPlateRunes is the longest plate a camera may report, in characters
// (a Chinese plate has 7 or 8).
const MaxPlateRunes = 16

// Reasons a plate is refused: plates are text, never terminal commands.
var (
	errPlateControl = errors.New("plate has control or format characters")
	errPlateLong    = errors.New("plate longer than 16 characters")
)

// cleanPlate trims the padding cameras add (NULs, spaces) and reports
// whether the text means "no plate". A plate holding a control or format
// character (C0, C1, DEL, bidi overrides, zero-width characters, line
// separators) or longer than MaxPlateRunes is an error.
func cleanPlate(s string) (plate string, none bool, err error) {
	s = strings.Trim(s, "\x00 \t")
	if s == "" || noPlateTexts[s] {
		return "", true, nil
	}
	if utf8.RuneCountInString(s) > MaxPlateRunes {
		return "", false, errPlateLong
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", false, errPlateControl
		}
	}
	return s, false, nil
}
