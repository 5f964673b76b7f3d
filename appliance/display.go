package appliance

import (
	"fmt"
	"log/slog"
	"strings"

	"laned/appliance/config"
	"laned/board"
	"laned/edge"
	"laned/hal/camera"
	"laned/hal/clock"
	"laned/hal/display"
	"laned/hal/sim"
)

// openDisplay returns lane l's board for edge, or nil when it has none:
// on its own serial port, on a turn of the camera's bus, or simulated (sim
// profile without a path). A port that cannot be opened now is retried on
// later writes: a missing board never stops the lane.
func openDisplay(cfg *config.Config, l config.LaneConfig, bl *board.Lane, clk clock.Clock, logger *slog.Logger) (*edge.LaneDisplay, error) {
	ld := l.Display
	if !ld.Enabled() {
		return nil, nil
	}
	codec, err := display.CodecByName(ld.Family)
	if err != nil {
		return nil, err
	}
	name := l.Name + "/display"
	bcfg := display.Config{Name: name, Codec: codec, Addr: ld.Addr, Voices: cfg.Display.VoiceTable(), Clock: clk, Logger: logger}
	cam := l.Hardware().Camera
	var port *display.Port
	switch {
	case ld.Shared(cam):
		p, ok := bl.Camera.(*camera.Port)
		if !ok {
			return nil, fmt.Errorf("display %s: the lane's camera is not on a serial bus to share", name)
		}
		bcfg.Link = p.Bus().Share(name, ld.Guard.D())
	case ld.Path != "":
		port, err = display.OpenPort(display.PortConfig{Path: ld.Path, Baud: ld.Baud, Parity: ld.Parity, Clock: clk, Logger: logger})
		if err != nil {
			return nil, err
		}
		bcfg.Link, bcfg.Closer = port, port
	case cfg.Board.Profile == board.ProfileSim:
		bcfg.Link = sim.NewDisplay(l.Name, codec, ld.Addr, ld.Lines, bcfg.Voices, clk, nil)
	default:
		return nil, fmt.Errorf("display %s: no path", name)
	}
	b, err := display.NewBoard(bcfg)
	if err != nil {
		if port != nil {
			port.Close()
		}
		return nil, err
	}
	if port != nil {
		port.Listen(b)
	}
	vol := -1
	if ld.Volume != nil {
		vol = *ld.Volume
	}
	return &edge.LaneDisplay{Device: b, Lines: ld.Lines, Voice: ld.Voice == nil || *ld.Voice, Volume: vol}, nil
}

// DisplayLine is the demo's and the sim log's rendering of a display
// change: "[display exit1] 京A12345 | … ♪ …".
func DisplayLine(lane, shown string) string {
	return fmt.Sprintf("[display %s] %s", lane, strings.TrimSpace(shown))
}
