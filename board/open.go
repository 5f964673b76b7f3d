package board

import (
	"context"
	"errors"
	"fmt"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/gpio"
	"laned/hal/sim"
)

// Board is an opened profile: the hal devices of every lane.
type Board struct {
	Profile string
	Lanes   []*Lane
}

// Lane is the hardware of one lane.
type Lane struct {
	Name    string
	Arming  hal.Loop
	Safety  hal.Loop
	Barrier hal.Barrier
	// Camera is the lane's camera: the sim camera on the sim profile, the
	// one Config.OpenCamera returned on real profiles, else nil.
	Camera hal.Camera
	// Port is the camera's settings (with defaults applied).
	Port CameraPort
	// Sim is the scripting handle of a sim lane; nil on real profiles.
	Sim *sim.Lane
	// Config is the lane's configuration with defaults applied.
	Config LaneConfig
}

// Lane returns the lane named name, or nil.
func (b *Board) Lane(name string) *Lane {
	for _, l := range b.Lanes {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// Halt halts every device: relays released, inputs no longer watched,
// event channels closed. It is idempotent.
func (b *Board) Halt() error {
	var errs []error
	for _, l := range b.Lanes {
		errs = append(errs, l.halt())
	}
	return errors.Join(errs...)
}

func (l *Lane) halt() error {
	var errs []error
	for _, d := range []hal.Device{l.Barrier, l.Arming, l.Safety, l.Camera} { // relays first
		if d != nil {
			errs = append(errs, d.Halt())
		}
	}
	if l.Sim != nil {
		errs = append(errs, l.Sim.Halt()) // its camera, when a real one replaced it
	}
	return errors.Join(errs...)
}

// Open validates cfg and turns its profile into hal devices. On the sim
// profile the devices are hal/sim's, except a camera whose port has a path:
// that one is Config.OpenCamera's, as on real profiles; on the others the pins come from
// Config.Pins or the host (periph host.Init, then gpioreg for rpi3/rpi4 and
// the GPIO character device for rpi5 and gpiochip). Missing hardware is
// an error wrapping ErrNoHardware, never a panic. On error nothing stays
// open.
func Open(ctx context.Context, cfg Config) (*Board, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("board: open: %w", err)
	}
	r := cfg.WithDefaults()
	b := &Board{Profile: r.Profile}
	if r.Profile == ProfileSim {
		for _, lc := range r.Lanes {
			sl, err := sim.OpenLane(cfg.Clock, simLane(lc))
			if err != nil {
				b.Halt()
				return nil, fmt.Errorf("board: lane %s: %w", lc.Name, err)
			}
			l := &Lane{
				Name: lc.Name, Arming: sl.Arming, Safety: sl.Safety, Barrier: sl.Barrier, Camera: sl.Camera,
				Port: lc.Camera, Sim: sl, Config: lc,
			}
			b.Lanes = append(b.Lanes, l)
			if lc.Camera.Path == "" {
				continue
			}
			// Bench commissioning: a real camera on a serial port (a USB
			// adapter on a laptop) in front of the simulated lane.
			l.Camera = nil
			if cfg.OpenCamera != nil {
				cam, err := cfg.OpenCamera(ctx, lc.Name+"/camera", lc.Camera)
				if err != nil {
					b.Halt()
					return nil, fmt.Errorf("board: lane %s: camera %s: %w", lc.Name, lc.Camera.Path, err)
				}
				l.Camera = cam
			}
		}
		return b, nil
	}
	pins, err := r.PinSource()
	if err != nil {
		return nil, err
	}
	for _, lc := range r.Lanes {
		l, err := openLane(ctx, r, lc, pins)
		if err != nil {
			b.Halt()
			return nil, err
		}
		b.Lanes = append(b.Lanes, l)
	}
	return b, nil
}

// PinSource returns the pins of a real profile: Config.Pins when set, else
// the host's (periph host.Init, then the profile's driver). It is how
// Open finds every relay, input and driver-enable pin, and how the field
// tools (laned io, laned camera listen) find them without opening the
// whole board. The sim profile has no pins.
func (c Config) PinSource() (PinSource, error) {
	if c.Pins != nil {
		return c.Pins, nil
	}
	if c.Profile == ProfileSim {
		return nil, fmt.Errorf("board: the sim profile has no GPIO pins: %w", ErrNoHardware)
	}
	return hostPins(c.Profile, c.Chip)
}

// simLane is the sim profile's lane: hal/gpio's drivers on simulated lines
// (limit switches always wired) with the lane's driver settings. Travel
// is the driver's worst case; the simulated arm takes two thirds of it.
func simLane(lc LaneConfig) sim.LaneConfig {
	return sim.LaneConfig{
		Name: lc.Name, CameraAddr: lc.Camera.Addr, StuckAfter: lc.StuckAfter.D(),
		Travel: lc.Travel.D() * 2 / 3, Timeout: lc.Travel.D(),
		Level: lc.Level, Pulse: lc.Pulse.D(), Debounce: lc.Debounce.D(),
	}
}

func openLane(ctx context.Context, cfg Config, lc LaneConfig, pins PinSource) (l *Lane, err error) {
	l = &Lane{Name: lc.Name, Port: lc.Camera, Config: lc}
	defer func() {
		if err != nil {
			l.halt()
		}
	}()
	clk := clock.Or(cfg.Clock)
	pin := func(key string, s PinSpec) (gpioPin, error) {
		if !s.Wired() {
			return nil, nil
		}
		p, err := pins.Pin(s.Pin)
		if err != nil {
			return nil, fmt.Errorf("board: lane %s: %s %s: %w", lc.Name, key, s.Pin, err)
		}
		return p, nil
	}
	loop := func(key, suffix string, s, fault PinSpec) (*gpio.Loop, error) {
		p, err := pin(key, s)
		if err != nil {
			return nil, err
		}
		lcfg := gpio.LoopConfig{
			Name: lc.Name + "/" + suffix, ActiveLow: s.ActiveLow, Pull: s.pull(),
			Debounce: lc.Debounce.D(), StuckAfter: lc.StuckAfter.D(), Clock: clk, Logger: cfg.Logger,
		}
		if fault.Wired() {
			f, err := pin("safety_fault", fault)
			if err != nil {
				return nil, err
			}
			lcfg.Fault, lcfg.FaultActiveLow, lcfg.FaultPull = f, fault.ActiveLow, fault.pull()
		}
		lp, err := gpio.NewLoop(p, lcfg)
		if err != nil {
			return nil, fmt.Errorf("board: lane %s: %s: %w", lc.Name, key, err)
		}
		return lp, nil
	}
	if l.Arming, err = loop("arming_loop", "arming-loop", lc.ArmingLoop, PinSpec{}); err != nil {
		return nil, err
	}
	if l.Safety, err = loop("safety_loop", "safety-loop", lc.SafetyLoop, lc.SafetyFault); err != nil {
		return nil, err
	}
	bc := gpio.BarrierConfig{
		Name: lc.Name + "/barrier", Pulse: lc.Pulse.D(), Travel: lc.Travel.D(), Debounce: lc.Debounce.D(),
		Clock: clk, Logger: cfg.Logger,
	}
	if lc.Level {
		bc.Mode = gpio.Level
	}
	relays := []struct {
		key  string
		spec PinSpec
		dst  *gpio.Relay
	}{{"open_relay", lc.OpenRelay, &bc.Open}, {"close_relay", lc.CloseRelay, &bc.Close}, {"stop_relay", lc.StopRelay, &bc.Stop}}
	for _, r := range relays {
		p, err := pin(r.key, r.spec)
		if err != nil {
			return nil, err
		}
		if p != nil {
			*r.dst = gpio.Relay{Pin: p, ActiveLow: r.spec.ActiveLow}
		}
	}
	limits := []struct {
		key  string
		spec PinSpec
		dst  *gpio.Switch
	}{{"up_limit", lc.UpLimit, &bc.Up}, {"down_limit", lc.DownLimit, &bc.Down}}
	for _, s := range limits {
		p, err := pin(s.key, s.spec)
		if err != nil {
			return nil, err
		}
		if p != nil {
			*s.dst = gpio.Switch{Pin: p, ActiveLow: s.spec.ActiveLow, Pull: s.spec.pull()}
		}
	}
	if l.Barrier, err = gpio.NewBarrier(bc); err != nil {
		return nil, fmt.Errorf("board: lane %s: barrier: %w", lc.Name, err)
	}
	if cfg.OpenCamera != nil {
		port := lc.Camera
		if port.RS485 != "kernel" && port.DEPin != "" && port.DEPin != None {
			p, err := pin("camera.de_pin", PinSpec{Pin: port.DEPin})
			if err != nil {
				return nil, err
			}
			port.DE = p
		}
		l.Port = port
		if l.Camera, err = cfg.OpenCamera(ctx, lc.Name+"/camera", port); err != nil {
			return nil, fmt.Errorf("board: lane %s: camera %s: %w", lc.Name, lc.Camera.Path, err)
		}
	}
	return l, nil
}
