package camera_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
)

// The decoders must stay above 5 MB/s on any input up to MaxPushBytes:
// go test -run XXX -bench 'Decode(Push|ISAPI)' ./hal/camera/
func BenchmarkDecodePush(b *testing.B) {
	full := append([]byte{0xff, 0xd8}, bytes.Repeat([]byte{0x55}, 2<<20)...)
	bodies := map[string][]byte{
		"2MiB-frame": camera.EncodePush("sn", "京A12345", hal.ColourBlue, 90, time.Unix(1764470400, 0), full, nil),
		"nested":     []byte(strings.Repeat("[", camera.MaxPushBytes/2) + strings.Repeat("]", camera.MaxPushBytes/2)),
		"strings":    []byte(`{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"` + strings.Repeat(`\u4eac`, camera.MaxPushBytes/7) + `"}}}}`),
		"many-keys":  []byte(`{"AlarmInfoPlate":{"result":{"PlateResult":{` + strings.Repeat(`"license":"京A1",`, camera.MaxPushBytes/20) + `"type":1}}}}`),
		"heartbeats": []byte(`{"x":` + strings.Repeat(`{"heartbeat":1,"a":`, camera.MaxPushBytes/20) + "1" + strings.Repeat("}", camera.MaxPushBytes/20) + "}"),
	}
	for name, body := range bodies {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_, _ = camera.DecodePush(body)
			}
		})
	}
}

func BenchmarkDecodeISAPI(b *testing.B) {
	full := "\xff\xd8" + strings.Repeat("\x55", 3<<20)
	bodies := map[string]string{
		"3MiB-frame":   isapiBody(alertXML("ANPR", "京A12345", "blue", "92TypeCivil", "88"), "detectionPicture.jpg", full),
		"many-parts":   strings.Repeat("--B\r\n\r\nx\r\n", camera.MaxPushBytes/12),
		"nested-xml":   isapiBody(strings.Repeat("<a>", 60<<10/3)),
		"boundary-ish": strings.Repeat("\r\n--", camera.MaxPushBytes/4),
	}
	for name, body := range bodies {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_, _ = camera.DecodeISAPI("multipart/form-data; boundary=B", []byte(body))
			}
		})
	}
}
