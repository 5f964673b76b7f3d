package camera_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
)

// crcBitwise is an independent CRC-16/MODBUS: bit by bit, no table.
func crcBitwise(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc ^= uint16(b)
		for range 8 {
			lsb := crc & 1
			crc >>= 1
			if lsb == 1 {
				crc ^= 0xA001
			}
		}
	}
	return crc
}

func TestCRC16(t *testing.T) {
	if got := crcBitwise([]byte("123456789")); got != 0x4B37 {
		t.Fatalf("crcBitwise(\"123456789\") = %04X; want 4B37 (the reference check value)", got)
	}
	for _, in := range []string{"", "123456789", "\x02\x03", strings.Repeat("\xFF\x00", 600)} {
		if got, want := camera.CRC16([]byte(in)), crcBitwise([]byte(in)); got != want {
			t.Errorf("CRC16(%q) = %04X; want %04X", in, got, want)
		}
	}
}

// workedBody is the spec's worked example without STX, CRC and ETX.
const workedBody = "01 07 01 00 10 65 53 F1 00 00 60 02 08 BE A9 41 31 32 33 34 35"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// workedExample returns the spec's worked example with its CRC pinned.
func workedExample(t testing.TB) []byte {
	t.Helper()
	body := mustHex(t, workedBody)
	crc := crcBitwise(body)
	if lo, hi := byte(crc), byte(crc>>8); lo != 0x57 || hi != 0x7F {
		t.Fatalf("worked example CRC = %02X %02X; want 57 7F", lo, hi)
	}
	return append(append([]byte{0x02}, body...), 0x57, 0x7F, 0x03)
}

func TestWorkedExample(t *testing.T) {
	frame := workedExample(t)
	ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Colour: hal.ColourBlue, Conf: 96,
		Trigger: hal.TriggerIO, CameraTime: time.Unix(1700000000, 0)}
	enc, err := camera.EncodePlate(1, 7, ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, frame) {
		t.Errorf("EncodePlate(1, 7, 京A12345) = % X; want % X", enc, frame)
	}
	at := time.Unix(1700000001, 0)
	res := camera.LaneFrame{}.NewDecoder().Feed(frame, at)
	if len(res) != 1 || res[0].Frame == nil {
		t.Fatalf("Feed(worked example) = %+v; want one frame", res)
	}
	f := res[0].Frame
	want := ev
	want.Addr, want.At = 1, at
	if f.Event != want || f.Addr != 1 || f.Seq != 7 || f.Cmd != camera.CmdPlate {
		t.Errorf("Feed(worked example) = %+v (addr %d seq %d cmd %d); want %+v", f.Event, f.Addr, f.Seq, f.Cmd, want)
	}
}

func plateFrame(t testing.TB, addr int, seq byte, plate string) []byte {
	t.Helper()
	ev := hal.PlateEvent{Kind: hal.KindPlate, Plate: plate, Colour: hal.ColourYellow, Conf: 90,
		Trigger: hal.TriggerAuto, CameraTime: time.Unix(1700000000, 0)}
	if plate == "" {
		ev.Kind = hal.KindNoPlate
	}
	b, err := camera.EncodePlate(addr, seq, ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// summary renders decoder results compactly: "P1/7:京A12345", "N1/3",
// "H1/2:0", "A1/9>7", "T0/1", "R<n>:<reason prefix>".
func summary(res []camera.Result) string {
	var out []string
	for _, r := range res {
		if r.Frame == nil {
			reason, _, _ := strings.Cut(r.Reason, ":")
			out = append(out, fmt.Sprintf("R%d:%s", len(r.Rejected), reason))
			continue
		}
		f := r.Frame
		switch {
		case f.Event.Kind == hal.KindPlate:
			out = append(out, fmt.Sprintf("P%d/%d:%s", f.Addr, f.Seq, f.Event.Plate))
		case f.Event.Kind == hal.KindNoPlate:
			out = append(out, fmt.Sprintf("N%d/%d", f.Addr, f.Seq))
		case f.Event.Kind == hal.KindHeartbeat:
			out = append(out, fmt.Sprintf("H%d/%d:%d", f.Addr, f.Seq, f.Event.Status))
		case f.Cmd == camera.CmdAck:
			out = append(out, fmt.Sprintf("A%d/%d>%d", f.Addr, f.Seq, f.AckSeq))
		case f.Cmd == camera.CmdTrigger:
			out = append(out, fmt.Sprintf("T%d/%d", f.Addr, f.Seq))
		}
	}
	return strings.Join(out, " ")
}

// laneCases are the table of the lane-frame decoder and the seeds of its
// fuzz test.
func laneCases(t testing.TB) []struct {
	name string
	in   []byte
	want string // summary after Feed and Flush
} {
	good := plateFrame(t, 1, 7, "京A12345")
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-3] ^= 0xFF
	noETX := bytes.Clone(good)
	noETX[len(noETX)-1] = 0x04
	hb := camera.EncodeHeartbeat(2, 9, time.Unix(1700000000, 0), 3)
	huge := []byte{0x02, 0x01, 0x01, 0x01, 0xFF, 0xFF}
	// STX and ETX inside the payload: in the camera's time field.
	stxInPayload, err := camera.EncodePlate(1, 2, hal.PlateEvent{Kind: hal.KindPlate, Plate: "A", Colour: hal.ColourYellow,
		Conf: 90, Trigger: hal.TriggerAuto, CameraTime: time.Unix(0x02030203, 0)})
	if err != nil {
		t.Fatal(err)
	}
	ctlPlate := plateFrame(t, 1, 2, "\x02\x03A")
	badGBK := camera.EncodeFrame(1, 4, camera.CmdPlate, []byte{0, 0, 0, 0, 0, 90, 1, 2, 0xFF, 0xFF})
	short := camera.EncodeFrame(1, 5, camera.CmdPlate, []byte{0, 0, 0, 0, 0})
	unknown := camera.EncodeFrame(1, 6, 0x55, nil)
	addr0 := camera.EncodeFrame(0, 6, camera.CmdHeartbeat, []byte{0, 0, 0, 0, 0})
	nlenOver := camera.EncodeFrame(1, 6, camera.CmdPlate, []byte{0, 0, 0, 0, 0, 90, 1, 9, 'A'})
	return []struct {
		name string
		in   []byte
		want string
	}{
		{"worked example", workedExample(t), "P1/7:京A12345"},
		{"two frames", cat(good, hb), "P1/7:京A12345 H2/9:3"},
		{"no plate", plateFrame(t, 3, 1, ""), "N3/1"},
		{"no plate text", plateFrame(t, 3, 1, "无牌车"), "N3/1"},
		{"garbage before", cat([]byte("hello"), good), "R5:garbage P1/7:京A12345"},
		{"garbage after", cat(good, []byte{0xAA, 0x55}), "P1/7:京A12345 R2:garbage"},
		{"bad crc then good", cat(badCRC, good), fmt.Sprintf("R%d:crc mismatch P1/7:京A12345", len(badCRC))},
		{"missing etx then good", cat(noETX, good), fmt.Sprintf("R%d:missing ETX P1/7:京A12345", len(noETX))},
		{"torn frame then good", cat(good[:10], good), "R10:missing ETX P1/7:京A12345"},
		{"torn frame at end", cat(good, good[:10]), "P1/7:京A12345 R10:incomplete frame"},
		{"hostile length", cat(huge, good), "R6:length exceeds 1024 P1/7:京A12345"},
		{"stx etx in payload", stxInPayload, "P1/2:A"},
		{"control characters in the plate", ctlPlate, fmt.Sprintf("R%d:plate has control or format characters", len(ctlPlate))},
		{"bidi override in the plate", plateFrame(t, 1, 2, "京A\u202e54321"), "R29:plate has control or format characters"},
		{"plate over 16 characters", plateFrame(t, 1, 2, "京ABCDEFGHIJKLMNOP"), "R35:plate longer than 16 characters"},
		{"bad gbk", badGBK, fmt.Sprintf("R%d:plate text is not valid in its encoding", len(badGBK))},
		{"short payload", short, fmt.Sprintf("R%d:plate payload length out of range 8–263", len(short))},
		{"unknown command", unknown, "R9:unknown command"},
		{"address 0", addr0, "R3:address out of range 1–247 R11:unknown command"},
		{"nlen over payload", nlenOver, "R18:plate NLEN 9 exceeds the payload's 1 bytes"},
		{"ack and trigger", cat(camera.EncodeAck(1, 9, 7), mustTrigger(t)), "A1/9>7 T0/1"},
		{"empty", nil, ""},
	}
}

func mustTrigger(t testing.TB) []byte {
	b, err := camera.LaneFrame{}.Trigger(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeAll(d camera.Decoder, in []byte, chunk int) []camera.Result {
	at := time.Unix(1700000000, 0)
	var res []camera.Result
	for len(in) > 0 {
		n := min(chunk, len(in))
		res = append(res, d.Feed(in[:n], at)...)
		in = in[n:]
	}
	return append(res, d.Flush(at)...)
}

func TestLaneFrameDecode(t *testing.T) {
	for _, tt := range laneCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 4096} {
				d := camera.LaneFrame{}.NewDecoder()
				res := decodeAll(d, tt.in, chunk)
				if got := summary(res); got != tt.want {
					t.Errorf("decode(% X) in %d-byte chunks = %q; want %q", tt.in, chunk, got, tt.want)
				}
				if got := covered(res); got != len(tt.in) {
					t.Errorf("decode(% X) accounted for %d bytes; want %d", tt.in, got, len(tt.in))
				}
				if d.Pending() != 0 {
					t.Errorf("Pending() after Flush = %d; want 0", d.Pending())
				}
			}
		})
	}
}

// covered counts the bytes the results account for, checking that
// offsets are contiguous.
func covered(res []camera.Result) int {
	n := 0
	for _, r := range res {
		if r.Offset != int64(n) {
			return -1
		}
		if r.Frame != nil {
			n += len(r.Frame.Raw)
		} else {
			n += len(r.Rejected)
		}
	}
	return n
}

func TestLaneFrameAck(t *testing.T) {
	res := camera.LaneFrame{}.NewDecoder().Feed(plateFrame(t, 5, 200, "粤B1"), time.Time{})
	if len(res) != 1 || res[0].Frame == nil {
		t.Fatalf("Feed = %+v; want one frame", res)
	}
	got := camera.LaneFrame{}.Ack(res[0].Frame, 11)
	want := camera.EncodeFrame(5, 11, camera.CmdAck, []byte{200})
	if !bytes.Equal(got, want) {
		t.Errorf("Ack(plate seq 200) = % X; want % X", got, want)
	}
	ack := camera.LaneFrame{}.NewDecoder().Feed(got, time.Time{})
	if s := summary(ack); s != "A5/11>200" {
		t.Errorf("decode(Ack) = %q; want A5/11>200", s)
	}
	if a := (camera.LaneFrame{}).Ack(ack[0].Frame, 1); a != nil {
		t.Errorf("Ack(an ACK) = % X; want nil", a)
	}
}

func TestLaneFrameMemoryBounded(t *testing.T) {
	d := camera.LaneFrame{}.NewDecoder()
	// A hostile stream: STX with the largest legal length, never completed.
	junk := append([]byte{0x02, 0x01, 0x01, 0x01, 0x04, 0x00}, bytes.Repeat([]byte{0x11}, 100)...)
	for range 1000 {
		d.Feed(junk, time.Time{})
		if p := d.Pending(); p > 2*(9+camera.MaxPayload) {
			t.Fatalf("Pending() = %d; want at most %d", p, 2*(9+camera.MaxPayload))
		}
	}
	good := plateFrame(t, 1, 1, "A1")
	res := append(d.Feed(good, time.Time{}), d.Flush(time.Time{})...)
	found := false
	for _, r := range res {
		if r.Frame != nil && r.Frame.Event.Plate == "A1" {
			found = true
		}
		if len(r.Rejected) > 256 {
			t.Errorf("a rejected stretch of %d bytes; want at most 256", len(r.Rejected))
		}
	}
	if !found {
		t.Errorf("decode(hostile stream + frame) = %s; want the frame found", summary(res))
	}
}

func FuzzLaneFrameDecoder(f *testing.F) {
	for _, tt := range laneCases(f) {
		f.Add(tt.in, uint8(7))
	}
	good := plateFrame(f, 1, 7, "京A12345")
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		d := camera.LaneFrame{}.NewDecoder()
		res := decodeAll(d, in, int(chunk%64)+1)
		if covered(res) != len(in) {
			t.Fatalf("decode(% X) accounted for %d bytes; want %d", in, covered(res), len(in))
		}
		// Resynchronisation: whatever came before, a valid frame after a
		// pause (Flush) is found.
		res = decodeAll(d, good, int(chunk%64)+1)
		if s := summary(res); s != "P1/7:京A12345" {
			t.Fatalf("after % X, decode(good) = %q; want the frame", in, s)
		}
		// And without a pause, at least the second of two copies is found.
		d = camera.LaneFrame{}.NewDecoder()
		d.Feed(in, time.Time{})
		if d.Pending() > 2*(9+camera.MaxPayload)+len(in) {
			t.Fatalf("Pending() = %d after %d bytes", d.Pending(), len(in))
		}
		res = append(d.Feed(cat(good, good), time.Time{}), d.Flush(time.Time{})...)
		if !strings.Contains(summary(res), "P1/7:京A12345") {
			t.Fatalf("after % X, decode(good good) = %q; want a frame", in, summary(res))
		}
	})
}

func BenchmarkLaneFrameDecode(b *testing.B) {
	frame := workedExample(b)
	d := camera.LaneFrame{}.NewDecoder()
	at := time.Unix(1700000000, 0)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if res := d.Feed(frame, at); len(res) != 1 {
			b.Fatalf("Feed = %d results; want 1", len(res))
		}
	}
}
