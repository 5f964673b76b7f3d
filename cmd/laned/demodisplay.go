package main

import (
	"laned/edge"
	"laned/hal/display"
	"laned/hal/sim"
)

// demoDisplayConfig is the demo's boards' texts: the defaults, the voice
// table of the spec.
func demoDisplayConfig() edge.DisplayConfig {
	v := display.DefaultVoices()
	return edge.DisplayConfig{Park: "演示停车场", Speak: v.Phrases, SpokenFee: v.SpokenFee}
}

// board is a lane's simulated AA55 board behind the real driver: the
// driver's bytes are decoded by the sim board as a real one would.
func (d *demo) board(lane string) *edge.LaneDisplay {
	sd := sim.NewDisplay(lane, display.AA55{}, 100, 4, nil, d.clk, nil)
	b, err := display.NewBoard(display.Config{Name: lane + "/display", Link: sd, Clock: d.clk})
	if err != nil {
		panic(err) // a constant configuration
	}
	return &edge.LaneDisplay{Device: b, Lines: 4, Voice: true, Volume: 5}
}
