package camera

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"time"

	"laned/hal"
)

// Family 2: the Hikvision ISAPI alarm host push, multipart/form-data with
// anpr.xml (an EventNotificationAlert), licensePlatePicture.jpg (the
// plate crop) and detectionPicture.jpg (the full frame).

// isapiMaxParts and isapiMaxXML bound what one body may hold.
const (
	isapiMaxParts = 16
	isapiMaxXML   = 64 << 10
)

type isapiAlert struct {
	XMLName    xml.Name `xml:"EventNotificationAlert"`
	MacAddress string   `xml:"macAddress"`
	DateTime   string   `xml:"dateTime"`
	EventType  string   `xml:"eventType"`
	ANPR       struct {
		LicensePlate    string `xml:"licensePlate"`
		ConfidenceLevel int    `xml:"confidenceLevel"`
		PlateType       string `xml:"plateType"`
		PlateColor      string `xml:"plateColor"`
		VehicleType     string `xml:"vehicleType"`
	} `xml:"ANPR"`
}

// DecodeISAPI decodes a family-2 body given its Content-Type: a
// multipart ANPR event, or a bare EventNotificationAlert (another event
// type, which marks the camera alive).
func DecodeISAPI(contentType string, body []byte) (Read, error) {
	var r Read
	if len(body) > MaxPushBytes {
		return r, fmt.Errorf("%w: %d bytes, more than %d", ErrBadPush, len(body), MaxPushBytes)
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return r, fmt.Errorf("%w: content type %q: %v", ErrBadPush, contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		if len(body) > isapiMaxXML {
			return r, fmt.Errorf("%w: xml body of %d bytes", ErrBadPush, len(body))
		}
		return isapiRead(body, hal.Pictures{})
	}
	if params["boundary"] == "" {
		return r, fmt.Errorf("%w: multipart without a boundary", ErrBadPush)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var alert []byte
	var pics hal.Pictures
	var probs []string
	for n := 0; ; n++ {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return r, fmt.Errorf("%w: multipart: %v", ErrBadPush, err)
		}
		if n == isapiMaxParts {
			return r, fmt.Errorf("%w: more than %d parts", ErrBadPush, isapiMaxParts)
		}
		name := part.FormName()
		if fn := part.FileName(); fn != "" {
			name = fn
		}
		data, err := io.ReadAll(io.LimitReader(part, MaxPushBytes+1))
		if err != nil {
			return r, fmt.Errorf("%w: part %q: %v", ErrBadPush, name, err)
		}
		switch lower := strings.ToLower(name); {
		case strings.HasSuffix(lower, ".xml") || strings.Contains(part.Header.Get("Content-Type"), "xml"):
			if alert != nil {
				return r, fmt.Errorf("%w: two xml parts", ErrBadPush)
			}
			if len(data) > isapiMaxXML {
				return r, fmt.Errorf("%w: xml part of %d bytes", ErrBadPush, len(data))
			}
			alert = data
		case strings.HasPrefix(lower, "licenseplatepicture"):
			pics.Plate, probs = jpegPart(name, data, probs)
		case strings.HasPrefix(lower, "detectionpicture"):
			pics.Full, probs = jpegPart(name, data, probs)
		default:
			probs = append(probs, fmt.Sprintf("part %q ignored", name))
		}
	}
	if alert == nil {
		return r, fmt.Errorf("%w: no anpr.xml part", ErrBadPush)
	}
	r, err = isapiRead(alert, pics)
	r.Problems = append(probs, r.Problems...)
	return r, err
}

func jpegPart(name string, data []byte, probs []string) ([]byte, []string) {
	if len(data) == 0 {
		return nil, probs
	}
	if !isJPEG(data) {
		return nil, append(probs, name+": not a JPEG")
	}
	return data, probs
}

func isapiRead(x []byte, pics hal.Pictures) (Read, error) {
	var r Read
	var a isapiAlert
	if err := xml.Unmarshal(x, &a); err != nil {
		return r, fmt.Errorf("%w: EventNotificationAlert: %v", ErrBadPush, err)
	}
	r.SerialNo = strings.TrimSpace(a.MacAddress)
	if !strings.EqualFold(strings.TrimSpace(a.EventType), "ANPR") {
		r.Event = hal.PlateEvent{Kind: hal.KindHeartbeat, Colour: hal.ColourUnknown}
		return r, nil
	}
	conf := a.ANPR.ConfidenceLevel
	if conf < 0 || conf > 100 {
		return r, fmt.Errorf("%w: confidenceLevel %d out of 0–100", ErrBadPush, conf)
	}
	ev := hal.PlateEvent{Colour: isapiColour(a.ANPR.PlateColor), Conf: conf, Trigger: hal.TriggerAuto}
	if pics.Full != nil || pics.Plate != nil {
		ev.Pictures = &pics
	}
	if t, err := time.Parse(time.RFC3339, strings.TrimSpace(a.DateTime)); err == nil {
		ev.CameraTime = t
	}
	ev.Large, ev.Official = isapiPlateType(a.ANPR.PlateType, a.ANPR.VehicleType)
	plate, err := plateText(a.ANPR.LicensePlate)
	if err != nil {
		return r, err
	}
	if plate == "" || strings.EqualFold(plate, "unknown") {
		ev.Kind = hal.KindNoPlate
	} else {
		ev.Kind, ev.Plate = hal.KindPlate, plate
	}
	r.Event = ev
	return r, nil
}

// isapiColour maps ANPR/plateColor text to the platform's codes.
func isapiColour(s string) int {
	s = strings.ToLower(strings.TrimSpace(s))
	if c, ok := ColourNames[s]; ok {
		return c
	}
	switch s {
	case "newenergy", "yellowgreen", "greenyellow":
		return hal.ColourGreen
	}
	return hal.ColourUnknown
}

// isapiPlateType reads ANPR/plateType ("92TypeCivil", "yellow2Line",
// "upDownMilitay", "92TypeArm", "police" …) and vehicleType.
func isapiPlateType(plateType, vehicleType string) (large, official bool) {
	p := strings.ToLower(plateType)
	official = strings.Contains(p, "milita") || strings.Contains(p, "arm") || strings.Contains(p, "police")
	large = strings.Contains(p, "yellow2line") || strings.Contains(p, "twoline") || strings.Contains(p, "updown")
	switch strings.ToLower(vehicleType) {
	case "largebus", "truck", "bus", "largevehicle":
		large = true
	}
	return large, official
}
