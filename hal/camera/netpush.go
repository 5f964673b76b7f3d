package camera

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"laned/hal"
)

// Network cameras (shared/spec/camera-network.md). A decoder turns one
// HTTP body into a Read; a NetCamera turns reads into hal events.

// MaxPushBytes bounds a network camera's body: larger ones are refused
// (413) before they are decoded.
const MaxPushBytes = 4 << 20

// ErrBadPush wraps every reason a network camera's body is refused.
var ErrBadPush = errors.New("camera: bad push body")

// Read is one decoded network camera report: a plate, no plate, or a
// heartbeat (Event.Kind), and the camera's serial number when it sent one.
type Read struct {
	SerialNo string
	Event    hal.PlateEvent // Kind, Plate, Colour, Conf, Trigger, CameraTime, Large, Official, Pictures
	// Problems lists what was wrong but not fatal (a picture whose length
	// disagrees with its declared length is left out, for one).
	Problems []string
}

// noPlateText is what the 臻识 family (and others) send for a vehicle
// without a plate.
const noPlateText = "_无_"

// pushBody is the family-1 body: AlarmInfoPlate, or a heartbeat.
type pushBody struct {
	Alarm *struct {
		SerialNo string `json:"serialno"`
		Result   struct {
			Plate *pushPlate `json:"PlateResult"`
		} `json:"result"`
	} `json:"AlarmInfoPlate"`
	Heartbeat *struct {
		SerialNo string `json:"serialno"`
	} `json:"heartbeat"`
}

type pushPlate struct {
	License    string `json:"license"`
	ColorType  int    `json:"colorType"`
	Type       int    `json:"type"`
	Confidence int    `json:"confidence"`
	Trigger    int    `json:"triggerType"`
	TimeStamp  struct {
		Timeval struct {
			Sec  int64 `json:"sec"`
			Usec int64 `json:"usec"`
		} `json:"Timeval"`
	} `json:"timeStamp"`
	Image       string `json:"imageFile"`
	ImageLen    int    `json:"imageFileLen"`
	Fragment    string `json:"imageFragmentFile"`
	FragmentLen int    `json:"imageFragmentFileLen"`
}

// DecodePush decodes a family-1 (臻识 / VisionZenith JSON) body.
func DecodePush(body []byte) (Read, error) {
	var r Read
	if len(body) > MaxPushBytes {
		return r, fmt.Errorf("%w: %d bytes, more than %d", ErrBadPush, len(body), MaxPushBytes)
	}
	var b pushBody
	if err := json.Unmarshal(body, &b); err != nil {
		return r, fmt.Errorf("%w: json: %v", ErrBadPush, err)
	}
	switch {
	case b.Alarm != nil && b.Alarm.Result.Plate != nil:
	case b.Alarm != nil:
		return r, fmt.Errorf("%w: AlarmInfoPlate without result.PlateResult", ErrBadPush)
	case b.Heartbeat != nil:
		r.SerialNo = b.Heartbeat.SerialNo
		r.Event = hal.PlateEvent{Kind: hal.KindHeartbeat, Colour: hal.ColourUnknown}
		return r, nil
	default:
		if isHeartbeat(body) {
			r.Event = hal.PlateEvent{Kind: hal.KindHeartbeat, Colour: hal.ColourUnknown}
			return r, nil
		}
		return r, fmt.Errorf("%w: neither AlarmInfoPlate nor a heartbeat", ErrBadPush)
	}
	p := b.Alarm.Result.Plate
	r.SerialNo = b.Alarm.SerialNo
	if p.Confidence < 0 || p.Confidence > 100 {
		return r, fmt.Errorf("%w: confidence %d out of 0–100", ErrBadPush, p.Confidence)
	}
	ev := hal.PlateEvent{
		Colour:  pushColour(p.ColorType),
		Conf:    p.Confidence,
		Trigger: pushTrigger(p.Trigger),
	}
	ev.Large, ev.Official = pushPlateType(p.Type)
	if s, us := p.TimeStamp.Timeval.Sec, p.TimeStamp.Timeval.Usec; s > 0 && s < 1<<40 && us >= 0 && us < 1e6 {
		ev.CameraTime = time.Unix(s, us*1000)
	}
	plate, err := plateText(p.License)
	if err != nil {
		return r, err
	}
	if plate == "" {
		ev.Kind = hal.KindNoPlate
	} else {
		ev.Kind, ev.Plate = hal.KindPlate, plate
	}
	var probs []string
	var pics hal.Pictures
	pics.Full, probs = picture("imageFile", p.Image, p.ImageLen, probs)
	pics.Plate, probs = picture("imageFragmentFile", p.Fragment, p.FragmentLen, probs)
	if pics.Full != nil || pics.Plate != nil {
		ev.Pictures = &pics
	}
	r.Event, r.Problems = ev, probs
	return r, nil
}

// isHeartbeat: a small object with a heartbeat-like top-level key
// ("heartbeat", "heartBeat", "Heartbeat", "AlarmInfoHeartbeat" …).
func isHeartbeat(body []byte) bool {
	if len(body) > 4096 {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	for k := range m {
		if strings.Contains(strings.ToLower(k), "heartbeat") {
			return true
		}
	}
	return false
}

// plateText validates a camera's plate text; "" means no plate.
func plateText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == noPlateText || s == "无牌车" || s == "无" {
		return "", nil
	}
	if !utf8.ValidString(s) || len(s) > 32 {
		return "", fmt.Errorf("%w: plate %q is not a plate", ErrBadPush, s)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("%w: plate %q has control characters", ErrBadPush, s)
		}
	}
	return s, nil
}

// picture decodes a base64 JPEG; a missing one is nil, a broken one is
// left out with a problem noted.
func picture(name, b64 string, declared int, probs []string) ([]byte, []string) {
	if b64 == "" {
		return nil, probs
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, append(probs, name+": not base64")
		}
	}
	if declared > 0 && declared != len(b) {
		return nil, append(probs, fmt.Sprintf("%s: %d bytes, declared %d", name, len(b), declared))
	}
	if !isJPEG(b) {
		return nil, append(probs, name+": not a JPEG")
	}
	return b, probs
}

func isJPEG(b []byte) bool { return len(b) >= 4 && b[0] == 0xff && b[1] == 0xd8 }

// pushColour maps the family's colorType (0 unknown, 1 blue, 2 yellow,
// 3 white, 4 black, 5 green: DefaultColours) to the platform's codes.
func pushColour(c int) int {
	if v, ok := DefaultColours[strconv.Itoa(c)]; ok {
		return v
	}
	return hal.ColourUnknown
}

// pushPlateType reads the family's plate type (0–19): large vehicles
// (yellow single and double row, coach, armed police and military double
// row) and official plates (police 5, armed police 6, 15–17, military 8,
// 9).
func pushPlateType(t int) (large, official bool) {
	switch t {
	case 3, 4, 13:
		large = true
	case 9, 15:
		large, official = true, true
	case 5, 6, 8, 16, 17:
		official = true
	}
	return large, official
}

// pushTrigger maps triggerType bit flags to the first trigger they name.
func pushTrigger(t int) hal.Trigger {
	switch {
	case t&8 != 0, t&4 != 0:
		return hal.TriggerSoftware
	case t&2 != 0:
		return hal.TriggerIO
	case t&1 != 0:
		return hal.TriggerAuto
	}
	return hal.TriggerUnknown
}

// PushAnswer is the family-1 answer: "ok" tells the camera to open its
// own relay, "no" not to.
func PushAnswer(open bool) []byte {
	if open {
		return []byte(`{"Response_AlarmInfoPlate":{"info":"ok"}}`)
	}
	return []byte(`{"Response_AlarmInfoPlate":{"info":"no"}}`)
}

// EncodePush builds a family-1 body (commissioning tools, tests, the
// demo): the camera's colorType is the inverse of pushColour.
func EncodePush(serialNo, plate string, colour, conf int, camTime time.Time, full, crop []byte) []byte {
	ct := 0 // unknown
	for c := 1; c <= 5 && hal.ValidColour(colour); c++ {
		if pushColour(c) == colour {
			ct = c
			break
		}
	}
	if plate == "" {
		plate = noPlateText
	}
	pt := 1
	if colour == hal.ColourGreen {
		pt = 19
	}
	var p pushPlate
	p.License, p.ColorType, p.Type, p.Confidence, p.Trigger = plate, ct, pt, conf, 1
	if !camTime.IsZero() {
		p.TimeStamp.Timeval.Sec, p.TimeStamp.Timeval.Usec = camTime.Unix(), int64(camTime.Nanosecond()/1000)
	}
	if len(full) > 0 {
		p.Image, p.ImageLen = base64.StdEncoding.EncodeToString(full), len(full)
	}
	if len(crop) > 0 {
		p.Fragment, p.FragmentLen = base64.StdEncoding.EncodeToString(crop), len(crop)
	}
	var b bytes.Buffer
	b.WriteString(`{"AlarmInfoPlate":{"serialno":`)
	sn, _ := json.Marshal(serialNo)
	b.Write(sn)
	b.WriteString(`,"channel":0,"deviceName":"IVS","result":{"PlateResult":`)
	pj, _ := json.Marshal(p)
	b.Write(pj)
	b.WriteString(`}}}`)
	return b.Bytes()
}
