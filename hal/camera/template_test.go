package camera_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"laned/hal"
	"laned/hal/camera"
)

const specTemplate = `# the spec's example
header  = "$PLT,"          # literal
fields  = ["plate", "color", "conf", "time14"]
sep     = ","
trailer = "*"
checksum = "xor"
end     = "\r\n"
encoding = "gbk"
`

func specCodec(t testing.TB) *camera.Template {
	t.Helper()
	tm, err := camera.ParseTemplate(strings.NewReader(specTemplate))
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTemplateSpecExample(t *testing.T) {
	tm := specCodec(t)
	// Pin the spec's XOR independently of the codec.
	var x byte
	for _, b := range gbk(t, "京A12345,0,96,20231115063320") {
		x ^= b
	}
	if x != 0x77 {
		t.Fatalf("XOR of the example's fields = %02X; want 77", x)
	}
	line := gbk(t, "$PLT,京A12345,0,96,20231115063320*77\r\n")
	at := time.Unix(1700001300, 0)
	res := tm.NewDecoder().Feed(line, at)
	if len(res) != 1 || res[0].Frame == nil {
		t.Fatalf("Feed(example) = %+v; want one frame", res)
	}
	// The spec's example writes the platform's 0 (blue); a camera with
	// the common map (the default) means "unknown" by 0.
	want := hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Colour: hal.ColourUnknown, Conf: 96,
		CameraTime: time.Date(2023, 11, 14, 22, 33, 20, 0, time.UTC), At: at}
	got := res[0].Frame.Event
	if !got.CameraTime.Equal(want.CameraTime) {
		t.Errorf("time14 20231115063320 = %v; want %v (Asia/Shanghai)", got.CameraTime, want.CameraTime)
	}
	got.CameraTime = want.CameraTime
	if got != want {
		t.Errorf("Feed(example) = %+v; want %+v", got, want)
	}
	enc, err := tm.Encode(res[0].Frame.Event)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != string(line) {
		t.Errorf("Encode(example event) = %q; want %q", enc, line)
	}
}

func templateCases(t testing.TB) []struct {
	name string
	in   []byte
	want string
} {
	tm := specCodec(t)
	line := func(plate string) []byte {
		b, err := tm.Encode(hal.PlateEvent{Kind: hal.KindPlate, Plate: plate, Conf: 90, CameraTime: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := line("京A12345")
	badCK := gbk(t, "$PLT,京A12345,0,96,20231115063320*78\r\n")
	return []struct {
		name string
		in   []byte
		want string
	}{
		{"spec example", gbk(t, "$PLT,京A12345,0,96,20231115063320*77\r\n"), "P0/-1:京A12345"},
		{"lower-case checksum", []byte("$PLT,A1,0,96,20231115063320*" + fmt.Sprintf("%02x", xorOf("A1,0,96,20231115063320")) + "\r\n"), "P0/-1:A1"},
		{"no plate", line(""), "N0/-1"},
		{"two lines", cat(good, line("沪C9")), "P0/-1:京A12345 P0/-1:沪C9"},
		{"garbage before", cat([]byte("xx\r\n"), good), "R4:garbage P0/-1:京A12345"},
		{"bad checksum then good", cat(badCK, good), fmt.Sprintf("R%d:xor checksum mismatch P0/-1:京A12345", len(badCK))},
		{"torn then good", cat(good[:12], good), "R12:4 fields, want 4"},
		{"torn at end", cat(good, good[:12]), "P0/-1:京A12345 R12:incomplete frame"},
		{"header split", cat([]byte("$P"), good), "R2:garbage P0/-1:京A12345"},
		{"too few fields", []byte("$PLT,A1,0*" + fmt.Sprintf("%02X", xorOf("A1,0")) + "\r\n"), "R14:2 fields, want 4"},
		{"escape in the plate", tline("A\x1b[2J,0,9,20231115063320"), fmt.Sprintf("R%d:plate has control or format characters", len(tline("A\x1b[2J,0,9,20231115063320")))},
		{"zero width in the plate", line("A\u200b1"), fmt.Sprintf("R%d:plate has control or format characters", len(line("A\u200b1")))},
		{"plate over 16", tline("ABCDEFGHIJKLMNOPQ,0,9,20231115063320"), fmt.Sprintf("R%d:plate longer than 16 characters", len(tline("ABCDEFGHIJKLMNOPQ,0,9,20231115063320")))},
		{"bad time", []byte("$PLT,A1,0,9,2023*" + fmt.Sprintf("%02X", xorOf("A1,0,9,2023")) + "\r\n"), "R21:field time14 \"2023\" is not YYYYMMDDhhmmss"},
		{"empty", nil, ""},
	}
}

// tline is a spec-template line of fields, with its checksum.
func tline(fields string) []byte {
	return []byte("$PLT," + fields + "*" + fmt.Sprintf("%02X", xorOf(fields)) + "\r\n")
}

func xorOf(s string) byte {
	var x byte
	for _, b := range []byte(s) {
		x ^= b
	}
	return x
}

func TestTemplateDecode(t *testing.T) {
	tm := specCodec(t)
	for _, tt := range templateCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 5, 4096} {
				d := tm.NewDecoder()
				res := decodeAll(d, tt.in, chunk)
				got := summary(res)
				if tt.name == "torn then good" {
					// The torn line runs into the next header; the
					// frame after it must still be found.
					if !strings.HasSuffix(got, "P0/-1:京A12345") || !strings.HasPrefix(got, "R") {
						t.Errorf("decode(%q) in %d-byte chunks = %q; want a rejection then the frame", tt.in, chunk, got)
					}
				} else if got != tt.want {
					t.Errorf("decode(%q) in %d-byte chunks = %q; want %q", tt.in, chunk, got, tt.want)
				}
				if n := covered(res); n != len(tt.in) {
					t.Errorf("decode(%q) accounted for %d bytes; want %d", tt.in, n, len(tt.in))
				}
			}
		})
	}
}

func TestTemplateFixedWidths(t *testing.T) {
	tm := &camera.Template{Header: "\xAA\x55", Fields: []string{"plate", "-", "conf", "time"}, Widths: []int{10, 4, 3, 10},
		Checksum: "sum8", Encoding: "utf-8"}
	if err := tm.Validate(); err != nil {
		t.Fatal(err)
	}
	ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: "苏E12345", Colour: hal.ColourUnknown, Conf: 88, CameraTime: time.Unix(1700000000, 0)}
	b, err := tm.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	res := decodeAll(tm.NewDecoder(), cat([]byte{0xAA, 0x00}, b, b[:5]), 3)
	if got := summary(res); got != "R2:garbage P0/-1:苏E12345 R5:incomplete frame" {
		t.Errorf("decode(fixed widths) = %q; want garbage, the plate, a torn frame", got)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown key", "header = \"$\"\nfoo = 1\n", "line 2: unknown key \"foo\""},
		{"no equals", "header \"$\"\n", "line 1: want key = value"},
		{"unclosed quote", "\n\nheader = \"$\n", "line 3: header: missing closing quote"},
		{"bad escape", "header = \"\\xZZ\"\n", "line 1: header: \\xZZ is not two hex digits"},
		{"duplicate", "sep = \",\"\nsep = \";\"\n", "line 2: sep given again (first on line 1)"},
		{"fields not list", "fields = \"plate\"\n", "line 1: fields wants a list"},
		{"unknown field", "fields = [\"plate\", \"speed\"]\nend = \"\\n\"\nsep = \",\"\n", "unknown field \"speed\""},
		{"no plate", "fields = [\"conf\"]\nend = \"\\n\"\nsep = \",\"\n", "fields must include plate"},
		{"bad checksum", "fields = [plate]\nsep = \",\"\nend = \"\\n\"\nchecksum = crc\n", "unknown checksum \"crc\""},
		{"no end", "fields = [plate]\nsep = \",\"\n", "end is empty"},
		{"trailing junk", "sep = \",\" x\n", "line 1: sep: unexpected \"x\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := camera.ParseTemplate(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, camera.ErrConfig) {
				t.Errorf("ParseTemplate(%q) = %v; want an ErrConfig containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseTemplateValues(t *testing.T) {
	in := "header = \"\\xAA\\x55#\" # comment\nfields = [plate, \"-\", time]\nsep=\";\"\nend = \"\\r\\n\"\nencoding = UTF-8\nzone = \"UTC\"\n"
	tm, err := camera.ParseTemplate(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if tm.Header != "\xAA\x55#" || strings.Join(tm.Fields, "|") != "plate|-|time" || tm.Sep != ";" || tm.End != "\r\n" ||
		tm.Encoding != camera.EncodingUTF8 || tm.Checksum != camera.ChecksumNone || tm.Location.String() != "UTC" {
		t.Errorf("ParseTemplate(%q) = %+v; want header AA 55 #, fields plate|-|time, sep ;, end CRLF, utf-8, none, UTC", in, tm)
	}
}

func FuzzTemplateDecoder(f *testing.F) {
	for _, tt := range templateCases(f) {
		f.Add(tt.in, uint8(5))
	}
	tm := specCodec(f)
	good := gbk(f, "$PLT,京A12345,0,96,20231115063320*77\r\n")
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		d := tm.NewDecoder()
		res := decodeAll(d, in, int(chunk%64)+1)
		if covered(res) != len(in) {
			t.Fatalf("decode(%q) accounted for %d bytes; want %d", in, covered(res), len(in))
		}
		res = decodeAll(d, good, int(chunk%64)+1)
		if s := summary(res); s != "P0/-1:京A12345" {
			t.Fatalf("after %q, decode(good) = %q; want the frame", in, s)
		}
		d = tm.NewDecoder()
		d.Feed(in, time.Time{})
		res = append(d.Feed(cat(good, good), time.Time{}), d.Flush(time.Time{})...)
		if !strings.Contains(summary(res), "P0/-1:京A12345") {
			t.Fatalf("after %q, decode(good good) = %q; want a frame", in, summary(res))
		}
		if d.Pending() != 0 {
			t.Fatalf("Pending() after Flush = %d", d.Pending())
		}
	})
}

// TestTemplateColours: the camera's own colour values, numbers or text,
// become the platform's codes through the template's map.
func TestTemplateColours(t *testing.T) {
	const base = "header = \"$P,\"\nfields = [\"plate\", \"color\"]\nsep = \",\"\nend = \"\\r\\n\"\nencoding = \"utf-8\"\n"
	spec := base + "colours = [\"0:blue\", \"1:yellow\", \"2:white\", \"3:black\", \"4:green\"]\n"
	tests := []struct {
		tmpl, value string
		want        int
	}{
		{base, "0", hal.ColourUnknown},
		{base, "1", hal.ColourBlue},
		{base, "2", hal.ColourYellow},
		{base, "3", hal.ColourWhite},
		{base, "4", hal.ColourBlack},
		{base, "5", hal.ColourGreen},
		{base, "9", hal.ColourUnknown}, // not in the map: unknown, the plate kept
		{base, "蓝", hal.ColourBlue},
		{base, "黄色", hal.ColourYellow},
		{base, "绿", hal.ColourGreen},
		{base, "白", hal.ColourWhite},
		{base, "黑", hal.ColourBlack},
		{spec, "0", hal.ColourBlue},
		{spec, "4", hal.ColourGreen},
		{spec, "5", hal.ColourUnknown},
		{spec, "蓝", hal.ColourUnknown}, // a configured map replaces the default
	}
	for _, tt := range tests {
		tm, err := camera.ParseTemplate(strings.NewReader(tt.tmpl))
		if err != nil {
			t.Fatal(err)
		}
		res := tm.NewDecoder().Feed([]byte("$P,京A12345,"+tt.value+"\r\n"), time.Unix(1700000000, 0))
		if len(res) != 1 || res[0].Frame == nil {
			t.Fatalf("Feed(colour %q) = %+v; want a frame", tt.value, res)
		}
		ev := res[0].Frame.Event
		if ev.Colour != tt.want || ev.Plate != "京A12345" {
			t.Errorf("colour %q (spec map %v) = %d, plate %q; want %d", tt.value, tt.tmpl == spec, ev.Colour, ev.Plate, tt.want)
		}
	}
	// Encode writes the camera's value: the common map's 1 for blue.
	tm, _ := camera.ParseTemplate(strings.NewReader(base))
	enc, err := tm.Encode(hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Colour: hal.ColourBlue})
	if err != nil || string(enc) != "$P,京A12345,1\r\n" {
		t.Errorf("Encode(blue) = %q, %v; want the camera's 1", enc, err)
	}
	for _, bad := range []string{"colours = [\"1:purple\"]", "colours = [\"1\"]", "colours = [\"1:blue\", \"1:green\"]", "colours = \"1:blue\""} {
		if _, err := camera.ParseTemplate(strings.NewReader(base + bad + "\n")); !errors.Is(err, camera.ErrConfig) {
			t.Errorf("ParseTemplate(%s) = %v; want ErrConfig", bad, err)
		}
	}
}
