package hal

import (
	"context"
	"time"
)

// Device is what every piece of lane hardware has: a name for logs and a
// way back to an inert state.
type Device interface {
	// String names the device for logs, e.g. "exit1/arming-loop".
	String() string
	// Halt returns the device to an inert state: relays de-energised,
	// motion stopped, reading goroutines ended. Halt is idempotent.
	Halt() error
}

// LoopEvent is a debounced change of an inductive loop.
type LoopEvent struct {
	Loop     string    // the loop's String()
	Occupied bool      // true: a vehicle stands on the loop
	At       time.Time // when the change was observed (after debounce)
	Stuck    bool      // the loop has been occupied longer than its stuck limit (a warning; Occupied stays true)
	Fault    bool      // the detector reports a fault: Occupied is true while it does
}

// MaxDebounce is the longest debounce a loop input may have: a
// LoopEvent's At is at most this long after the edge it reports.
const MaxDebounce = time.Second

// Loop is an inductive loop detector read through a dry contact.
type Loop interface {
	Device
	// Occupied reports the current debounced state.
	Occupied() bool
	// Events delivers every debounced change in order. The channel is
	// closed by Halt.
	Events() <-chan LoopEvent
}

// BarrierState is what a barrier is doing, as far as the controller knows.
type BarrierState int

const (
	BarrierUnknown BarrierState = iota // no feedback and no command yet
	BarrierDown
	BarrierUp
	BarrierOpening
	BarrierClosing
	BarrierStopped // stopped between the limits
)

func (s BarrierState) String() string {
	switch s {
	case BarrierDown:
		return "down"
	case BarrierUp:
		return "up"
	case BarrierOpening:
		return "opening"
	case BarrierClosing:
		return "closing"
	case BarrierStopped:
		return "stopped"
	}
	return "unknown"
}

// Moving reports whether the arm is travelling.
func (s BarrierState) Moving() bool { return s == BarrierOpening || s == BarrierClosing }

// BarrierEvent is a change of a barrier's state, or a fault.
type BarrierEvent struct {
	Barrier string
	State   BarrierState
	At      time.Time
	Fault   string // non-empty: a command was not confirmed in time, a limit switch disagrees, …
}

// Barrier is a boom barrier driven through relays, with optional limit
// switches.
type Barrier interface {
	Device
	// Open commands the arm up. It returns once the command is given
	// (relay energised or pulse started), not when the arm arrives.
	Open(ctx context.Context) error
	// Close commands the arm down. The caller is responsible for the
	// safety loop: a barrier never checks it (see edge).
	Close(ctx context.Context) error
	// Stop halts the arm where it is.
	Stop(ctx context.Context) error
	// State reports the known state.
	State() BarrierState
	// Events delivers state changes and faults in order; closed by Halt.
	Events() <-chan BarrierEvent
}

// CameraEventKind tells what a camera reported.
type CameraEventKind int

const (
	KindPlate     CameraEventKind = iota + 1 // a plate was read
	KindNoPlate                              // a vehicle without a plate (无牌车)
	KindHeartbeat                            // the camera is alive
	KindOnline                               // the link came up (first valid frame after silence)
	KindOffline                              // silent for too long, or the port vanished
)

func (k CameraEventKind) String() string {
	switch k {
	case KindPlate:
		return "plate"
	case KindNoPlate:
		return "no-plate"
	case KindHeartbeat:
		return "heartbeat"
	case KindOnline:
		return "online"
	case KindOffline:
		return "offline"
	}
	return "unknown"
}

// Trigger tells what made the camera capture.
type Trigger int

const (
	TriggerUnknown  Trigger = 0
	TriggerAuto     Trigger = 1 // video detection
	TriggerIO       Trigger = 2 // io / loop input
	TriggerSoftware Trigger = 4 // commanded by the controller
)

func (t Trigger) String() string {
	switch t {
	case TriggerAuto:
		return "auto"
	case TriggerIO:
		return "io"
	case TriggerSoftware:
		return "software"
	}
	return "unknown"
}

// Plate colours use the CMB platform's codes.
const (
	ColourBlue    = 0
	ColourYellow  = 1
	ColourWhite   = 2
	ColourBlack   = 3
	ColourGreen   = 4
	ColourUnknown = -1
)

// colourNames are the English names of the colour codes, by code.
var colourNames = [...]string{ColourBlue: "blue", ColourYellow: "yellow", ColourWhite: "white", ColourBlack: "black", ColourGreen: "green"}

// ValidColour reports whether c is one of the platform's colour codes,
// ColourBlue to ColourGreen.
func ValidColour(c int) bool { return c >= ColourBlue && c <= ColourGreen }

// ColourName names colour code c: "blue", "yellow", "white", "black",
// "green", or "unknown" for any other.
func ColourName(c int) string {
	if !ValidColour(c) {
		return "unknown"
	}
	return colourNames[c]
}

// ParseColour returns the code ColourName names ("unknown":
// ColourUnknown); ok is false for any other name.
func ParseColour(name string) (c int, ok bool) {
	if name == "unknown" {
		return ColourUnknown, true
	}
	for c, n := range colourNames {
		if n == name {
			return c, true
		}
	}
	return ColourUnknown, false
}

// PlateEvent is one decoded report of a camera.
type PlateEvent struct {
	Camera     string          // the camera's String()
	Addr       int             // bus address, 1–247
	Kind       CameraEventKind // plate, no-plate, heartbeat, online, offline
	Plate      string          // UTF-8 plate text; empty unless Kind == KindPlate
	Colour     int             // platform colour code, ColourUnknown when not given
	Conf       int             // confidence 0–100
	Trigger    Trigger
	CameraTime time.Time // the camera's own clock; zero when not given
	At         time.Time // when the controller received it
	Status     int       // heartbeat status: 0 ok, else the camera's fault code
	Detail     string    // offline reason and the like

	// What network cameras add (zero for RS-485 ones):
	Large    bool      // the camera's plate type is a large vehicle's (yellow double row, …)
	Official bool      // the camera's plate type is military, armed police or police
	Pictures *Pictures // the frame and the plate crop; nil when none was sent
	// Decision, when set, is told at most once by the lane its decision
	// on this read, so that a network camera can answer whether its own
	// relay should open.
	Decision Decision
}

// Pictures are the JPEG images of one network camera read.
type Pictures struct {
	Full  []byte // the full frame; nil when not sent
	Plate []byte // the plate crop; nil when not sent
}

// Decision receives a lane's decision on a read (open: the lane raises
// the barrier for it). Decide must not block; calls after the first are
// ignored.
type Decision interface {
	Decide(open bool)
}

// Camera is an ANPR camera.
type Camera interface {
	Device
	// Events delivers decoded reports in order; closed by Halt.
	Events() <-chan PlateEvent
	// Trigger asks the camera to capture now.
	Trigger(ctx context.Context) error
	// Online reports whether the camera has been heard recently.
	Online() bool
}
