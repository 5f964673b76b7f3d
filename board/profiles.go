package board

import (
	"fmt"
	"strings"
	"time"

	"laned/hal/gpio"
)

// Profile names.
const (
	ProfileRPi3     = "rpi3"
	ProfileRPi4     = "rpi4"
	ProfileRPi5     = "rpi5"
	ProfileGPIOChip = "gpiochip"
	ProfileSim      = "sim"
)

// Profiles lists the known profile names.
var Profiles = []string{ProfileRPi3, ProfileRPi4, ProfileRPi5, ProfileGPIOChip, ProfileSim}

// Defaults applied to zero lane settings.
const (
	DefaultPulse      = gpio.DefaultPulse
	DefaultTravel     = gpio.DefaultTravel
	DefaultDebounce   = gpio.DefaultDebounce
	DefaultStuckAfter = 10 * time.Minute
	DefaultBaud       = 115200
	DefaultCodec      = "lane-frame"
	DefaultRS485      = "auto"
	DefaultParity     = "none"
)

func isPi(profile string) bool {
	return profile == ProfileRPi3 || profile == ProfileRPi4 || profile == ProfileRPi5
}

func lo(pin string) PinSpec { return PinSpec{Pin: pin, ActiveLow: true} }

// hi is an active-high input: the default of the safety loop, wired to the
// detector's fail-safe (normally-closed) output against the pull-up, so
// that a cut wire or a detector without power reads occupied.
func hi(pin string) PinSpec { return PinSpec{Pin: pin} }

// piLanes is the default wiring of the Pi profiles (BCM numbering, the
// 40-pin header of the Pi 3, 4 and 5 alike); see README.md. Only the
// camera's UART differs: GPIO14/15 is /dev/serial0 on a Pi 3 or 4, but on
// a Pi 5 /dev/serial0 is the 3-pin debug UART (ttyAMA10) and GPIO14/15 is
// UART0, /dev/ttyAMA0 once config.txt has dtparam=uart0=on.
func piLanes(profile string) []LaneConfig {
	uart := "/dev/serial0"
	if profile == ProfileRPi5 {
		uart = "/dev/ttyAMA0"
	}
	return []LaneConfig{
		{
			Name:       "lane1",
			ArmingLoop: lo("GPIO17"), SafetyLoop: hi("GPIO27"), SafetyFault: PinSpec{Pin: None},
			OpenRelay: lo("GPIO5"), CloseRelay: lo("GPIO6"), StopRelay: lo("GPIO13"),
			UpLimit: PinSpec{Pin: None}, DownLimit: PinSpec{Pin: None},
			Camera: CameraPort{Path: uart, Addr: 1, DEPin: "GPIO4"},
		},
		{
			Name:       "lane2",
			ArmingLoop: lo("GPIO22"), SafetyLoop: hi("GPIO23"), SafetyFault: PinSpec{Pin: None},
			OpenRelay: lo("GPIO19"), CloseRelay: lo("GPIO26"), StopRelay: lo("GPIO21"),
			UpLimit: PinSpec{Pin: None}, DownLimit: PinSpec{Pin: None},
			Camera: CameraPort{Path: uart, Addr: 2, DEPin: "GPIO4"},
		},
	}
}

// WithDefaults returns c with the profile's default lanes and pins and the
// default settings filled in. It does not validate.
func (c Config) WithDefaults() Config {
	out := c
	var defs []LaneConfig
	switch {
	case isPi(c.Profile):
		defs = piLanes(c.Profile)
	case c.Profile == ProfileSim:
		defs = []LaneConfig{{Name: "lane1"}, {Name: "lane2"}}
	}
	if len(c.Lanes) == 0 {
		out.Lanes = defs
	} else {
		out.Lanes = make([]LaneConfig, len(c.Lanes))
		for i, l := range c.Lanes {
			if i < len(defs) {
				l = merge(l, defs[i])
			}
			out.Lanes[i] = l
		}
	}
	for i := range out.Lanes {
		l := &out.Lanes[i]
		if l.Name == "" {
			l.Name = fmt.Sprintf("lane%d", i+1)
		}
		for _, p := range []*PinSpec{&l.StopRelay, &l.UpLimit, &l.DownLimit, &l.SafetyFault} {
			if p.Pin == "" {
				p.Pin = None
			}
		}
		if l.Pulse == 0 {
			l.Pulse = Duration(DefaultPulse)
		}
		if l.Travel == 0 {
			l.Travel = Duration(DefaultTravel)
		}
		if l.Debounce == 0 {
			l.Debounce = Duration(DefaultDebounce)
		}
		if l.StuckAfter == 0 {
			l.StuckAfter = Duration(DefaultStuckAfter)
		}
		cp := &l.Camera
		if cp.Baud == 0 {
			cp.Baud = DefaultBaud
		}
		if cp.Parity == "" {
			cp.Parity = DefaultParity
		}
		if cp.Codec == "" {
			cp.Codec = DefaultCodec
		}
		if cp.RS485 == "" {
			cp.RS485 = DefaultRS485
		}
		if cp.Addr == 0 {
			cp.Addr = i + 1
		}
	}
	return out
}

// merge fills the empty fields of l from def.
func merge(l, def LaneConfig) LaneConfig {
	if l.Name == "" {
		l.Name = def.Name
	}
	pins := []struct{ p, d *PinSpec }{
		{&l.ArmingLoop, &def.ArmingLoop}, {&l.SafetyLoop, &def.SafetyLoop},
		{&l.OpenRelay, &def.OpenRelay}, {&l.CloseRelay, &def.CloseRelay}, {&l.StopRelay, &def.StopRelay},
		{&l.UpLimit, &def.UpLimit}, {&l.DownLimit, &def.DownLimit}, {&l.SafetyFault, &def.SafetyFault},
	}
	for _, x := range pins {
		if x.p.Pin == "" {
			*x.p = *x.d
		}
	}
	if l.Camera.Path == "" {
		l.Camera.Path = def.Camera.Path
	}
	if l.Camera.Addr == 0 {
		l.Camera.Addr = def.Camera.Addr
	}
	if l.Camera.DEPin == "" {
		l.Camera.DEPin = def.Camera.DEPin
		if IsUSBSerial(l.Camera.Path) {
			l.Camera.DEPin = None // an adapter switches direction itself: not the HAT's pin
		}
	}
	return l
}

// IsUSBSerial reports whether path names a USB serial adapter
// (/dev/ttyUSB*, /dev/ttyACM*, /dev/serial/by-id/…, /dev/serial/by-path/…),
// whose RS-485 transceiver switches direction itself.
func IsUSBSerial(path string) bool {
	for _, p := range []string{"/dev/ttyUSB", "/dev/ttyACM", "/dev/serial/by-"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// IsHeaderUART reports whether path is, on a Pi profile, a UART on the
// 40-pin header's GPIO14/15: /dev/ttyAMA0 (UART0, the PL011), /dev/ttyS0
// (the mini-UART of a Pi 3 or 4) and, on a Pi 3 or 4, /dev/serial0 (the
// "primary UART", one of those two). On a Pi 5 /dev/serial0 is the debug
// UART (ttyAMA10), not on the header.
func IsHeaderUART(profile, path string) bool {
	switch path {
	case "/dev/ttyAMA0":
		return isPi(profile)
	case "/dev/serial0", "/dev/ttyS0":
		return profile == ProfileRPi3 || profile == ProfileRPi4
	}
	return false
}
