package board

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"laned/hal"
)

// ErrInvalid is wrapped by every validation error: errors.Is(err,
// ErrInvalid) tells a bad configuration from missing hardware.
var ErrInvalid = errors.New("board: invalid configuration")

// ErrNoHardware is wrapped when the profile's hardware is absent (not
// the board named, no GPIO character device, a pin not found).
var ErrNoHardware = errors.New("board: hardware not found")

// Problem is one configuration mistake: its lane (empty for the board as
// a whole), its key as written in the configuration, and what is wrong.
type Problem struct {
	Lane, Key, Msg string
}

func (p Problem) String() string {
	switch {
	case p.Lane == "":
		return p.Key + ": " + p.Msg
	default:
		return "lane " + p.Lane + ": " + p.Key + ": " + p.Msg
	}
}

// Problems is the error Validate returns: every problem found.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "board: invalid configuration: " + strings.Join(s, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (ps Problems) Unwrap() error { return ErrInvalid }

// Validate checks the configuration with its defaults applied and returns
// Problems listing every mistake, or nil.
func (c Config) Validate() error {
	var ps Problems
	add := func(lane, key, format string, args ...any) {
		ps = append(ps, Problem{Lane: lane, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(Profiles, c.Profile) {
		add("", "profile", "unknown profile %q (want one of %s)", c.Profile, strings.Join(Profiles, ", "))
		return ps // pins cannot be judged without a profile
	}
	if c.Profile == ProfileGPIOChip && c.Chip == "" {
		add("", "chip", "the gpiochip profile needs a chip (name, label or path)")
	}
	r := c.WithDefaults()
	if len(r.Lanes) == 0 {
		add("", "lanes", "no lanes")
	}
	reserved := c.reservedPins(r)
	names := map[string]bool{}
	used := map[string]string{}   // pin key → its first use, "lane/key"
	buses := map[string]string{}  // "path#addr" → lane
	dePins := map[string]string{} // DE pin key → camera path
	for _, l := range r.Lanes {
		if names[l.Name] {
			add(l.Name, "name", "lane name used twice")
		}
		names[l.Name] = true
		if c.Profile != ProfileSim {
			pins := []struct {
				key      string
				spec     PinSpec
				optional bool
			}{
				{"arming_loop", l.ArmingLoop, false}, {"safety_loop", l.SafetyLoop, false},
				{"open_relay", l.OpenRelay, false}, {"close_relay", l.CloseRelay, false},
				{"stop_relay", l.StopRelay, true}, {"up_limit", l.UpLimit, true}, {"down_limit", l.DownLimit, true},
				{"safety_fault", l.SafetyFault, true},
			}
			for _, p := range pins {
				if p.spec.Pull != "" && !slices.Contains(Pulls, p.spec.Pull) {
					add(l.Name, p.key+".pull", "unknown pull %q (up, down, none)", p.spec.Pull)
				}
				key := p.key + ".pin"
				if !p.spec.Wired() {
					if !p.optional {
						add(l.Name, key, "required pin missing")
					}
					continue
				}
				k, err := pinKey(c.Profile, p.spec.Pin)
				if err != nil {
					add(l.Name, key, "%v", err)
					continue
				}
				if why, ok := reserved[k]; ok {
					add(l.Name, key, "%s is %s: wire the %s elsewhere", k, why, strings.ReplaceAll(p.key, "_", " "))
					continue
				}
				if first, dup := used[k]; dup {
					add(l.Name, key, "pin %s already used by %s", p.spec.Pin, first)
					continue
				}
				used[k] = l.Name + "/" + p.key
			}
		}
		durations := []struct {
			key      string
			d        Duration
			min, max time.Duration
		}{
			{"pulse", l.Pulse, time.Millisecond, 10 * time.Second},
			{"travel", l.Travel, time.Millisecond, 2 * time.Minute},
			{"debounce", l.Debounce, time.Millisecond, hal.MaxDebounce},
			{"stuck_after", l.StuckAfter, time.Second, 24 * time.Hour},
		}
		for _, d := range durations {
			if d.d.D() < d.min || d.d.D() > d.max {
				add(l.Name, d.key, "%s out of range [%s, %s]", d.d, d.min, d.max)
			}
		}
		cp := l.Camera
		if cp.Network {
			continue // a network camera: no serial line
		}
		if c.Profile == ProfileSim {
			if cp.Path == "" {
				continue // a simulated camera
			}
			if cp.DEPin != "" && cp.DEPin != None {
				add(l.Name, "camera.de_pin", "the sim profile has no GPIO: use a USB RS-485 adapter that switches direction itself and leave de_pin unset")
			}
		}
		if cp.Path == "" {
			add(l.Name, "camera.path", "serial device missing")
		} else {
			bus := cp.Path + "#" + strconv.Itoa(cp.Addr)
			if other, dup := buses[bus]; dup {
				add(l.Name, "camera.addr", "address %d on %s already used by lane %s", cp.Addr, cp.Path, other)
			}
			buses[bus] = l.Name
		}
		if !slices.Contains([]int{9600, 19200, 38400, 57600, 115200}, cp.Baud) {
			add(l.Name, "camera.baud", "unsupported baud rate %d (9600, 19200, 38400, 57600, 115200)", cp.Baud)
		}
		if !slices.Contains([]string{"none", "odd", "even"}, cp.Parity) {
			add(l.Name, "camera.parity", "unknown parity %q (none, odd, even)", cp.Parity)
		}
		if !slices.Contains([]string{"lane-frame", "template"}, cp.Codec) {
			add(l.Name, "camera.codec", "unknown codec %q (lane-frame, template)", cp.Codec)
		}
		if cp.Addr < 1 || cp.Addr > 247 {
			add(l.Name, "camera.addr", "address %d out of range 1–247", cp.Addr)
		}
		switch cp.RS485 {
		case "auto", "kernel":
		case "gpio":
			if cp.DEPin == "" || cp.DEPin == None {
				add(l.Name, "camera.de_pin", "rs485 gpio mode needs a driver-enable pin")
			}
		default:
			add(l.Name, "camera.rs485", "unknown mode %q (auto, kernel, gpio)", cp.RS485)
		}
		if cp.RS485 != "kernel" && cp.DEPin != "" && cp.DEPin != None && c.Profile != ProfileSim {
			k, err := pinKey(c.Profile, cp.DEPin)
			switch {
			case err != nil:
				add(l.Name, "camera.de_pin", "%v", err)
			case reserved[k] != "":
				add(l.Name, "camera.de_pin", "%s is %s: wire DE elsewhere", k, reserved[k])
			case used[k] != "":
				add(l.Name, "camera.de_pin", "pin %s already used by %s", cp.DEPin, used[k])
			case dePins[k] != "" && dePins[k] != cp.Path:
				add(l.Name, "camera.de_pin", "pin %s already drives the bus on %s", cp.DEPin, dePins[k])
			default:
				dePins[k] = cp.Path
			}
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// reservedPins maps the pin keys a Pi profile must not use to why: the
// HAT ID EEPROM's bus, I²C1, the camera UART's TX/RX while a lane's
// camera is on the header's UART, and its RTS (GPIO17) when that camera
// runs the kernel's RS-485 mode (RTS drives the transceiver's DE).
func (c Config) reservedPins(r Config) map[string]string {
	if !isPi(c.Profile) {
		return nil
	}
	res := map[string]string{
		"GPIO0": "ID_SD, the HAT ID EEPROM's I²C (read by the firmware at boot)",
		"GPIO1": "ID_SC, the HAT ID EEPROM's I²C (read by the firmware at boot)",
		"GPIO2": "SDA1, I²C (fixed 1.8 kΩ pull-up on the board; RTC and other HATs)",
		"GPIO3": "SCL1, I²C (fixed 1.8 kΩ pull-up on the board; RTC and other HATs)",
	}
	for _, l := range r.Lanes {
		if !IsHeaderUART(c.Profile, l.Camera.Path) {
			continue
		}
		res["GPIO14"] = "TXD of the camera's UART (" + l.Camera.Path + ")"
		res["GPIO15"] = "RXD of the camera's UART (" + l.Camera.Path + ")"
		if l.Camera.RS485 == "kernel" {
			res["GPIO17"] = "RTS of the camera's UART (" + l.Camera.Path + "), which drives the transceiver's DE in rs485 kernel mode"
		}
	}
	return res
}

// pinKey normalises a pin for the duplicate check and rejects names the
// profile cannot have: on the Pi profiles GPIO0–GPIO27 (or 0–27); on
// gpiochip any line name or offset.
func pinKey(profile, pin string) (string, error) {
	if isPi(profile) {
		n, ok := bcm(pin)
		if !ok {
			return "", fmt.Errorf("unknown pin %q (want GPIO0–GPIO27 or 0–27, BCM numbering)", pin)
		}
		return "GPIO" + strconv.Itoa(n), nil
	}
	if n, err := strconv.Atoi(pin); err == nil {
		if n < 0 {
			return "", fmt.Errorf("negative line %d", n)
		}
		return "line:" + strconv.Itoa(n), nil
	}
	if strings.TrimSpace(pin) != pin || pin == "" {
		return "", fmt.Errorf("bad line name %q", pin)
	}
	return "name:" + pin, nil
}

// bcm parses "GPIO17" or "17" as a header GPIO of a Pi.
func bcm(pin string) (int, bool) {
	s := strings.TrimPrefix(strings.ToUpper(pin), "GPIO")
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 27 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}
