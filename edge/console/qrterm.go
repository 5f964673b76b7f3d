package console

import (
	"io"
	"strings"

	"rsc.io/qr"
)

// qrQuiet is the light margin around a QR code, in modules: the standard
// asks for 4; 2 is what phone scanners need off a terminal.
const qrQuiet = 2

// writeQR draws text as a QR code with Unicode half blocks, two module rows
// per terminal line, the way `qrencode -t UTF8` does: light modules are
// drawn, dark ones left blank, for a terminal with light text on a dark
// background (the serial consoles' usual colours).
func writeQR(w io.Writer, text string) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, renderQR(code.Size, code.Black))
	return err
}

// renderQR draws a size×size module matrix (dark reports a dark module;
// outside the matrix is light) with its quiet zone.
func renderQR(size int, dark func(x, y int) bool) string {
	light := func(x, y int) bool { return !dark(x, y) }
	var b strings.Builder
	for y := -qrQuiet; y < size+qrQuiet; y += 2 {
		for x := -qrQuiet; x < size+qrQuiet; x++ {
			top, bottom := light(x, y), light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteString(" ")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
