package display_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/display"
)

// specCRC is CRC-16/MODBUS written from the spec's words, independently
// of the codec: init 0xFFFF, each byte XORed into the low byte, eight
// shifts right with 0xA001 on a carry; over the data and two zero bytes.
func specCRC(data []byte) uint16 {
	reg := 0xFFFF
	for _, b := range append(append([]byte{}, data...), 0, 0) {
		reg ^= int(b)
		for bit := 0; bit < 8; bit++ {
			carry := reg & 1
			reg >>= 1
			if carry == 1 {
				reg ^= 0xA001
			}
		}
	}
	return uint16(reg)
}

// specFrame builds an AA55 frame by hand: AA 55 SEQ ADDR 00 CMD LEN DATA
// CRC(high first) AF.
func specFrame(seq, addr, cmd byte, data ...byte) []byte {
	body := append([]byte{seq, addr, 0x00, cmd, byte(len(data) >> 8), byte(len(data))}, data...)
	crc := specCRC(body)
	out := append([]byte{0xAA, 0x55}, body...)
	return append(out, byte(crc>>8), byte(crc), 0xAF)
}

func TestAA55PublishedFrame(t *testing.T) {
	want := []byte{0xAA, 0x55, 0x01, 0x64, 0x00, 0x22, 0x00, 0x01, 0x0B, 0x07, 0x76, 0xAF}
	got, err := display.AA55{}.Encode(0x01, 100, display.Command{Op: display.OpSay, Speech: []hal.Phrase{{Text: "请缴费", Index: 0x0B, Indexed: true}}})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Encode(say 0B, seq 1) = % X, %v; want % X", got, err, want)
	}
	if h := specFrame(0x01, 0x64, 0x22, 0x0B); !bytes.Equal(h, want) {
		t.Fatalf("the test's own frame builder = % X; want % X (the test is wrong)", h, want)
	}
	if got := display.AA55CRC(want[2:9]); got != 0x0776 {
		t.Errorf("AA55CRC = %04X; want 0776", got)
	}
}

func TestAA55Commands(t *testing.T) {
	jing := []byte{0xBE, 0xA9, 'A', '1', '2', '3', '4', '5'} // 京A12345 in GBK
	welcome := []byte{0xBB, 0xB6, 0xD3, 0xAD, 0xB9, 0xE2, 0xC1, 0xD9}
	loc := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name string
		seq  byte
		addr int
		cmd  display.Command
		want []byte
	}{
		{"show 0x27", 7, 100, display.Command{Op: display.OpShow, Line: 1, Seconds: 10, Colour: hal.DisplayGreen, Text: "京A12345"},
			specFrame(7, 0x64, 0x27, append([]byte{1, 10, 2, 0}, jing...)...)},
		{"show default colour is red", 8, 101, display.Command{Op: display.OpShow, Line: 4, Text: "欢迎光临"},
			specFrame(8, 0x65, 0x27, append([]byte{4, 0, 1, 0}, welcome...)...)},
		{"cancel 0x21 all", 9, 100, display.Command{Op: display.OpCancel}, specFrame(9, 0x64, 0x21, 0x0F)},
		{"cancel 0x21 lines 2 and 3", 10, 100, display.Command{Op: display.OpCancel, Lines: []int{2, 3}}, specFrame(10, 0x64, 0x21, 0x06)},
		{"idle 0x25", 11, 100, display.Command{Op: display.OpIdle, Line: 2, Colour: hal.DisplayYellow, Text: "欢迎光临"},
			specFrame(11, 0x64, 0x25, append([]byte{2, 3, 0}, welcome...)...)},
		{"say 0x22 text and indexes", 12, 100, display.Command{Op: display.OpSay, Speech: []hal.Phrase{{Text: "京A12345"}, {Index: 0x01, Indexed: true}}},
			specFrame(12, 0x64, 0x22, append(jing, 0x01)...)},
		{"volume 0xF0", 13, 100, display.Command{Op: display.OpVolume, Volume: 7}, specFrame(13, 0x64, 0xF0, 7)},
		{"clock 0x10", 255, 100, display.Command{Op: display.OpClock, Time: time.Date(2026, 11, 30, 14, 5, 9, 0, loc)},
			specFrame(255, 0x64, 0x10, 26, 11, 30, 14, 5, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := display.AA55{}.Encode(tt.seq, tt.addr, tt.cmd)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("Encode = % X, %v; want % X", got, err, tt.want)
			}
			// And back: the decoder finds the frame, Parse the command.
			res := display.AA55{}.NewDecoder().Feed(got)
			if len(res) != 1 || res[0].Frame == nil {
				t.Fatalf("Feed(% X) = %+v; want one frame", got, res)
			}
			back, err := display.AA55{}.Parse(res[0].Frame)
			if err != nil || back.Op != tt.cmd.Op {
				t.Fatalf("Parse = %+v, %v; want op %v", back, err, tt.cmd.Op)
			}
		})
	}
}

func TestAA55EncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  display.Command
		want error
	}{
		{"qr", display.Command{Op: display.OpQR, URL: "https://x"}, display.ErrUnsupported},
		{"line 0", display.Command{Op: display.OpShow, Line: 0, Text: "a"}, display.ErrText},
		{"line 5", display.Command{Op: display.OpIdle, Line: 5, Text: "a"}, display.ErrText},
		{"not GBK", display.Command{Op: display.OpShow, Line: 1, Text: "车位🚗"}, display.ErrText},
		{"too long", display.Command{Op: display.OpShow, Line: 1, Text: string(bytes.Repeat([]byte("车"), 33))}, display.ErrText},
		{"volume 10", display.Command{Op: display.OpVolume, Volume: 10}, display.ErrConfig},
		{"empty voice", display.Command{Op: display.OpSay}, display.ErrText},
		{"clock 1970", display.Command{Op: display.OpClock, Time: time.Unix(0, 0)}, display.ErrText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := (display.AA55{}).Encode(1, 100, tt.cmd); !errors.Is(err, tt.want) {
				t.Errorf("Encode(%+v) = %v; want %v", tt.cmd, err, tt.want)
			}
		})
	}
}

func TestAA55SeqWraps(t *testing.T) {
	link := &recLink{}
	b, err := display.NewBoard(display.Config{Name: "t", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	for range 257 {
		if err := b.SetVolume(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range link.frames {
		if want := byte(i); f[2] != want {
			t.Fatalf("frame %d SEQ = %02X; want %02X", i, f[2], want)
		}
		if f[3] != 0x64 {
			t.Fatalf("frame %d ADDR = %02X; want 64", i, f[3])
		}
	}
	if got := link.frames[256][2]; got != 0 {
		t.Errorf("SEQ after 255 = %d; want 0", got)
	}
}

func TestAA55Decoder(t *testing.T) {
	good := specFrame(1, 0x64, 0x22, 0x0B)
	other := specFrame(2, 0x65, 0x21, 0x0F)
	badCRC := append([]byte{}, good...)
	badCRC[9] ^= 1
	tests := []struct {
		name       string
		chunks     [][]byte
		wantFrames int
		wantRej    int
	}{
		{"one", [][]byte{good}, 1, 0},
		{"byte by byte", split(append(append([]byte{}, good...), other...), 1), 2, 0},
		{"noise between", [][]byte{{0x00, 0x13}, good, {0xAA, 0x00}, other}, 2, 2},
		{"bad crc then good", [][]byte{badCRC, good}, 1, 1},
		{"naive modbus crc (low first, no padding) rejected", [][]byte{naive(1, 0x64, 0x22, 0x0B)}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := display.AA55{}.NewDecoder()
			var frames, rej int
			for _, c := range tt.chunks {
				for _, r := range dec.Feed(c) {
					if r.Frame != nil {
						frames++
					} else {
						rej++
					}
				}
			}
			for _, r := range dec.Flush() {
				if r.Frame == nil {
					rej++
				}
			}
			if frames != tt.wantFrames || rej != tt.wantRej {
				t.Errorf("frames, rejects = %d, %d; want %d, %d", frames, rej, tt.wantFrames, tt.wantRej)
			}
		})
	}
}

// naive is the frame with a plain MODBUS CRC: the mistake the spec warns of.
func naive(seq, addr, cmd byte, data ...byte) []byte {
	body := append([]byte{seq, addr, 0x00, cmd, byte(len(data) >> 8), byte(len(data))}, data...)
	reg := uint16(0xFFFF)
	for _, b := range body {
		reg ^= uint16(b)
		for range 8 {
			if reg&1 != 0 {
				reg = reg>>1 ^ 0xA001
			} else {
				reg >>= 1
			}
		}
	}
	return append(append([]byte{0xAA, 0x55}, body...), byte(reg), byte(reg>>8), 0xAF)
}

func split(p []byte, n int) [][]byte {
	var out [][]byte
	for len(p) > 0 {
		k := min(n, len(p))
		out = append(out, p[:k])
		p = p[k:]
	}
	return out
}

func FuzzAA55Decoder(f *testing.F) {
	f.Add(specFrame(1, 0x64, 0x22, 0x0B), 3)
	f.Add(append(specFrame(1, 0x64, 0x27, 1, 0, 1, 0, 0xBE, 0xA9), 0xAA, 0x55, 0xFF, 0xFF), 1)
	f.Add([]byte{0xAA, 0x55, 0, 0, 0, 0, 0xFF, 0xFF}, 5)
	f.Fuzz(func(t *testing.T, p []byte, chunk int) {
		chunk = max(1, chunk%64)
		dec := display.AA55{}.NewDecoder()
		var seen int
		for _, c := range split(p, chunk) {
			for _, r := range dec.Feed(c) {
				if r.Frame == nil {
					seen += len(r.Rejected)
					continue
				}
				seen += len(r.Frame.Raw)
				// A frame the decoder accepts re-encodes to itself.
				if !bytes.Equal(display.AA55Frame(r.Frame.Seq, r.Frame.Addr, r.Frame.Cmd, r.Frame.Data), r.Frame.Raw) {
					t.Fatalf("frame % X does not re-encode to itself", r.Frame.Raw)
				}
				display.AA55{}.Parse(r.Frame) // must not panic
			}
		}
		for _, r := range dec.Flush() {
			seen += len(r.Rejected)
		}
		if seen != len(p) {
			t.Fatalf("accounted for %d of %d bytes", seen, len(p))
		}
	})
}
