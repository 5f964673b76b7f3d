package board

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	pgpio "periph.io/x/conn/v3/gpio"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/gpio"
)

// Config chooses a board profile and describes its lanes. It is plain data
// with snake_case toml tags so that a TOML file decodes into it; the
// fields tagged toml:"-" are runtime hooks set by the caller.
type Config struct {
	// Profile is one of rpi3, rpi4, rpi5, gpiochip, sim.
	Profile string `toml:"profile"`
	// Chip selects the GPIO character device for gpiochip (required) and
	// rpi5 (default: the chip labelled pinctrl-rp1, else gpiochip4): a
	// chip name ("gpiochip4"), label ("pinctrl-rp1") or path.
	Chip string `toml:"chip"`
	// Lanes, in order. For the Pi profiles a lane takes the default pins
	// of the lane at the same index for every pin it leaves empty; with no
	// lanes at all the profile's default lanes are used. The sim profile
	// defaults to two lanes, lane1 and lane2.
	Lanes []LaneConfig `toml:"lanes"`

	// Clock drives debounce, pulses, travel and the sim; nil: wall clock.
	Clock clock.Clock `toml:"-"`
	// Logger; nil discards.
	Logger *slog.Logger `toml:"-"`
	// OpenCamera, when set, opens each lane's camera from its CameraPort
	// (real profiles, and sim lanes whose camera has a path: a real camera
	// on a bench; other sim lanes have simulated cameras). Left nil,
	// Lane.Camera stays nil and the caller opens cameras from Lane.Port.
	OpenCamera CameraOpener `toml:"-"`
	// Pins, when set, replaces the host's GPIO (host.Init, gpioreg,
	// gpioioctl) for real profiles: for tests with gpiotest pins and for
	// exotic boards.
	Pins PinSource `toml:"-"`
}

// LaneConfig is the hardware of one lane.
type LaneConfig struct {
	Name       string  `toml:"name"`
	ArmingLoop PinSpec `toml:"arming_loop"` // the loop in front of the barrier, where the camera reads
	SafetyLoop PinSpec `toml:"safety_loop"` // the loop under the arm
	// SafetyFault is the safety loop detector's fault output (optional):
	// while active, the safety loop reads occupied.
	SafetyFault PinSpec `toml:"safety_fault"`
	OpenRelay   PinSpec `toml:"open_relay"`
	CloseRelay  PinSpec `toml:"close_relay"`
	StopRelay   PinSpec `toml:"stop_relay"` // optional
	UpLimit     PinSpec `toml:"up_limit"`   // optional limit switch
	DownLimit   PinSpec `toml:"down_limit"` // optional limit switch
	// Level drives the relays in level mode instead of pulses.
	Level      bool       `toml:"level"`
	Pulse      Duration   `toml:"pulse"`       // relay pulse; default 500ms
	Travel     Duration   `toml:"travel"`      // arm travel time / limit switch timeout; default 6s
	Debounce   Duration   `toml:"debounce"`    // loop and limit switch debounce; default 30ms
	StuckAfter Duration   `toml:"stuck_after"` // loop stuck warning; default 10m, "0s" keeps the default
	Camera     CameraPort `toml:"camera"`
}

// PinSpec names a GPIO. Pin is a name ("GPIO17") or a number: the BCM
// number on the Pi profiles, the line offset on the chip for gpiochip. An
// empty Pin takes the profile's default (pin and active level together);
// "none" leaves an optional pin unwired.
//
// ActiveLow: for an input, Low means active (a loop occupied, a limit
// reached: a contact closing to ground against the pull-up); for a relay,
// driving Low energises it (most opto-isolated relay boards).
//
// Pull is an input's bias: "up" (the default), "down" or "none" (an
// external resistor, a driven output). A loop fails safe — a cut wire or
// a detector without power reads occupied — when active-high with the
// pull-up (a normally-closed contact to ground) or active-low with the
// pull-down.
type PinSpec struct {
	Pin       string `toml:"pin"`
	ActiveLow bool   `toml:"active_low"`
	Pull      string `toml:"pull"`
}

// Pulls lists the values of PinSpec.Pull ("" is "up").
var Pulls = []string{"up", "down", "none"}

// pull is the hal/gpio bias of a valid PinSpec.Pull.
func (p PinSpec) pull() gpio.Pull {
	switch p.Pull {
	case "down":
		return gpio.PullDown
	case "none":
		return gpio.PullNone
	}
	return gpio.PullUp
}

// FailSafe reports whether a cut wire on this input reads active (for a
// loop: occupied), and says why in words for a technician.
func (p PinSpec) FailSafe() (bool, string) {
	pull := p.pull()
	level := "active-high"
	if p.ActiveLow {
		level = "active-low"
	}
	desc := level + ", " + pull.String()
	if pull == gpio.PullNone {
		return false, desc + ": a cut wire floats (fail-safe only if the detector's output drives the line both ways and idles active)"
	}
	if gpio.CutReadsActive(p.ActiveLow, pull) {
		return true, desc + ": fail-safe, a cut wire or a dead detector reads occupied (normally-closed output)"
	}
	return false, desc + ": NOT fail-safe, a cut wire or a dead detector reads free (normally-open output)"
}

// None is the Pin value of an optional pin left unwired.
const None = "none"

// Wired reports whether the spec names a pin.
func (p PinSpec) Wired() bool { return p.Pin != "" && p.Pin != None }

// CameraPort is how a lane's camera is reached: plain settings for
// hal/camera, which board does not import.
type CameraPort struct {
	Path   string `toml:"path"`   // serial device, e.g. /dev/ttyAMA0; required except on sim, where it puts a real camera in front of the simulated lane
	Baud   int    `toml:"baud"`   // default 115200
	Parity string `toml:"parity"` // none (default), odd, even
	Codec  string `toml:"codec"`  // lane-frame (default) or template
	Addr   int    `toml:"addr"`   // bus address 1–247; default the lane's position (1, 2, …)
	// RS485 is how the transmitter is enabled: "kernel" (the UART's
	// RS-485 mode, TIOCSRS485, toggling RTS), "gpio" (DEPin driven around
	// each write) or "auto" (DEPin driven around each write when one is
	// set, else an auto-direction transceiver is assumed). Default auto.
	RS485 string `toml:"rs485"`
	DEPin string `toml:"de_pin"` // driver-enable pin for rs485 gpio/auto, e.g. GPIO4

	// DE is DEPin resolved by Open through the profile's pin source (the
	// same one as the relays'), handed to Config.OpenCamera; nil when no
	// pin drives DE (rs485 kernel, or none wired).
	DE pgpio.PinOut `toml:"-"`
}

// CameraOpener opens a lane's camera; cmd plugs hal/camera in here.
type CameraOpener func(ctx context.Context, name string, port CameraPort) (hal.Camera, error)

// PinSource finds a GPIO by the Pin of a PinSpec.
type PinSource interface {
	Pin(name string) (pgpio.PinIO, error)
}

// Duration is a time.Duration written as text in configuration ("500ms",
// "6s", "10m").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("board: duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}
