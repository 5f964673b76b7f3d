package camera

import (
	"fmt"
	"time"

	"laned/hal"
)

// Lane-frame commands (spec §1).
const (
	CmdPlate     byte = 0x01 // camera → controller
	CmdHeartbeat byte = 0x02 // camera → controller
	CmdAck       byte = 0x80 // controller → camera
	CmdTrigger   byte = 0x81 // controller → camera
)

// Limits that keep a hostile byte stream from costing memory.
const (
	MaxPayload    = 1024 // largest lane-frame LEN accepted
	MaxLine       = 512  // longest template frame, header to end
	maxRejectSpan = 256  // a rejected stretch is reported in pieces of at most this many bytes
)

// Frame is one valid frame as a codec decoded it: the report in Event (all
// fields but Camera and At, which the port fills in) plus the link-level
// details the port needs for ACKs and duplicate suppression.
type Frame struct {
	Addr int  // bus address; 0 when the codec carries none
	Seq  int  // sender's sequence number; -1 when the codec has none
	Cmd  byte // lane-frame command; 0 for the template codec
	// AckSeq is the acknowledged SEQ of an ACK frame, else -1.
	AckSeq int
	// Event is the decoded report for PLATE, HEARTBEAT and template lines
	// (Kind is KindPlate, KindNoPlate or KindHeartbeat); Kind is 0 for
	// ACK and TRIGGER frames, which a controller only hears as echoes.
	Event hal.PlateEvent
	// Raw is the frame's bytes as received.
	Raw []byte
}

// Result is one item out of a Decoder: either a valid Frame or a stretch
// of Rejected bytes with the Reason they were dropped.
type Result struct {
	Frame    *Frame
	Rejected []byte
	Reason   string
	Offset   int64     // stream offset of the first byte (frame or rejected stretch)
	At       time.Time // the time given to Feed with the bytes that completed it
}

// Decoder is a streaming decoder: it is fed bytes as they arrive and
// returns what they completed. Decoders are not safe for concurrent use.
type Decoder interface {
	// Feed appends p (received at at) and returns every frame and
	// rejected stretch that is now complete, in stream order.
	Feed(p []byte, at time.Time) []Result
	// Flush declares that no more bytes of the frame in progress will
	// come (the inter-frame gap passed, or the stream ended): buffered
	// bytes are rescanned for complete frames and the rest rejected.
	// Afterwards Pending is 0.
	Flush(at time.Time) []Result
	// Pending reports how many bytes are buffered in an incomplete frame.
	Pending() int
}

// Codec is a camera protocol: a decoder for what cameras send and an
// encoder for what the controller sends.
type Codec interface {
	// Name is the codec's name: "lane-frame" or "template".
	Name() string
	// NewDecoder returns a fresh streaming decoder.
	NewDecoder() Decoder
	// Ack returns the frame acknowledging f with the controller's own
	// sequence number seq, or nil when f needs no acknowledgement.
	Ack(f *Frame, seq byte) []byte
	// Trigger returns the frame that asks camera addr (0: broadcast) to
	// capture now, or an error wrapping ErrUnsupported.
	Trigger(addr int, seq byte) ([]byte, error)
	// Heartbeats reports whether the camera sends heartbeats, so that
	// silence means it is offline.
	Heartbeats() bool
}

// CodecByName returns the lane-frame codec for "lane-frame" (or "") and
// tmpl for "template" (an error when tmpl is nil).
func CodecByName(name string, tmpl *Template) (Codec, error) {
	switch name {
	case "", "lane-frame":
		return LaneFrame{}, nil
	case "template":
		if tmpl == nil {
			return nil, fmt.Errorf("camera: codec template needs a template file: %w", ErrConfig)
		}
		return tmpl, nil
	}
	return nil, fmt.Errorf("camera: unknown codec %q (want lane-frame or template): %w", name, ErrConfig)
}
