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
	Travel     time.Duration // barrier travel time; 0 means DefaultTravel
	CameraAddr int           // 0 means 1
	StuckAfter time.Duration // loop stuck warning; 0 disables it
}

// DefaultTravel is the simulated barrier's travel time when none is given.
const DefaultTravel = 2 * time.Second

// Lane bundles the hardware of one lane: an arming loop in front of the
// barrier (where the camera reads), a safety loop under the arm, the
// barrier (watching the safety loop) and the camera. Its methods script a
// vehicle; none of them moves the clock.
type Lane struct {
	Name    string
	Arming  *Loop
	Safety  *Loop
	Barrier *Barrier
	Camera  *Camera
}

// NewLane returns a lane: loops clear, arm down, camera online. A nil clk
// means the wall clock. Device names are "<name>/arming-loop",
// "<name>/safety-loop", "<name>/barrier" and "<name>/camera".
func NewLane(clk clock.Clock, cfg LaneConfig) *Lane {
	clk = clock.Or(clk)
	if cfg.Travel == 0 {
		cfg.Travel = DefaultTravel
	}
	if cfg.CameraAddr == 0 {
		cfg.CameraAddr = 1
	}
	l := &Lane{
		Name:   cfg.Name,
		Arming: NewLoop(cfg.Name+"/arming-loop", clk),
		Safety: NewLoop(cfg.Name+"/safety-loop", clk),
		Camera: NewCamera(cfg.Name+"/camera", cfg.CameraAddr, clk),
	}
	l.Arming.SetStuckAfter(cfg.StuckAfter)
	l.Safety.SetStuckAfter(cfg.StuckAfter)
	l.Barrier = NewBarrier(cfg.Name+"/barrier", clk, cfg.Travel, l.Safety)
	return l
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

// Halt halts every device of the lane.
func (l *Lane) Halt() error {
	return errors.Join(l.Arming.Halt(), l.Safety.Halt(), l.Barrier.Halt(), l.Camera.Halt())
}

// Devices returns the lane's devices as hal interfaces.
func (l *Lane) Devices() (arming, safety hal.Loop, barrier hal.Barrier, camera hal.Camera) {
	return l.Arming, l.Safety, l.Barrier, l.Camera
}

// Idle reports whether every event of the lane's devices has been taken.
func (l *Lane) Idle() bool {
	return l.Arming.Idle() && l.Safety.Idle() && l.Barrier.Idle() && l.Camera.Idle()
}
