package console

import (
	"strings"
	"testing"

	"rsc.io/qr"
)

// decodeHalfBlocks reads renderQR's output back into a light/dark matrix
// (true = dark) of side n, quiet zone included.
func decodeHalfBlocks(t *testing.T, s string, n int) [][]bool {
	t.Helper()
	m := make([][]bool, n+1)
	for i := range m {
		m[i] = make([]bool, n)
	}
	for row, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		rs := []rune(line)
		if len(rs) != n {
			t.Fatalf("line %d has %d cells; want %d", row, len(rs), n)
		}
		for x, r := range rs {
			var topLight, bottomLight bool
			switch r {
			case '█':
				topLight, bottomLight = true, true
			case '▀':
				topLight = true
			case '▄':
				bottomLight = true
			case ' ':
			default:
				t.Fatalf("line %d cell %d = %q; want a half block or a space", row, x, r)
			}
			m[2*row][x], m[2*row+1][x] = !topLight, !bottomLight
		}
	}
	return m[:n]
}

func TestRenderQR(t *testing.T) {
	for _, text := range []string{
		"https://cmain-uat.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=%E4%BA%ACA12345&berth_number=1",
		"https://cmain.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=&berth_number=255",
	} {
		code, err := qr.Encode(text, qr.M)
		if err != nil {
			t.Fatal(err)
		}
		n := code.Size + 2*qrQuiet
		got := renderQR(code.Size, code.Black)
		if lines := strings.Count(got, "\n"); lines != (n+1)/2 {
			t.Errorf("renderQR: %d lines; want %d (two module rows a line)", lines, (n+1)/2)
		}
		m := decodeHalfBlocks(t, got, n)
		for y := range n {
			for x := range n {
				if want := code.Black(x-qrQuiet, y-qrQuiet); m[y][x] != want {
					t.Fatalf("module (%d,%d) dark = %v; want %v", x-qrQuiet, y-qrQuiet, m[y][x], want)
				}
			}
		}
		// The three finder patterns, checked from their definition: a
		// dark 7×7 ring, a light 5×5 ring, a dark 3×3 centre.
		for _, c := range [][2]int{{0, 0}, {code.Size - 7, 0}, {0, code.Size - 7}} {
			for dy := range 7 {
				for dx := range 7 {
					ring := min(dx, dy, 6-dx, 6-dy)
					want := ring != 1
					if got := m[c[1]+dy+qrQuiet][c[0]+dx+qrQuiet]; got != want {
						t.Fatalf("finder at %v module (%d,%d) dark = %v; want %v", c, dx, dy, got, want)
					}
				}
			}
		}
		// The quiet zone is light all round.
		for i := range n {
			for _, p := range [][2]int{{i, 0}, {i, 1}, {0, i}, {1, i}, {i, n - 1}, {n - 1, i}} {
				if m[p[1]][p[0]] {
					t.Fatalf("quiet zone module %v is dark", p)
				}
			}
		}
	}
}
