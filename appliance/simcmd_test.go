package appliance

import (
	"context"
	"strings"
	"testing"
	"time"

	"laned/hal/clock"
	"laned/hal/sim"
)

// The one parser of the sim commands, on its own: what it accepts, what it
// refuses and why.
func TestSimCommands(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	fake := clock.NewFake(t0)
	l := sim.NewLane(fake, sim.LaneConfig{Name: "in1"})
	defer l.Halt()
	withClock := &simCommands{lanes: []*sim.Lane{l}, clk: fake, zone: time.UTC}
	realTime := &simCommands{lanes: []*sim.Lane{l}, zone: time.UTC}
	tests := []struct {
		s       *simCommands
		line    string
		want    string // in the answer, or in the error when err
		wantErr bool
	}{
		{withClock, "help", "sim advance DURATION", false},
		{withClock, "arrive in1 京A12345", "vehicle on in1's arming loop", false},
		{withClock, "arrive in9 京A12345", `no sim lane "in9" (lanes: in1)`, true},
		{withClock, "arrive in1", "usage: sim arrive LANE PLATE", true},
		{withClock, "chatter in1 3", "3 bounces; the driver has seen 7 edges", false},
		{withClock, "chatter in1 0", "want 1 to 1000", true},
		{withClock, "camera in1 maybe", "usage: sim camera LANE on|off", true},
		{withClock, "advance 2h", "now 2026-03-02 11:00:00", false},
		{withClock, "advance 0s", "want e.g. 90m", true},
		{withClock, "advance 800h", "at most 720h", true},
		{realTime, "advance 2h", `set [board] clock = "sim"`, true},
		{withClock, "scanpay 1", "no platform simulator", true},
		{withClock, "fly in1", `unknown sim command "fly"`, true},
	}
	for _, tt := range tests {
		got, err := tt.s.run(context.Background(), strings.Fields(tt.line))
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("sim %s = %q, %v; want an error with %q", tt.line, got, err, tt.want)
			}
			continue
		}
		if err != nil || !strings.Contains(got, tt.want) {
			t.Errorf("sim %s = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
	if !l.Arming.Occupied() {
		t.Error("arming loop not occupied after sim arrive")
	}
}
