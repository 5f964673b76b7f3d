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

// rejecter accumulates dropped bytes into stretches, so that a run of
// garbage is reported once with the reason that started it.
type rejecter struct {
	buf    []byte
	reason string
	off    int64
	out    []Result
	// fullEnd and fullReason are where and why the last stretch ended
	// because it was full: the garbage right after it continues that
	// reason, so a long flood stays one reason in 256-byte pieces.
	fullEnd    int64
	fullReason string
}

// drop records p (at stream offset off) as rejected for reason. A
// "garbage" drop, or one for the reason of the stretch in progress,
// continues that stretch (a flood of false starts is one stretch per 256
// bytes, not one per byte); any other reason starts a new one.
func (r *rejecter) drop(p []byte, off int64, reason string, at time.Time) {
	if n := len(r.buf); n > 0 && n+len(p) < maxRejectSpan && r.off+int64(n) == off && (reason == reasonGarbage || reason == r.reason) {
		r.buf = append(r.buf, p...) // the common case of a flood: extend the stretch
		return
	}
	r.dropSlow(p, off, reason, at)
}

func (r *rejecter) dropSlow(p []byte, off int64, reason string, at time.Time) {
	if len(p) == 0 {
		return
	}
	contiguous := len(r.buf) > 0 && r.off+int64(len(r.buf)) == off
	if len(r.buf) > 0 && (!contiguous || (reason != reasonGarbage && reason != r.reason)) {
		r.emit(at)
	}
	if len(r.buf) > 0 {
		reason = r.reason // garbage continues the stretch in progress
	} else if reason == reasonGarbage && off == r.fullEnd && r.fullReason != "" {
		reason = r.fullReason
	}
	for len(p) > 0 {
		if len(r.buf) == 0 {
			r.off, r.reason = off, reason
		}
		n := min(len(p), maxRejectSpan-len(r.buf))
		if r.buf == nil {
			r.buf = make([]byte, 0, maxRejectSpan)
		}
		r.buf = append(r.buf, p[:n]...)
		p, off = p[n:], off+int64(n)
		if len(r.buf) == maxRejectSpan {
			r.fullEnd, r.fullReason = off, r.reason
			r.emit(at)
		}
	}
}

func (r *rejecter) emit(at time.Time) {
	if len(r.buf) == 0 {
		return
	}
	if r.off+int64(len(r.buf)) != r.fullEnd {
		r.fullReason = ""
	}
	r.out = append(r.out, Result{Rejected: r.buf, Reason: r.reason, Offset: r.off, At: at})
	r.buf = nil
}

// frame reports a valid frame after any rejected stretch before it.
func (r *rejecter) frame(f *Frame, off int64, at time.Time) {
	r.emit(at)
	r.out = append(r.out, Result{Frame: f, Offset: off, At: at})
}

// take returns the results so far.
func (r *rejecter) take() []Result {
	out := r.out
	r.out = nil
	return out
}

const reasonGarbage = "garbage"
