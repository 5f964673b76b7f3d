package sim

import (
	"errors"
	"time"

	"laned/hal"
	"laned/hal/clock"
)

// LaneConfig sets up a simulated lane.
type LaneConfig struct {
	Name       string        // e.g. "entry1"; device names derive from it
	Travel     time.Duration // the arm's travel time; 0 means DefaultTravel
	CameraAddr int           // 0 means 1
	StuckAfter time.Duration // loop stuck warning; 0 disables it
	// The barrier driver's settings (see BarrierConfig): worst-case
	// travel, level mode, pulse, limit switches. Zero values take
	// hal/gpio's defaults, a timeout of twice Travel, limit switches wired.
	Timeout  time.Duration
	Level    bool
	Pulse    time.Duration
	NoLimits bool
	// Debounce of the loops and limit switches; 0 means hal/gpio's default.
	Debounce time.Duration
}

// DefaultTravel is the simulated arm's travel time when none is given.
const DefaultTravel = 2 * time.Second

// Lane bundles the hardware of one lane: an arming loop in front of the
// barrier (where the camera reads), a safety loop under the arm, the
// barrier (watching the safety loop) and the camera. Loops and barrier
// are hal/gpio's drivers on simulated lines (see Loop and Barrier). Its
// methods script a vehicle; none of them moves the clock.
type Lane struct {
	Name    string
	Arming  *Loop
	Safety  *Loop
	Barrier *Barrier
	Camera  *Camera
}

// NewLane returns a lane: loops clear, arm down, camera online. A nil clk
// means the wall clock. Device names are "<name>/arming-loop",
// "<name>/safety-loop", "<name>/barrier" and "<name>/camera". It panics
// on a configuration OpenLane refuses (a negative duration).
func NewLane(clk clock.Clock, cfg LaneConfig) *Lane {
	l, err := OpenLane(clk, cfg)
	if err != nil {
		panic(err)
	}
	return l
}

// OpenLane is NewLane for a configuration from outside: it fails on a bad
// one, leaving nothing running.
func OpenLane(clk clock.Clock, cfg LaneConfig) (*Lane, error) {
	clk = clock.Or(clk)
	if cfg.CameraAddr == 0 {
		cfg.CameraAddr = 1
	}
	lc := LoopConfig{Debounce: cfg.Debounce, StuckAfter: cfg.StuckAfter}
	l := &Lane{Name: cfg.Name, Camera: NewCamera(cfg.Name+"/camera", cfg.CameraAddr, clk)}
	var err error
	if l.Arming, err = OpenLoop(cfg.Name+"/arming-loop", clk, lc); err != nil {
		l.Halt()
		return nil, err
	}
	if l.Safety, err = OpenLoop(cfg.Name+"/safety-loop", clk, lc); err != nil {
		l.Halt()
		return nil, err
	}
	l.Barrier, err = OpenBarrier(cfg.Name+"/barrier", clk, BarrierConfig{
		Travel: cfg.Travel, Timeout: cfg.Timeout, Level: cfg.Level, Pulse: cfg.Pulse,
		Debounce: cfg.Debounce, NoLimits: cfg.NoLimits,
	}, l.Safety)
	if err != nil {
		l.Halt()
		return nil, err
	}
	return l, nil
}

// Arrive puts a vehicle with plate on the arming loop; the loop triggers
// the camera (TriggerIO), which reads the plate. An empty plate is a
// vehicle without a plate. Later Triggers read it again.
func (l *Lane) Arrive(plate string) {
	l.Camera.SetVehicle(plate)
	l.Arming.Set(true)
	l.Camera.showVehicle(hal.TriggerIO)
}

// ArriveUnread puts a vehicle on the arming loop without the camera
// reading by itself: only a Trigger from the controller reads the plate.
func (l *Lane) ArriveUnread(plate string) {
	l.Camera.SetVehicle(plate)
	l.Arming.Set(true)
}

// PassThrough drives the vehicle under the barrier and away: safety loop
// occupied, arming loop clear, safety loop clear; the camera sees nobody.
func (l *Lane) PassThrough() {
	l.Safety.Set(true)
	l.Arming.Set(false)
	l.Camera.ClearVehicle()
	l.Safety.Set(false)
}

// Enter drives the vehicle from the arming loop under the arm and stops
// it there: safety loop occupied, arming loop clear. Leave finishes.
func (l *Lane) Enter() {
	l.Safety.Set(true)
	l.Arming.Set(false)
	l.Camera.ClearVehicle()
}

// Leave clears the safety loop: the vehicle has gone.
func (l *Lane) Leave() { l.Safety.Set(false) }

// Back reverses the vehicle off the arming loop without passing.
func (l *Lane) Back() {
	l.Arming.Set(false)
	l.Camera.ClearVehicle()
}

// Halt halts every device of the lane, relays first.
func (l *Lane) Halt() error {
	var errs []error
	if l.Barrier != nil {
		errs = append(errs, l.Barrier.Halt())
	}
	if l.Arming != nil {
		errs = append(errs, l.Arming.Halt())
	}
	if l.Safety != nil {
		errs = append(errs, l.Safety.Halt())
	}
	return errors.Join(append(errs, l.Camera.Halt())...)
}

// Devices returns the lane's devices as hal interfaces.
func (l *Lane) Devices() (arming, safety hal.Loop, barrier hal.Barrier, camera hal.Camera) {
	return l.Arming, l.Safety, l.Barrier, l.Camera
}

// Idle reports whether every event of the lane's devices has been taken.
func (l *Lane) Idle() bool {
	return l.Arming.Idle() && l.Safety.Idle() && l.Barrier.Idle() && l.Camera.Idle()
}
