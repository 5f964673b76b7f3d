package sim

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/internal/evq"
)

// Camera is a simulated ANPR camera. A script makes it report (Show,
// ShowNoPlate, Heartbeat, SetOnline); it records every Trigger and, when a
// vehicle stands at it (SetVehicle), answers a Trigger with that vehicle's
// read. It starts online, with no vehicle, answering triggers.
type Camera struct {
	name string
	addr int
	clk  clock.Clock
	q    *evq.Queue[hal.PlateEvent]

	mu       sync.Mutex
	online   bool
	vehicle  *read
	answer   bool
	triggers []time.Time
	halted   bool
}

type read struct {
	plate        string // "" = a vehicle without a plate
	colour, conf int
}

var _ hal.Camera = (*Camera)(nil)

// NewCamera returns a camera at bus address addr. A nil clk means the wall
// clock.
func NewCamera(name string, addr int, clk clock.Clock) *Camera {
	return &Camera{
		name: name, addr: addr, clk: clock.Or(clk),
		q:      evq.New[hal.PlateEvent](eventBuffer),
		online: true, answer: true,
	}
}

func (c *Camera) String() string { return c.name }

// Events delivers the camera's reports in order; Halt closes it.
func (c *Camera) Events() <-chan hal.PlateEvent { return c.q.Out() }

// Online reports whether the camera is online.
func (c *Camera) Online() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

// Show reports a plate read by the camera's own detection (TriggerAuto).
// Reports made while offline are lost, as on a dead link.
func (c *Camera) Show(plate string, colour, conf int) {
	c.ShowEvent(hal.PlateEvent{Kind: hal.KindPlate, Plate: plate, Colour: colour, Conf: conf, Trigger: hal.TriggerAuto})
}

// ShowNoPlate reports a vehicle without a plate (无牌车).
func (c *Camera) ShowNoPlate() {
	c.ShowEvent(hal.PlateEvent{Kind: hal.KindNoPlate, Colour: hal.ColourUnknown, Trigger: hal.TriggerAuto})
}

// Heartbeat reports the camera alive with status 0.
func (c *Camera) Heartbeat() { c.HeartbeatStatus(0) }

// HeartbeatStatus reports the camera alive with a status (0 ok, else the
// camera's fault code).
func (c *Camera) HeartbeatStatus(status int) {
	c.ShowEvent(hal.PlateEvent{Kind: hal.KindHeartbeat, Colour: hal.ColourUnknown, Status: status})
}

// ShowEvent reports ev as is, filling Camera, Addr, At (the clock's time)
// and CameraTime (the same, to the second) when they are zero. It is the
// escape hatch for reports Show does not cover (a trigger kind, a skewed
// camera clock). Reports made while offline are lost.
func (c *Camera) ShowEvent(ev hal.PlateEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted || !c.online {
		return
	}
	c.pushLocked(ev)
}

// pushLocked must be called with c.mu held.
func (c *Camera) pushLocked(ev hal.PlateEvent) {
	now := c.clk.Now()
	if ev.Camera == "" {
		ev.Camera = c.name
	}
	if ev.Addr == 0 {
		ev.Addr = c.addr
	}
	if ev.At.IsZero() {
		ev.At = now
	}
	if ev.CameraTime.IsZero() && (ev.Kind == hal.KindPlate || ev.Kind == hal.KindNoPlate || ev.Kind == hal.KindHeartbeat) {
		ev.CameraTime = now.Truncate(time.Second)
	}
	c.q.Push(ev)
}

// SetOnline brings the link up or down; a change emits KindOnline or
// KindOffline.
func (c *Camera) SetOnline(online bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted || c.online == online {
		return
	}
	c.online = online
	ev := hal.PlateEvent{Kind: hal.KindOnline, Colour: hal.ColourUnknown}
	if !online {
		ev.Kind, ev.Detail = hal.KindOffline, "sim: link down"
	}
	c.pushLocked(ev)
}

// SetVehicle puts a vehicle in front of the camera; a Trigger is answered
// with its plate (read blue, or green for an 8-character new-energy
// plate, confidence 95). An empty plate is a vehicle without a plate.
func (c *Camera) SetVehicle(plate string) {
	colour := hal.ColourBlue
	if utf8.RuneCountInString(plate) == 8 {
		colour = hal.ColourGreen
	}
	c.SetVehicleRead(plate, colour, 95)
}

// SetVehicleRead is SetVehicle with the colour and confidence of the read.
func (c *Camera) SetVehicleRead(plate string, colour, conf int) {
	c.mu.Lock()
	c.vehicle = &read{plate: plate, colour: colour, conf: conf}
	c.mu.Unlock()
}

// ClearVehicle leaves nobody in front of the camera.
func (c *Camera) ClearVehicle() {
	c.mu.Lock()
	c.vehicle = nil
	c.mu.Unlock()
}

// SetAnswerTriggers chooses whether a Trigger with a vehicle present is
// answered (the default) or only recorded.
func (c *Camera) SetAnswerTriggers(answer bool) {
	c.mu.Lock()
	c.answer = answer
	c.mu.Unlock()
}

// Trigger records the request and, when a vehicle stands at the camera,
// reports its read with TriggerSoftware. It fails with ErrOffline while
// offline (the request is still recorded).
func (c *Camera) Trigger(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim: %s trigger: %w", c.name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted {
		return fmt.Errorf("sim: %s trigger: %w", c.name, ErrHalted)
	}
	c.triggers = append(c.triggers, c.clk.Now())
	if !c.online {
		return fmt.Errorf("sim: %s trigger: %w", c.name, ErrOffline)
	}
	if c.answer && c.vehicle != nil {
		c.pushLocked(c.vehicle.event(hal.TriggerSoftware))
	}
	return nil
}

// showVehicle reports the vehicle present, if any, with trigger t.
func (c *Camera) showVehicle(t hal.Trigger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.halted || !c.online || c.vehicle == nil {
		return
	}
	c.pushLocked(c.vehicle.event(t))
}

func (r *read) event(t hal.Trigger) hal.PlateEvent {
	if r.plate == "" {
		return hal.PlateEvent{Kind: hal.KindNoPlate, Colour: hal.ColourUnknown, Conf: r.conf, Trigger: t}
	}
	return hal.PlateEvent{Kind: hal.KindPlate, Plate: r.plate, Colour: r.colour, Conf: r.conf, Trigger: t}
}

// Triggers returns the times of every Trigger call so far, oldest first.
func (c *Camera) Triggers() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.triggers...)
}

// Halt closes Events; later reports are ignored and Trigger fails with
// ErrHalted. It is idempotent.
func (c *Camera) Halt() error {
	c.mu.Lock()
	c.halted = true
	c.mu.Unlock()
	c.q.Close()
	return nil
}

// Idle reports whether the consumer has taken every event emitted so far;
// tests wait for it before moving the clock.
func (x *Camera) Idle() bool { return x.q.Idle() }
