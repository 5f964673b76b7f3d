package display

import (
	"time"

	"laned/hal"
)

// Op is what a command does.
type Op int

const (
	OpShow   Op = iota + 1 // temporary text on a line
	OpCancel               // cancel temporary text
	OpIdle                 // a line's idle text
	OpSay                  // play voice
	OpVolume               // voice volume
	OpClock                // the board's clock
	OpQR                   // a QR code (families that have one)
)

func (o Op) String() string {
	switch o {
	case OpShow:
		return "show"
	case OpCancel:
		return "cancel"
	case OpIdle:
		return "idle"
	case OpSay:
		return "say"
	case OpVolume:
		return "volume"
	case OpClock:
		return "clock"
	case OpQR:
		return "qr"
	}
	return "unknown"
}

// Command is one thing to tell a board, in plain Go types. Which fields
// count depends on Op.
type Command struct {
	Op      Op
	Line    int               // OpShow, OpIdle: 1–4
	Seconds int               // OpShow, OpQR: 0 = until replaced
	Colour  hal.DisplayColour // OpShow, OpIdle
	Text    string            // OpShow, OpIdle; OpQR: the caption
	Lines   []int             // OpCancel: none = all
	Speech  []hal.Phrase      // OpSay
	Volume  int               // OpVolume: 0–9
	Time    time.Time         // OpClock, in the car park's zone
	URL     string            // OpQR
}

// Frame is one decoded frame of a board family: what a board answers, or
// (for tools and the sim board) what a controller sent.
type Frame struct {
	Seq  byte
	Addr int
	Cmd  byte
	Data []byte
	Raw  []byte
}

// Result is what a decoder found: a frame, or a rejected stretch of bytes
// with the reason.
type Result struct {
	Frame    *Frame
	Rejected []byte
	Reason   string
}

// Decoder splits a byte stream into frames. It is fed in any chunks.
type Decoder interface {
	Feed(p []byte) []Result
	// Pending is how many bytes wait for the rest of a frame.
	Pending() int
	// Flush gives up on a partial frame (after an inter-frame gap).
	Flush() []Result
}

// Codec is a board family's protocol.
type Codec interface {
	// Name is the family's configuration name, e.g. "aa55".
	Name() string
	// Encode returns the frame of c for the board at addr with sequence
	// number seq. A command the family has no frame for wraps
	// ErrUnsupported; a text it cannot carry wraps ErrText.
	Encode(seq byte, addr int, c Command) ([]byte, error)
	// Parse reads back the command a controller's frame carries (for the
	// sim board and bench tools).
	Parse(f *Frame) (Command, error)
	// NewDecoder returns a decoder of the family's frames.
	NewDecoder() Decoder
	// MaxText is the longest text of one line, in encoded bytes.
	MaxText() int
}

// CodecByName returns the codec of a family name.
func CodecByName(name string) (Codec, error) {
	switch name {
	case "aa55", "":
		return AA55{}, nil
	}
	return nil, fmtConfig("unknown display family %q (want aa55)", name)
}
