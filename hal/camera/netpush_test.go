package camera_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/netcam/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// isapiType is the Content-Type of testdata/netcam/isapi_anpr.multipart.
const isapiType = "multipart/form-data; boundary=MIME_boundary"

func TestDecodePushExample(t *testing.T) {
	full, crop := readFile(t, "full.jpg"), readFile(t, "plate.jpg")
	r, err := camera.DecodePush(readFile(t, "push_plate.json"))
	if err != nil {
		t.Fatalf("DecodePush(example) = %v", err)
	}
	ev := r.Event
	if r.SerialNo != "e1a2b3c4-5d6e7f80" || ev.Kind != hal.KindPlate || ev.Plate != "京A12345" ||
		ev.Colour != hal.ColourBlue || ev.Conf != 96 || ev.Large || ev.Official || ev.Trigger != hal.TriggerSoftware {
		t.Errorf("DecodePush(example) = %+v serial %q; want 京A12345 blue conf 96 small, serial e1a2b3c4-5d6e7f80", ev, r.SerialNo)
	}
	if want := time.Unix(1764470400, 123000000); !ev.CameraTime.Equal(want) {
		t.Errorf("camera time = %v; want %v", ev.CameraTime, want)
	}
	if ev.Pictures == nil || !bytes.Equal(ev.Pictures.Full, full) || !bytes.Equal(ev.Pictures.Plate, crop) {
		t.Errorf("pictures differ from the example's images")
	}
	if len(r.Problems) != 0 {
		t.Errorf("problems = %v; want none", r.Problems)
	}
}

func TestDecodePush(t *testing.T) {
	jpg := []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9}
	type want struct {
		kind           hal.CameraEventKind
		plate          string
		colour, conf   int
		large, offic   bool
		full, problems int
	}
	tests := []struct {
		name string
		body string
		want want
		err  bool
	}{
		{"no plate", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"_无_","colorType":0,"confidence":0}}}}`,
			want{kind: hal.KindNoPlate, colour: hal.ColourUnknown}, false},
		{"empty plate", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"","colorType":2}}}}`,
			want{kind: hal.KindNoPlate, colour: hal.ColourYellow}, false},
		{"yellow double row", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"粤B12345","colorType":2,"type":4,"confidence":88}}}}`,
			want{kind: hal.KindPlate, plate: "粤B12345", colour: hal.ColourYellow, conf: 88, large: true}, false},
		{"police", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A1234警","colorType":3,"type":5,"confidence":90}}}}`,
			want{kind: hal.KindPlate, plate: "京A1234警", colour: hal.ColourWhite, conf: 90, offic: true}, false},
		{"military double", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"VA12345","colorType":3,"type":9,"confidence":70}}}}`,
			want{kind: hal.KindPlate, plate: "VA12345", colour: hal.ColourWhite, conf: 70, large: true, offic: true}, false},
		{"green new energy", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"沪AD12345","colorType":5,"type":19,"confidence":99}}}}`,
			want{kind: hal.KindPlate, plate: "沪AD12345", colour: hal.ColourGreen, conf: 99}, false},
		{"black", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"粤Z1234港","colorType":4}}}}`,
			want{kind: hal.KindPlate, plate: "粤Z1234港", colour: hal.ColourBlack}, false},
		{"unknown colour", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A12345","colorType":9}}}}`,
			want{kind: hal.KindPlate, plate: "京A12345", colour: hal.ColourUnknown}, false},
		{"image length mismatch", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A12345","colorType":1,"imageFile":"/9j/4AECA//Z","imageFileLen":99}}}}`,
			want{kind: hal.KindPlate, plate: "京A12345", problems: 1}, false},
		{"image", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A12345","colorType":1,"imageFile":"/9j/4AECA//Z","imageFileLen":9}}}}`,
			want{kind: hal.KindPlate, plate: "京A12345", full: len(jpg)}, false},
		{"image not jpeg", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A12345","colorType":1,"imageFile":"aGVsbG8="}}}}`,
			want{kind: hal.KindPlate, plate: "京A12345", problems: 1}, false},
		{"heartbeat", `{"heartbeat":{"serialno":"x","countid":7}}`, want{kind: hal.KindHeartbeat, colour: hal.ColourUnknown}, false},
		{"heartbeat other form", `{"AlarmInfoHeartBeat":{"serialno":"x"}}`, want{kind: hal.KindHeartbeat, colour: hal.ColourUnknown}, false},
		{"no result", `{"AlarmInfoPlate":{"serialno":"x"}}`, want{}, true},
		{"bad confidence", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A12345","confidence":101}}}}`, want{}, true},
		{"control chars", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A\u0001345"}}}}`, want{}, true},
		{"long plate", `{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"` + strings.Repeat("京", 20) + `"}}}}`, want{}, true},
		{"not json", `hello`, want{}, true},
		{"other object", `{"foo":1}`, want{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := camera.DecodePush([]byte(tt.body))
			if !decoded(t, "DecodePush", r, err, tt.err) {
				return
			}
			ev := r.Event
			full := 0
			if ev.Pictures != nil {
				full = len(ev.Pictures.Full)
			}
			got := want{ev.Kind, ev.Plate, ev.Colour, ev.Conf, ev.Large, ev.Official, full, len(r.Problems)}
			if got != tt.want {
				t.Errorf("DecodePush = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestEncodePushRoundTrip(t *testing.T) {
	full, crop := readFile(t, "full.jpg"), readFile(t, "plate.jpg")
	for _, c := range []int{hal.ColourBlue, hal.ColourYellow, hal.ColourWhite, hal.ColourBlack, hal.ColourGreen, hal.ColourUnknown} {
		at := time.Unix(1764470400, 5000)
		r, err := camera.DecodePush(camera.EncodePush("sn", "京A12345", c, 91, at, full, crop))
		if err != nil {
			t.Fatal(err)
		}
		ev := r.Event
		if ev.Plate != "京A12345" || ev.Colour != c || ev.Conf != 91 || !ev.CameraTime.Equal(at) ||
			!bytes.Equal(ev.Pictures.Full, full) || !bytes.Equal(ev.Pictures.Plate, crop) {
			t.Errorf("round trip of colour %d = %+v", c, ev)
		}
	}
	r, err := camera.DecodePush(camera.EncodePush("sn", "", hal.ColourUnknown, 0, time.Time{}, nil, nil))
	if err != nil || r.Event.Kind != hal.KindNoPlate || r.Event.Pictures != nil {
		t.Errorf("no-plate round trip = %+v, %v", r.Event, err)
	}
}

func TestDecodeISAPIExample(t *testing.T) {
	full, crop := readFile(t, "full.jpg"), readFile(t, "plate.jpg")
	r, err := camera.DecodeISAPI(isapiType, readFile(t, "isapi_anpr.multipart"))
	if err != nil {
		t.Fatalf("DecodeISAPI(example) = %v", err)
	}
	ev := r.Event
	if r.SerialNo != "44:19:b6:6d:24:85" || ev.Kind != hal.KindPlate || ev.Plate != "粤B6D789" ||
		ev.Colour != hal.ColourYellow || ev.Conf != 93 || !ev.Large || ev.Official {
		t.Errorf("DecodeISAPI(example) = %+v serial %q; want 粤B6D789 yellow conf 93 large", ev, r.SerialNo)
	}
	if want := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC); !ev.CameraTime.Equal(want) {
		t.Errorf("camera time = %v; want %v", ev.CameraTime, want)
	}
	if ev.Pictures == nil || !bytes.Equal(ev.Pictures.Full, full) || !bytes.Equal(ev.Pictures.Plate, crop) {
		t.Errorf("pictures differ from the example's images")
	}
}

func isapiBody(xml string, parts ...string) string {
	var b strings.Builder
	b.WriteString("--B\r\nContent-Disposition: form-data; name=\"anpr.xml\"; filename=\"anpr.xml\"\r\nContent-Type: text/xml\r\n\r\n")
	b.WriteString(xml)
	b.WriteString("\r\n")
	for i := 0; i+1 < len(parts); i += 2 {
		b.WriteString("--B\r\nContent-Disposition: form-data; name=\"" + parts[i] + "\"; filename=\"" + parts[i] + "\"\r\nContent-Type: image/jpeg\r\n\r\n")
		b.WriteString(parts[i+1])
		b.WriteString("\r\n")
	}
	b.WriteString("--B--\r\n")
	return b.String()
}

func alertXML(event, plate, colour, ptype string, conf string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">` +
		`<macAddress>aa</macAddress><dateTime>2026-11-30T10:00:00+08:00</dateTime><eventType>` + event + `</eventType>` +
		`<ANPR><licensePlate>` + plate + `</licensePlate><confidenceLevel>` + conf + `</confidenceLevel><plateType>` + ptype +
		`</plateType><plateColor>` + colour + `</plateColor></ANPR></EventNotificationAlert>`
}

func TestDecodeISAPI(t *testing.T) {
	jpg := "\xff\xd8\xff\xe0abc\xff\xd9"
	const mp = "multipart/form-data; boundary=B"
	tests := []struct {
		name, ctype, body string
		kind              hal.CameraEventKind
		plate             string
		colour, conf      int
		official, full    bool
		err               bool
	}{
		{"blue civil", mp, isapiBody(alertXML("ANPR", "京A12345", "blue", "92TypeCivil", "88"), "detectionPicture.jpg", jpg),
			hal.KindPlate, "京A12345", hal.ColourBlue, 88, false, true, false},
		{"military", mp, isapiBody(alertXML("ANPR", "VA12345", "white", "upDownMilitay", "77")),
			hal.KindPlate, "VA12345", hal.ColourWhite, 77, true, false, false},
		{"green", mp, isapiBody(alertXML("ANPR", "沪AD12345", "green", "newEnergy", "95")),
			hal.KindPlate, "沪AD12345", hal.ColourGreen, 95, false, false, false},
		{"no plate", mp, isapiBody(alertXML("ANPR", "无牌车", "unknown", "unknown", "0")),
			hal.KindNoPlate, "", hal.ColourUnknown, 0, false, false, false},
		{"heartbeat alone", "application/xml", alertXML("videoloss", "", "", "", "0"),
			hal.KindHeartbeat, "", hal.ColourUnknown, 0, false, false, false},
		{"picture not jpeg", mp, isapiBody(alertXML("ANPR", "京A12345", "blue", "", "88"), "detectionPicture.jpg", "GIF89a"),
			hal.KindPlate, "京A12345", hal.ColourBlue, 88, false, false, false},
		{"no xml", mp, "--B\r\nContent-Disposition: form-data; name=\"detectionPicture.jpg\"\r\n\r\n" + jpg + "\r\n--B--\r\n", 0, "", 0, 0, false, false, true},
		{"no boundary", "multipart/form-data", "x", 0, "", 0, 0, false, false, true},
		{"bad content type", "", "x", 0, "", 0, 0, false, false, true},
		{"bad xml", mp, isapiBody("<EventNotificationAlert><eventType>ANPR"), 0, "", 0, 0, false, false, true},
		{"bad confidence", mp, isapiBody(alertXML("ANPR", "京A12345", "blue", "", "900")), 0, "", 0, 0, false, false, true},
		{"truncated", mp, isapiBody(alertXML("ANPR", "京A12345", "blue", "", "88"))[:100], 0, "", 0, 0, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := camera.DecodeISAPI(tt.ctype, []byte(tt.body))
			if !decoded(t, "DecodeISAPI", r, err, tt.err) {
				return
			}
			ev := r.Event
			full := ev.Pictures != nil && len(ev.Pictures.Full) > 0
			if ev.Kind != tt.kind || ev.Plate != tt.plate || ev.Colour != tt.colour || ev.Conf != tt.conf || ev.Official != tt.official || full != tt.full {
				t.Errorf("DecodeISAPI = %+v (full picture %v); want %v %q colour %d conf %d official %v full %v",
					ev, full, tt.kind, tt.plate, tt.colour, tt.conf, tt.official, tt.full)
			}
		})
	}
}

func FuzzDecodePush(f *testing.F) {
	f.Add(readFile(f, "push_plate.json"))
	f.Add([]byte(`{"heartbeat":{"serialno":"x","countid":7}}`))
	f.Add([]byte(`{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"_无_"}}}}`))
	f.Add([]byte(`{"AlarmInfoPlate":{"result":{"PlateResult":{"license":"京A12345","colorType":1,"imageFile":"/9j/4AECA//Z","imageFileLen":9}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := camera.DecodePush(b)
		if err != nil {
			return
		}
		checkRead(t, r)
	})
}

func FuzzDecodeISAPI(f *testing.F) {
	f.Add(readFile(f, "isapi_anpr.multipart"), false)
	f.Add([]byte(isapiBody(alertXML("ANPR", "京A12345", "blue", "92TypeCivil", "88"), "detectionPicture.jpg", "\xff\xd8x")), true)
	f.Add([]byte(alertXML("videoloss", "", "", "", "0")), true)
	f.Fuzz(func(t *testing.T, b []byte, short bool) {
		ct := isapiType
		if short {
			ct = "multipart/form-data; boundary=B"
		}
		r, err := camera.DecodeISAPI(ct, b)
		if err != nil {
			return
		}
		checkRead(t, r)
	})
}

func checkRead(t *testing.T, r camera.Read) {
	ev := r.Event
	switch ev.Kind {
	case hal.KindPlate:
		if ev.Plate == "" {
			t.Fatalf("a plate read without a plate: %+v", ev)
		}
	case hal.KindNoPlate, hal.KindHeartbeat:
		if ev.Plate != "" {
			t.Fatalf("%v with plate %q", ev.Kind, ev.Plate)
		}
	default:
		t.Fatalf("kind %v", ev.Kind)
	}
	if ev.Conf < 0 || ev.Conf > 100 || ev.Colour < hal.ColourUnknown || ev.Colour > hal.ColourGreen {
		t.Fatalf("conf %d colour %d out of range", ev.Conf, ev.Colour)
	}
	if p := ev.Pictures; p != nil {
		for _, b := range [][]byte{p.Full, p.Plate} {
			if len(b) > 0 && (len(b) < 2 || b[0] != 0xff || b[1] != 0xd8) {
				t.Fatalf("picture is not a JPEG")
			}
		}
	}
}

// decoded checks a decoder's error: ErrBadPush when the input is bad,
// none otherwise. It reports whether there is an event to check.
func decoded(t *testing.T, fn string, r camera.Read, err error, bad bool) bool {
	t.Helper()
	if bad {
		if !errors.Is(err, camera.ErrBadPush) {
			t.Fatalf("%s = %+v, %v; want ErrBadPush", fn, r, err)
		}
		return false
	}
	if err != nil {
		t.Fatalf("%s = %v", fn, err)
	}
	return true
}
