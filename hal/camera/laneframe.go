package camera

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"laned/hal"
)

// Lane-frame delimiters.
const (
	STX byte = 0x02
	ETX byte = 0x03
)

// laneHeader is STX ADDR SEQ CMD LEN(2); laneOverhead adds CRC(2) ETX.
const (
	laneHeader   = 6
	laneOverhead = 9
)

// LaneFrame is the documented binary codec (spec §1), the default.
type LaneFrame struct{}

var _ Codec = LaneFrame{}

func (LaneFrame) Name() string        { return "lane-frame" }
func (LaneFrame) NewDecoder() Decoder { return newLaneDecoder() }
func (LaneFrame) Heartbeats() bool    { return true }

// Addressed reports true: every lane frame carries the camera's address,
// so lane-frame cameras can share a bus.
func (LaneFrame) Addressed() bool { return true }

// Ack acknowledges every PLATE and HEARTBEAT.
func (LaneFrame) Ack(f *Frame, seq byte) []byte {
	if f == nil || (f.Cmd != CmdPlate && f.Cmd != CmdHeartbeat) || f.Seq < 0 {
		return nil
	}
	return EncodeFrame(byte(f.Addr), seq, CmdAck, []byte{byte(f.Seq)})
}

// Trigger asks camera addr (0: every camera on the bus) to capture now.
func (LaneFrame) Trigger(addr int, seq byte) ([]byte, error) {
	if addr < 0 || addr > 247 {
		return nil, fmt.Errorf("camera: trigger: address %d out of range 0–247: %w", addr, ErrConfig)
	}
	return EncodeFrame(byte(addr), seq, CmdTrigger, nil), nil
}

// EncodeFrame builds a lane-frame. A payload longer than MaxPayload is the
// caller's bug and panics.
func EncodeFrame(addr, seq, cmd byte, payload []byte) []byte {
	if len(payload) > MaxPayload {
		panic(fmt.Sprintf("camera: lane-frame payload of %d bytes exceeds %d", len(payload), MaxPayload))
	}
	b := make([]byte, 0, laneOverhead+len(payload))
	b = append(b, STX, addr, seq, cmd)
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	b = append(b, payload...)
	crc := CRC16(b[1:])
	return append(b, byte(crc), byte(crc>>8), ETX)
}

// EncodePlate builds the PLATE frame a camera sends for ev: Kind
// KindNoPlate (or an empty Plate) gives NLEN 0; Colour ColourUnknown gives
// 0xFF; a zero CameraTime gives TIME 0.
func EncodePlate(addr int, seq byte, ev hal.PlateEvent) ([]byte, error) {
	var text []byte
	if ev.Kind != hal.KindNoPlate && ev.Plate != "" {
		var err error
		if text, err = encodeGBK(ev.Plate); err != nil {
			return nil, fmt.Errorf("camera: encode plate %q: %w", ev.Plate, err)
		}
		if len(text) > 255 {
			return nil, fmt.Errorf("camera: encode plate: %d bytes exceed 255", len(text))
		}
	}
	colour := byte(0xFF)
	if ev.Colour >= 0 && ev.Colour <= 0xFE {
		colour = byte(ev.Colour)
	}
	p := make([]byte, 0, 8+len(text))
	p = binary.BigEndian.AppendUint32(p, unixSeconds(ev.CameraTime))
	p = append(p, colour, byte(min(max(ev.Conf, 0), 255)), byte(ev.Trigger), byte(len(text)))
	p = append(p, text...)
	return EncodeFrame(byte(addr), seq, CmdPlate, p), nil
}

// EncodeHeartbeat builds the HEARTBEAT frame a camera sends.
func EncodeHeartbeat(addr int, seq byte, cameraTime time.Time, status int) []byte {
	p := binary.BigEndian.AppendUint32(nil, unixSeconds(cameraTime))
	p = append(p, byte(status))
	return EncodeFrame(byte(addr), seq, CmdHeartbeat, p)
}

// EncodeAck builds the controller's ACK of the frame with SEQ acked.
func EncodeAck(addr int, seq, acked byte) []byte {
	return EncodeFrame(byte(addr), seq, CmdAck, []byte{acked})
}

func unixSeconds(t time.Time) uint32 {
	if t.IsZero() || t.Unix() < 0 || t.Unix() > 0xFFFFFFFF {
		return 0
	}
	return uint32(t.Unix())
}

// laneFramer frames lane-frames for the scanner: a candidate starts at
// STX; its header (address, command, length bounds) is checked first, then
// it is framed by LEN and checked for ETX and CRC. A candidate that fails
// costs its STX, so the search resumes at the byte after it; a frame whose
// framing and CRC hold but whose content is bad is dropped whole.
type laneFramer struct{}

func newLaneDecoder() Decoder {
	return &scanner{f: laneFramer{}, mark: []byte{STX}, dropWhole: true, maxCap: 4 * (laneOverhead + MaxPayload)}
}

func (laneFramer) measure(rest []byte, _ int64) (int, string) {
	if len(rest) < laneHeader {
		return 0, ""
	}
	n := int(binary.BigEndian.Uint16(rest[4:6]))
	if reason := checkLaneHeader(rest[1], rest[3], n); reason != "" {
		// A false start costs a few comparisons, never a CRC.
		return laneHeader, reason
	}
	total := laneOverhead + n
	if len(rest) < total {
		return 0, ""
	}
	if rest[8+n] != ETX {
		return total, reasonNoETX
	}
	got := uint16(rest[6+n]) | uint16(rest[7+n])<<8
	if got != CRC16(rest[1:6+n]) {
		return total, reasonCRC
	}
	return total, ""
}

func (laneFramer) parse(frame []byte) (*Frame, error) { return parseLaneFrame(bytes.Clone(frame)) }

// Reasons of rejected lane-frame bytes. They are constants so that a
// hostile stream costs no formatting: consecutive rejects for the same
// reason extend one stretch.
const (
	reasonIncomplete   = "incomplete frame"
	reasonNoETX        = "missing ETX"
	reasonCRC          = "crc mismatch"
	reasonLength       = "length exceeds 1024"
	reasonAddr         = "address out of range 1–247"
	reasonControlAddr  = "address out of range 0–247"
	reasonUnknownCmd   = "unknown command"
	reasonPlateLen     = "plate payload length out of range 8–263"
	reasonHeartbeatLen = "heartbeat payload length out of range 5–64"
	reasonAckLen       = "ack payload length out of range 1–64"
	reasonTriggerLen   = "trigger payload length out of range 0–64"
)

// Payload bounds by command, checked before the CRC. A PLATE carries 8
// bytes and at most 255 of text; the others a few bytes, with room for a
// camera that appends fields.
const (
	maxPlatePayload = 8 + 255
	maxSmallPayload = 64
)

// checkLaneHeader checks what a frame's first six bytes promise (ADDR,
// CMD, LEN) and returns why they cannot start a frame, or "".
func checkLaneHeader(addr, cmd byte, n int) string {
	if n > MaxPayload {
		return reasonLength
	}
	switch cmd {
	case CmdPlate:
		if addr < 1 || addr > 247 {
			return reasonAddr
		}
		if n < 8 || n > maxPlatePayload {
			return reasonPlateLen
		}
	case CmdHeartbeat:
		if addr < 1 || addr > 247 {
			return reasonAddr
		}
		if n < 5 || n > maxSmallPayload {
			return reasonHeartbeatLen
		}
	case CmdAck:
		if addr > 247 {
			return reasonControlAddr
		}
		if n < 1 || n > maxSmallPayload {
			return reasonAckLen
		}
	case CmdTrigger:
		if addr > 247 {
			return reasonControlAddr
		}
		if n > maxSmallPayload {
			return reasonTriggerLen
		}
	default:
		return reasonUnknownCmd
	}
	return ""
}

var errShortPayload = errors.New("payload too short")

// parseLaneFrame decodes a frame whose framing and CRC are already good.
func parseLaneFrame(raw []byte) (*Frame, error) {
	addr, seq, cmd := int(raw[1]), int(raw[2]), raw[3]
	p := raw[laneHeader : len(raw)-3]
	f := &Frame{Addr: addr, Seq: seq, Cmd: cmd, AckSeq: -1, Raw: raw}
	f.Event = hal.PlateEvent{Addr: addr, Colour: hal.ColourUnknown}
	cameraAddr := func() error {
		if addr < 1 || addr > 247 {
			return fmt.Errorf("address %d out of range 1–247", addr)
		}
		return nil
	}
	switch cmd {
	case CmdPlate:
		if err := cameraAddr(); err != nil {
			return nil, err
		}
		if len(p) < 8 {
			return nil, fmt.Errorf("plate %w: %d bytes, want at least 8", errShortPayload, len(p))
		}
		nlen := int(p[7])
		if 8+nlen > len(p) {
			return nil, fmt.Errorf("plate NLEN %d exceeds the payload's %d bytes", nlen, len(p)-8)
		}
		e := &f.Event
		e.CameraTime = cameraTime(binary.BigEndian.Uint32(p[0:4]))
		e.Colour = colourCode(int(p[4]))
		e.Conf = min(int(p[5]), 100)
		e.Trigger = triggerCode(int(p[6]))
		text, err := decodeGBK(p[8 : 8+nlen])
		if err != nil {
			return nil, fmt.Errorf("plate %w: % X", err, p[8:8+nlen])
		}
		plate, none, err := cleanPlate(text)
		if err != nil {
			return nil, err
		}
		if none {
			e.Kind = hal.KindNoPlate
		} else {
			e.Kind, e.Plate = hal.KindPlate, plate
		}
	case CmdHeartbeat:
		if err := cameraAddr(); err != nil {
			return nil, err
		}
		if len(p) < 5 {
			return nil, fmt.Errorf("heartbeat %w: %d bytes, want at least 5", errShortPayload, len(p))
		}
		f.Event.Kind = hal.KindHeartbeat
		f.Event.CameraTime = cameraTime(binary.BigEndian.Uint32(p[0:4]))
		f.Event.Status = int(p[4])
	case CmdAck:
		if len(p) < 1 {
			return nil, fmt.Errorf("ack %w: empty", errShortPayload)
		}
		f.AckSeq = int(p[0])
	case CmdTrigger:
	default:
		return nil, fmt.Errorf("unknown command 0x%02X", cmd)
	}
	return f, nil
}

func cameraTime(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0)
}

func colourCode(c int) int {
	if hal.ValidColour(c) {
		return c
	}
	return hal.ColourUnknown
}

func triggerCode(t int) hal.Trigger {
	switch hal.Trigger(t) {
	case hal.TriggerAuto, hal.TriggerIO, hal.TriggerSoftware:
		return hal.Trigger(t)
	}
	return hal.TriggerUnknown
}
