package camera_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
)

// benchInputSize is the length of every benchmark input: 1 MiB.
const benchInputSize = 1 << 20

// hostileInputs are the inputs of the decoder benchmarks, each 1 MiB, by
// kind: random bytes, a flood of frame starts (0x02 for lane-frame, the
// header for a template), valid frames back to back, and valid frames
// each torn off at a random point before the next one starts.
func hostileInputs(tb testing.TB, start []byte, frame func(i int) []byte) map[string][]byte {
	tb.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(next func() []byte) []byte {
		b := make([]byte, 0, benchInputSize+4096)
		for len(b) < benchInputSize {
			b = append(b, next()...)
		}
		return b[:benchInputSize]
	}
	return map[string][]byte{
		"random": fill(func() []byte {
			p := make([]byte, 64)
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			return p
		}),
		"stx-flood": fill(func() []byte { return start }),
		"valid":     fill(func() []byte { return frame(r.IntN(1000)) }),
		"torn": fill(func() []byte {
			f := frame(r.IntN(1000))
			return f[:1+r.IntN(len(f)-1)]
		}),
	}
}

// benchDecode feeds in to fresh decoders of c in 64-byte reads (a serial
// read's size) and reports MB/s, and cpu-MB/s: the bytes per second of
// CPU time the process used, which a busy machine does not dilute.
func benchDecode(b *testing.B, c camera.Codec, in []byte) {
	at := time.Unix(1700000000, 0)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		d := c.NewDecoder()
		n := 0
		for p := in; len(p) > 0; {
			k := min(64, len(p))
			n += len(d.Feed(p[:k], at))
			p = p[k:]
		}
		n += len(d.Flush(at))
		if n == 0 {
			b.Fatal("no results")
		}
	}
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(in))*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchKinds = []string{"random", "stx-flood", "valid", "torn"}

func BenchmarkDecodeLaneFrame(b *testing.B) {
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = plateFrame(b, 1+i%247, byte(i), fmt.Sprintf("京A%05d", i))
	}
	in := hostileInputs(b, []byte{camera.STX}, func(i int) []byte { return frames[i] })
	for _, k := range benchKinds {
		b.Run(k, func(b *testing.B) { benchDecode(b, camera.LaneFrame{}, in[k]) })
	}
}

func BenchmarkDecodeTemplate(b *testing.B) {
	tm := specCodec(b)
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = gbk(b, fmt.Sprintf("$PLT,京A%05d,%d,%d,20231115063320", i, i%5, i%101))
		var x byte
		for _, c := range frames[i][len("$PLT,"):] {
			x ^= c
		}
		frames[i] = fmt.Appendf(frames[i], "*%02X\r\n", x)
	}
	in := hostileInputs(b, []byte(tm.Header), func(i int) []byte { return frames[i] })
	for _, k := range benchKinds {
		b.Run(k, func(b *testing.B) { benchDecode(b, tm, in[k]) })
	}
}

// TestDecodeBenchInputs checks the benchmarks measure what they say: the
// valid input decodes to frames, the hostile ones to rejects.
func TestDecodeBenchInputs(t *testing.T) {
	frame := plateFrame(t, 1, 1, "京A00001")
	in := hostileInputs(t, []byte{camera.STX}, func(int) []byte { return frame })
	for k, b := range in {
		if len(b) != benchInputSize {
			t.Errorf("%s input is %d bytes", k, len(b))
		}
	}
	res := decodeAll(camera.LaneFrame{}.NewDecoder(), in["valid"], 64)
	if want := benchInputSize / len(frame); countFrames(res) < want {
		t.Errorf("valid input decoded to %d frames; want at least %d", countFrames(res), want)
	}
	if n := countFrames(decodeAll(camera.LaneFrame{}.NewDecoder(), in["stx-flood"], 64)); n != 0 {
		t.Errorf("STX flood decoded to %d frames", n)
	}
	if !bytes.Equal(in["stx-flood"][:4], []byte{2, 2, 2, 2}) {
		t.Errorf("STX flood starts % X", in["stx-flood"][:4])
	}
}

func countFrames(res []camera.Result) int {
	n := 0
	for _, r := range res {
		if r.Frame != nil {
			n++
		}
	}
	return n
}

// TestFloodIsCoalesced: a flood of false starts is reported as stretches
// of up to 256 bytes, not one reject per byte, for both codecs, and a
// frame after it is still found.
func TestFloodIsCoalesced(t *testing.T) {
	tm := specCodec(t)
	good, err := tm.Encode(hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Conf: 90})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		codec camera.Codec
		flood []byte
		frame []byte
	}{
		{camera.LaneFrame{}, bytes.Repeat([]byte{camera.STX}, 64<<10), plateFrame(t, 1, 7, "京A12345")},
		{tm, bytes.Repeat([]byte(tm.Header), 64<<10/len(tm.Header)), good},
	}
	for _, tt := range tests {
		t.Run(tt.codec.Name(), func(t *testing.T) {
			// Filler keeps the frame's end out of reach of the flood's
			// candidates (512 bytes), whose parse errors differ.
			filler := bytes.Repeat([]byte{'x'}, camera.MaxLine)
			res := decodeAll(tt.codec.NewDecoder(), cat(tt.flood, filler, tt.frame), 64)
			if want := len(tt.flood) + len(filler) + len(tt.frame); covered(res) != want {
				t.Fatalf("results cover %d bytes; want %d", covered(res), want)
			}
			if last := res[len(res)-1]; last.Frame == nil || last.Frame.Event.Plate != "京A12345" {
				t.Errorf("last result = %+v; want the frame after the flood", last)
			}
			if max := (len(tt.flood)+len(filler))/256 + 4; len(res) > max {
				t.Errorf("%d-byte flood gave %d results; want at most %d stretches", len(tt.flood), len(res), max)
			}
		})
	}
}
