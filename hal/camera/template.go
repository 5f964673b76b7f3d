package camera

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"laned/hal"
)

// Template field names (spec §2).
const (
	FieldPlate   = "plate"
	FieldColor   = "color"
	FieldConf    = "conf"
	FieldTrigger = "trigger"
	FieldTime    = "time"   // UNIX seconds
	FieldTime14  = "time14" // YYYYMMDDhhmmss in the car park's zone
	FieldAddr    = "addr"
	FieldIgnore  = "-" // a field the camera sends that the controller ignores (record number, …)
)

// Checksums of the template codec, as 2 hex digits after the trailer.
const (
	ChecksumNone = "none"
	ChecksumSum8 = "sum8"
	ChecksumXOR  = "xor"
)

// Text encodings of the template codec.
const (
	EncodingGBK  = "gbk" // GB18030 on decode, a superset of GBK and GB2312
	EncodingUTF8 = "utf-8"
)

// DefaultZone is the car park's zone when a template names none.
const DefaultZone = "Asia/Shanghai"

// Template is the configurable push-frame codec (spec §2): Header, the
// Fields joined by Sep (or cut by fixed Widths when Sep is ""), Trailer,
// a checksum over the fields region, End. Build one with ParseTemplate,
// or fill it in and call Validate.
type Template struct {
	Header   string   // literal, up to 64 bytes, any bytes
	Fields   []string // field names in order, see the Field constants
	Sep      string   // between fields; "" with Widths
	Widths   []int    // fixed byte widths of the fields when Sep is ""
	Trailer  string   // literal before the checksum, up to 64 bytes
	Checksum string   // none (default), sum8 or xor
	End      string   // end of frame; may be "" only with Widths
	Encoding string   // gbk (default) or utf-8
	// Location is the zone of time14; nil means DefaultZone.
	Location *time.Location
	// Colours maps the camera's own values of the color field (numbers
	// or text such as 蓝) to the platform's colour codes (hal.ColourBlue
	// …, hal.ColourUnknown); nil means DefaultColours. A value the map
	// lacks decodes as unknown: the plate is kept.
	Colours map[string]int

	encColour map[int]string // the inverse of Colours, for Encode
}

var _ Codec = (*Template)(nil)

func (t *Template) Name() string        { return "template" }
func (t *Template) NewDecoder() Decoder { return t.newDecoder() }
func (t *Template) Heartbeats() bool    { return false }

// Addressed reports whether the template has the addr field, without
// which cameras cannot share a bus (their frames cannot be told apart).
func (t *Template) Addressed() bool { return slices.Contains(t.Fields, FieldAddr) }

// Ack returns nil: pushed template frames are not acknowledged.
func (t *Template) Ack(*Frame, byte) []byte { return nil }

// Trigger is not expressible in a push template.
func (t *Template) Trigger(int, byte) ([]byte, error) {
	return nil, fmt.Errorf("camera: trigger over the template codec: %w", ErrUnsupported)
}

// Validate checks t and fills in defaults (checksum none, encoding gbk,
// zone DefaultZone).
func (t *Template) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("camera: template: %s: %w", fmt.Sprintf(format, a...), ErrConfig)
	}
	if len(t.Header) > 64 {
		return bad("header is %d bytes, at most 64", len(t.Header))
	}
	if len(t.Trailer) > 64 {
		return bad("trailer is %d bytes, at most 64", len(t.Trailer))
	}
	if len(t.End) > 64 {
		return bad("end is %d bytes, at most 64", len(t.End))
	}
	if len(t.Fields) == 0 {
		return bad("no fields")
	}
	seen := map[string]bool{}
	for _, f := range t.Fields {
		switch f {
		case FieldPlate, FieldColor, FieldConf, FieldTrigger, FieldTime, FieldTime14, FieldAddr:
			if seen[f] {
				return bad("field %q given twice", f)
			}
			seen[f] = true
		case FieldIgnore:
		default:
			return bad("unknown field %q (want plate, color, conf, trigger, time, time14, addr or -)", f)
		}
	}
	if !seen[FieldPlate] {
		return bad("fields must include plate")
	}
	if t.Sep == "" {
		if len(t.Widths) != len(t.Fields) {
			return bad("sep is empty: widths must give one width per field (%d widths, %d fields)", len(t.Widths), len(t.Fields))
		}
		for i, w := range t.Widths {
			if w <= 0 || w > MaxLine {
				return bad("width %d of field %q out of range 1–%d", w, t.Fields[i], MaxLine)
			}
		}
	} else if len(t.Widths) > 0 {
		return bad("widths are only for an empty sep")
	}
	switch t.Checksum {
	case "":
		t.Checksum = ChecksumNone
	case ChecksumNone, ChecksumSum8, ChecksumXOR:
	default:
		return bad("unknown checksum %q (want none, sum8 or xor)", t.Checksum)
	}
	switch strings.ToLower(t.Encoding) {
	case "", "gbk", "gb2312", "gb18030":
		t.Encoding = EncodingGBK
	case "utf-8", "utf8":
		t.Encoding = EncodingUTF8
	default:
		return bad("unknown encoding %q (want gbk or utf-8)", t.Encoding)
	}
	if t.End == "" && len(t.Widths) == 0 {
		return bad("end is empty: a frame needs an end or fixed widths")
	}
	if t.Header == "" && t.End == "" {
		return bad("header and end are both empty: frames cannot be found")
	}
	if t.Location == nil {
		t.Location = LoadZone(DefaultZone)
	}
	m := t.Colours
	if m == nil {
		m = DefaultColours
	}
	keys := slices.Sorted(maps.Keys(m))
	t.encColour = map[int]string{}
	for _, k := range keys { // the first in order: a number before text
		c := m[k]
		if c != hal.ColourUnknown && !hal.ValidColour(c) {
			return bad("colours: %q maps to %d, not a platform colour code", k, c)
		}
		if _, ok := t.encColour[c]; !ok {
			t.encColour[c] = k
		}
	}
	if n := t.fixedLen(); n > MaxLine {
		return bad("a fixed-width frame of %d bytes exceeds %d", n, MaxLine)
	}
	return nil
}

// LoadZone returns the named zone, or for a failure (no tzdata on the
// system and none embedded) China Standard Time for Asia/Shanghai and UTC
// otherwise, so that a camera still decodes.
func LoadZone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	if name == DefaultZone || name == "Asia/Chongqing" || name == "PRC" {
		return time.FixedZone("CST", 8*3600)
	}
	return time.UTC
}

// ckLen is the checksum's length on the wire.
func (t *Template) ckLen() int {
	if t.Checksum == ChecksumNone || t.Checksum == "" {
		return 0
	}
	return 2
}

// fixedLen is the length of a fixed-width frame, 0 when frames are
// delimited by End.
func (t *Template) fixedLen() int {
	if t.End != "" || len(t.Widths) == 0 {
		return 0
	}
	n := len(t.Header) + len(t.Trailer) + t.ckLen()
	for _, w := range t.Widths {
		n += w
	}
	return n
}

func (t *Template) checksum(p []byte) byte {
	var c byte
	for _, b := range p {
		if t.Checksum == ChecksumXOR {
			c ^= b
		} else {
			c += b
		}
	}
	return c
}

func (t *Template) decodeText(b []byte) (string, error) {
	if t.Encoding == EncodingUTF8 {
		return decodeUTF8(b)
	}
	return decodeGBK(b)
}

// Encode builds the frame a camera set up with t would push for ev (for
// simulators and tests).
func (t *Template) Encode(ev hal.PlateEvent) ([]byte, error) {
	vals := make([][]byte, len(t.Fields))
	for i, f := range t.Fields {
		var s string
		switch f {
		case FieldPlate:
			if ev.Kind != hal.KindNoPlate {
				s = ev.Plate
			}
		case FieldColor:
			s = t.encColour[ev.Colour] // "" when the camera has no value for it
		case FieldConf:
			s = strconv.Itoa(ev.Conf)
		case FieldTrigger:
			s = strconv.Itoa(int(ev.Trigger))
		case FieldTime:
			s = strconv.FormatInt(int64(unixSeconds(ev.CameraTime)), 10)
		case FieldTime14:
			if !ev.CameraTime.IsZero() {
				s = ev.CameraTime.In(t.Location).Format(layout14)
			}
		case FieldAddr:
			s = strconv.Itoa(ev.Addr)
		}
		b := []byte(s)
		if t.Encoding == EncodingGBK {
			var err error
			if b, err = encodeGBK(s); err != nil {
				return nil, fmt.Errorf("camera: template encode %s %q: %w", f, s, err)
			}
		}
		if len(t.Widths) > 0 {
			w := t.Widths[i]
			if len(b) > w {
				return nil, fmt.Errorf("camera: template encode %s %q: %d bytes exceed width %d", f, s, len(b), w)
			}
			b = append(b, bytes.Repeat([]byte{' '}, w-len(b))...)
		}
		vals[i] = b
	}
	body := bytes.Join(vals, []byte(t.Sep))
	out := append([]byte(t.Header), body...)
	out = append(out, t.Trailer...)
	if t.ckLen() > 0 {
		out = fmt.Appendf(out, "%02X", t.checksum(body))
	}
	return append(out, t.End...), nil
}

const layout14 = "20060102150405"

// templateFramer frames template lines for the scanner: a candidate
// starts at Header and ends at End (or has the fixed length). A candidate
// that fails costs one byte when a header marks frames, else all of it.
type templateFramer struct {
	t   *Template
	end []byte
	// endFree is a stream offset before which no End starts (beyond the
	// header of the candidate that searched): the next candidate's search
	// resumes there, so that a flood of headers costs each byte one
	// search, not one per header in front of it.
	endFree int64
}

func (t *Template) newDecoder() Decoder {
	var mark []byte
	if t.Header != "" {
		mark = []byte(t.Header)
	}
	return &scanner{f: &templateFramer{t: t, end: []byte(t.End)}, mark: mark, maxCap: 8 * MaxLine}
}

// Reasons of rejected template bytes: constants, so that a hostile stream
// costs no formatting per false start.
const (
	reasonNoEnd = "no end within 512 bytes"
)

// Errors of the framing checks that parse runs first, made once: a flood
// of candidates that fail them formats nothing.
var (
	errShortFrame   = errors.New("frame too short for trailer and checksum")
	errNoChecksum   = errors.New("checksum is not 2 hex digits")
	errNoTrailer    = errors.New("missing trailer")
	errSum8Mismatch = errors.New("sum8 checksum mismatch")
	errXORMismatch  = errors.New("xor checksum mismatch")
)

func (d *templateFramer) measure(rest []byte, off int64) (int, string) {
	if len(d.end) == 0 {
		n := d.t.fixedLen()
		if len(rest) < n {
			return 0, ""
		}
		return n, ""
	}
	hdrLen, end := len(d.t.Header), d.end
	window := rest[:min(len(rest), MaxLine)]
	from := min(max(hdrLen, int(d.endFree-off)), len(window))
	k := bytes.Index(window[from:], end)
	if k < 0 {
		d.endFree = max(d.endFree, off+int64(max(from, len(window)-len(end)+1)))
		if len(rest) >= MaxLine {
			return MaxLine, reasonNoEnd
		}
		return 0, ""
	}
	return from + k + len(end), ""
}

func (d *templateFramer) parse(frame []byte) (*Frame, error) { return d.t.parse(frame) }

// hexByte decodes two hex digits (either case).
func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parse decodes one delimited frame.
func (t *Template) parse(frame []byte) (*Frame, error) {
	body := frame[len(t.Header) : len(frame)-len(t.End)]
	if ck := t.ckLen(); ck > 0 {
		if len(body) < len(t.Trailer)+ck {
			return nil, errShortFrame
		}
		got, ok := hexByte(body[len(body)-2], body[len(body)-1])
		if !ok {
			return nil, errNoChecksum
		}
		body = body[:len(body)-ck]
		if !bytes.HasSuffix(body, []byte(t.Trailer)) {
			return nil, errNoTrailer
		}
		body = body[:len(body)-len(t.Trailer)]
		if t.checksum(body) != got {
			if t.Checksum == ChecksumXOR {
				return nil, errXORMismatch
			}
			return nil, errSum8Mismatch
		}
	} else {
		if !bytes.HasSuffix(body, []byte(t.Trailer)) {
			return nil, errNoTrailer
		}
		body = body[:len(body)-len(t.Trailer)]
	}
	var vals []string
	if len(t.Widths) > 0 {
		total := 0
		for _, w := range t.Widths {
			total += w
		}
		if len(body) != total {
			return nil, fmt.Errorf("fields are %d bytes, want %d", len(body), total)
		}
		for _, w := range t.Widths {
			s, err := t.decodeText(body[:w])
			if err != nil {
				return nil, fmt.Errorf("field %w: % X", err, body[:w])
			}
			vals = append(vals, s)
			body = body[w:]
		}
	} else {
		s, err := t.decodeText(body)
		if err != nil {
			return nil, fmt.Errorf("fields %w", err)
		}
		vals = strings.Split(s, t.Sep)
		if len(vals) != len(t.Fields) {
			return nil, fmt.Errorf("%d fields, want %d", len(vals), len(t.Fields))
		}
	}
	f := &Frame{Seq: -1, AckSeq: -1, Raw: bytes.Clone(frame)}
	e := &f.Event
	e.Colour = hal.ColourUnknown
	e.Kind = hal.KindNoPlate
	for i, name := range t.Fields {
		v := strings.TrimSpace(vals[i])
		num := func(lo, hi int) (int, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return 0, fmt.Errorf("field %s %q is not a number %d–%d", name, v, lo, hi)
			}
			return n, nil
		}
		if v == "" && name != FieldPlate {
			continue // not given: the field keeps its zero or unknown value
		}
		switch name {
		case FieldPlate:
			plate, none, err := cleanPlate(v)
			if err != nil {
				return nil, err
			}
			if !none {
				e.Kind, e.Plate = hal.KindPlate, plate
			}
		case FieldColor:
			e.Colour = t.colour(v)
		case FieldConf:
			n, err := num(0, 100)
			if err != nil {
				return nil, err
			}
			e.Conf = n
		case FieldTrigger:
			n, err := num(0, 255)
			if err != nil {
				return nil, err
			}
			e.Trigger = triggerCode(n)
		case FieldTime:
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("field time %q is not UNIX seconds", v)
			}
			e.CameraTime = cameraTime(uint32(n))
		case FieldTime14:
			tm, err := time.ParseInLocation(layout14, v, t.Location)
			if err != nil || len(v) != 14 {
				return nil, fmt.Errorf("field time14 %q is not YYYYMMDDhhmmss", v)
			}
			e.CameraTime = tm
		case FieldAddr:
			n, err := num(0, 247)
			if err != nil {
				return nil, err
			}
			f.Addr, e.Addr = n, n
		}
	}
	return f, nil
}
