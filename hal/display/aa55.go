package display

import (
	"encoding/binary"
	"fmt"
	"time"

	"laned/hal"
)

// AA55 command bytes.
const (
	AA55Show   = 0x27 // temporary text on a line (临显)
	AA55Cancel = 0x21 // cancel temporary text: a line bitmask
	AA55Idle   = 0x25 // a line's idle text
	AA55Say    = 0x22 // play voice: index bytes and/or GBK text
	AA55Volume = 0xF0 // volume 0–9
	AA55Clock  = 0x10 // yy mm dd hh mi ss
)

const (
	aa55Head     = 8 // AA 55 SEQ ADDR 00 CMD LEN LEN
	aa55Tail     = 3 // CRC CRC AF
	aa55MaxData  = 1024
	aa55MaxText  = 64
	aa55MaxLines = 4
)

// AA55 is the AA55 display-and-voice card's protocol:
//
//	AA 55 | SEQ | ADDR | 00 | CMD | LEN (2, big-endian) | DATA | CRC (2) | AF
//
// with CRC-16/MODBUS over SEQ … DATA followed by two zero bytes, sent high
// byte first, and text in GBK. It has no QR command.
type AA55 struct{}

var _ Codec = AA55{}

// Name is "aa55".
func (AA55) Name() string { return "aa55" }

// MaxText is the longest line text the codec sends, in GBK bytes (64: 32
// hanzi, four screens of a 64-pixel board scrolling).
func (AA55) MaxText() int { return aa55MaxText }

// AA55CRC is the frame check: CRC-16/MODBUS (init 0xFFFF, reflected poly
// 0xA001) of p followed by two zero bytes.
func AA55CRC(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range append(p[:len(p):len(p)], 0, 0) {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// AA55Frame builds a frame of cmd with data.
func AA55Frame(seq byte, addr int, cmd byte, data []byte) []byte {
	f := make([]byte, 0, aa55Head+len(data)+aa55Tail)
	f = append(f, 0xAA, 0x55, seq, byte(addr), 0x00, cmd)
	f = binary.BigEndian.AppendUint16(f, uint16(len(data)))
	f = append(f, data...)
	f = binary.BigEndian.AppendUint16(f, AA55CRC(f[2:]))
	return append(f, 0xAF)
}

func aa55Colour(c hal.DisplayColour) byte {
	switch c {
	case hal.DisplayGreen:
		return 2
	case hal.DisplayYellow:
		return 3
	}
	return 1 // red: the colour of single-colour boards
}

func checkLine(line int) error {
	if line < 1 || line > aa55MaxLines {
		return fmt.Errorf("display: line %d out of range 1–%d: %w", line, aa55MaxLines, ErrText)
	}
	return nil
}

func (a AA55) text(s string) ([]byte, error) {
	if err := CheckText(a, s); err != nil {
		return nil, err
	}
	return GBK(s)
}

// Encode returns the frame of c.
func (a AA55) Encode(seq byte, addr int, c Command) ([]byte, error) {
	if addr < 0 || addr > 255 {
		return nil, fmtConfig("address %d out of range 0–255", addr)
	}
	var cmd byte
	var data []byte
	switch c.Op {
	case OpShow:
		if err := checkLine(c.Line); err != nil {
			return nil, err
		}
		if c.Seconds < 0 || c.Seconds > 255 {
			return nil, fmt.Errorf("display: show for %d seconds (0–255): %w", c.Seconds, ErrText)
		}
		t, err := a.text(c.Text)
		if err != nil {
			return nil, err
		}
		cmd, data = AA55Show, append([]byte{byte(c.Line), byte(c.Seconds), aa55Colour(c.Colour), 0}, t...)
	case OpCancel:
		mask := byte(0)
		for _, l := range c.Lines {
			if err := checkLine(l); err != nil {
				return nil, err
			}
			mask |= 1 << (l - 1)
		}
		if mask == 0 {
			mask = 0x0F
		}
		cmd, data = AA55Cancel, []byte{mask}
	case OpIdle:
		if err := checkLine(c.Line); err != nil {
			return nil, err
		}
		t, err := a.text(c.Text)
		if err != nil {
			return nil, err
		}
		cmd, data = AA55Idle, append([]byte{byte(c.Line), aa55Colour(c.Colour), 0}, t...)
	case OpSay:
		for _, p := range c.Speech {
			if p.Indexed {
				data = append(data, p.Index)
				continue
			}
			t, err := GBK(p.Text)
			if err != nil {
				return nil, err
			}
			data = append(data, t...)
		}
		if len(data) == 0 || len(data) > aa55MaxData {
			return nil, fmt.Errorf("display: voice of %d bytes (1–%d): %w", len(data), aa55MaxData, ErrText)
		}
		cmd = AA55Say
	case OpVolume:
		if c.Volume < 0 || c.Volume > 9 {
			return nil, fmtConfig("volume %d out of range 0–9", c.Volume)
		}
		cmd, data = AA55Volume, []byte{byte(c.Volume)}
	case OpClock:
		t := c.Time
		if t.Year() < 2000 || t.Year() > 2255 {
			return nil, fmt.Errorf("display: clock year %d out of range 2000–2255: %w", t.Year(), ErrText)
		}
		cmd, data = AA55Clock, []byte{byte(t.Year() - 2000), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())}
	case OpQR:
		return nil, fmt.Errorf("display: aa55: qr code: %w", ErrUnsupported)
	default:
		return nil, fmt.Errorf("display: aa55: op %d: %w", c.Op, ErrUnsupported)
	}
	return AA55Frame(seq, addr, cmd, data), nil
}

// Parse reads the command of a controller's frame. Voice bytes below 0x80
// are voice indexes; GBK text runs are kept as text (the indexes' meaning
// is the board's: see Voices.Name).
func (a AA55) Parse(f *Frame) (Command, error) {
	bad := func(format string, args ...any) (Command, error) {
		return Command{}, fmt.Errorf("display: aa55: cmd %02X: %s: %w", f.Cmd, fmt.Sprintf(format, args...), ErrText)
	}
	d := f.Data
	switch f.Cmd {
	case AA55Show:
		if len(d) < 4 || d[0] < 1 || d[0] > aa55MaxLines {
			return bad("data % X", d)
		}
		return Command{Op: OpShow, Line: int(d[0]), Seconds: int(d[1]), Colour: hal.DisplayColour(d[2]), Text: FromGBK(d[4:])}, nil
	case AA55Cancel:
		if len(d) != 1 {
			return bad("data % X", d)
		}
		c := Command{Op: OpCancel}
		for l := 1; l <= aa55MaxLines; l++ {
			if d[0]&(1<<(l-1)) != 0 {
				c.Lines = append(c.Lines, l)
			}
		}
		return c, nil
	case AA55Idle:
		if len(d) < 3 || d[0] < 1 || d[0] > aa55MaxLines {
			return bad("data % X", d)
		}
		return Command{Op: OpIdle, Line: int(d[0]), Colour: hal.DisplayColour(d[1]), Text: FromGBK(d[3:])}, nil
	case AA55Say:
		if len(d) == 0 {
			return bad("no voice")
		}
		return Command{Op: OpSay, Speech: splitVoice(d)}, nil
	case AA55Volume:
		if len(d) != 1 || d[0] > 9 {
			return bad("data % X", d)
		}
		return Command{Op: OpVolume, Volume: int(d[0])}, nil
	case AA55Clock:
		if len(d) != 6 {
			return bad("data % X", d)
		}
		t := time.Date(2000+int(d[0]), time.Month(d[1]), int(d[2]), int(d[3]), int(d[4]), int(d[5]), 0, time.UTC)
		return Command{Op: OpClock, Time: t}, nil
	}
	return bad("unknown command")
}

// splitVoice splits voice data into index bytes (below 0x80) and GBK
// text runs (a lead byte 0x81–0xFE and its trail byte).
func splitVoice(d []byte) []hal.Phrase {
	var out []hal.Phrase
	for i := 0; i < len(d); {
		if d[i] < 0x80 {
			out = append(out, hal.Phrase{Index: d[i], Indexed: true})
			i++
			continue
		}
		j := i
		for j < len(d) && d[j] >= 0x80 {
			j += 2
		}
		j = min(j, len(d))
		out = append(out, hal.Phrase{Text: FromGBK(d[i:j])})
		i = j
	}
	return out
}

// NewDecoder returns a decoder of AA55 frames.
func (AA55) NewDecoder() Decoder { return &aa55Decoder{} }

type aa55Decoder struct{ buf []byte }

func (d *aa55Decoder) Pending() int { return len(d.buf) }

func (d *aa55Decoder) Flush() []Result {
	if len(d.buf) == 0 {
		return nil
	}
	r := Result{Rejected: d.buf, Reason: "incomplete frame"}
	d.buf = nil
	return []Result{r}
}

// Feed scans for AA 55, checks length, the zero byte, the CRC and AF;
// a bad candidate is rejected up to the next AA 55 and the scan resumes.
func (d *aa55Decoder) Feed(p []byte) []Result {
	d.buf = append(d.buf, p...)
	var out []Result
	var junk []byte
	why := ""
	reject := func(n int, reason string) {
		junk = append(junk, d.buf[:n]...)
		d.buf = d.buf[n:]
		if why == "" {
			why = reason
		}
	}
	emit := func() {
		if len(junk) > 0 {
			if why == "" {
				why = "bytes between frames"
			}
			out = append(out, Result{Rejected: junk, Reason: why})
			junk, why = nil, ""
		}
	}
	for len(d.buf) > 0 {
		if d.buf[0] != 0xAA || (len(d.buf) > 1 && d.buf[1] != 0x55) {
			reject(1, "")
			continue
		}
		if len(d.buf) < aa55Head {
			break
		}
		if d.buf[4] != 0 {
			reject(1, "byte 4 is not 00")
			continue
		}
		n := int(binary.BigEndian.Uint16(d.buf[6:8]))
		if n > aa55MaxData {
			reject(1, fmt.Sprintf("length %d over %d", n, aa55MaxData))
			continue
		}
		total := aa55Head + n + aa55Tail
		if len(d.buf) < total {
			break
		}
		f := d.buf[:total]
		if f[total-1] != 0xAF {
			reject(1, "no AF at the end")
			continue
		}
		if got, want := binary.BigEndian.Uint16(f[total-3:]), AA55CRC(f[2:total-3]); got != want {
			reject(1, fmt.Sprintf("crc %04X, want %04X", got, want))
			continue
		}
		emit()
		raw := append([]byte(nil), f...)
		out = append(out, Result{Frame: &Frame{Seq: raw[2], Addr: int(raw[3]), Cmd: raw[5], Data: raw[aa55Head : total-aa55Tail], Raw: raw}})
		d.buf = d.buf[total:]
	}
	emit()
	if len(d.buf) == 0 {
		d.buf = nil
	}
	return out
}
