package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"periph.io/x/conn/v3/gpio"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/clock"
)

// OpenCameras is the CameraOpener of the real profiles: it opens each
// lane's camera on its serial bus with hal/camera. templates names a
// lane's template codec file ("" for none).
// Lanes on one serial bus (same path, different addresses, e.g. both
// cameras of the rpi4 pin map on /dev/serial0 at 1 and 2) share one
// camera.Bus: the first lane on a path opens it, the others attach to it,
// and it closes its port when the last of their cameras halts, which
// board.Halt does for every lane when the daemon stops (or when
// board.Open fails half way). The lanes on a bus must agree on its line
// settings (baud, parity, codec, template, RS-485 mode, DE pin).
//
// RS-485 "auto" with a DE pin drives the pin around each write (gpio
// mode): the pin is what the installer wired to the transceiver, and
// without it the controller could never ACK or TRIGGER. "auto" without a
// pin leaves direction to an auto-direction transceiver.
func OpenCameras(templates func(lane string) string, clk clock.Clock, logger *slog.Logger) CameraOpener {
	var mu sync.Mutex
	buses := map[string]*sharedBus{} // serial path → its bus
	return func(ctx context.Context, name string, port CameraPort) (hal.Camera, error) {
		laneName := strings.TrimSuffix(name, "/camera")
		tmplPath := templates(laneName)
		mu.Lock()
		defer mu.Unlock()
		if sb := buses[port.Path]; sb != nil {
			if err := sb.agrees(laneName, port, tmplPath); err != nil {
				return nil, err
			}
			cam, err := sb.bus.Camera(name, port.Addr, 0)
			switch {
			case err == nil:
				return cam, nil
			case !errors.Is(err, camera.ErrHalted):
				return nil, err
			}
			delete(buses, port.Path) // its cameras all halted: open it afresh
		}
		bc, err := cameraBusConfig(port, tmplPath)
		if err != nil {
			return nil, err
		}
		bc.Clock, bc.Logger = clk, logger
		bus, err := camera.OpenBus(ctx, bc)
		if err != nil {
			return nil, err
		}
		cam, err := bus.Camera(name, port.Addr, 0)
		if err != nil {
			bus.Close()
			return nil, err
		}
		buses[port.Path] = &sharedBus{bus: bus, lane: laneName, port: port, tmpl: tmplPath}
		return cam, nil
	}
}

// sharedBus is a camera bus and the settings of the lane that opened it.
type sharedBus struct {
	bus  *camera.Bus
	lane string
	port CameraPort
	tmpl string
}

// agrees checks that lane's camera port has the bus's line settings.
func (sb *sharedBus) agrees(lane string, port CameraPort, tmpl string) error {
	if port.Codec != "template" {
		tmpl = sb.tmpl
	}
	diffs := []struct {
		key       string
		got, want any
	}{
		{"baud", port.Baud, sb.port.Baud}, {"parity", port.Parity, sb.port.Parity},
		{"codec", port.Codec, sb.port.Codec}, {"template", tmpl, sb.tmpl},
		{"rs485", port.RS485, sb.port.RS485}, {"de_pin", port.DEPin, sb.port.DEPin},
	}
	for _, d := range diffs {
		if d.got != d.want {
			return fmt.Errorf("camera.%s %v differs from lane %s's %v on the shared bus %s; cameras on one bus share its settings: %w",
				d.key, d.got, sb.lane, d.want, port.Path, camera.ErrConfig)
		}
	}
	return nil
}

// cameraBusConfig turns a lane's camera port into bus settings.
func cameraBusConfig(port CameraPort, tmplPath string) (camera.BusConfig, error) {
	var tmpl *camera.Template
	if port.Codec == "template" {
		t, err := camera.LoadTemplate(tmplPath)
		if err != nil {
			return camera.BusConfig{}, err
		}
		tmpl = t
	}
	codec, err := camera.CodecByName(port.Codec, tmpl)
	if err != nil {
		return camera.BusConfig{}, err
	}
	par, err := camera.ParseParity(port.Parity)
	if err != nil {
		return camera.BusConfig{}, err
	}
	mode, err := camera.ParseRS485Mode(port.RS485)
	if err != nil {
		return camera.BusConfig{}, err
	}
	var de camera.DriverEnable
	if mode != camera.RS485Kernel && port.DEPin != "" && port.DEPin != None {
		// The board resolved the pin through its profile's pin source,
		// as it does the relays': line offsets on gpiochip, the RP1 chip
		// on rpi5.
		if port.DE == nil {
			return camera.BusConfig{}, fmt.Errorf("driver-enable pin %s not resolved by the board: %w", port.DEPin, camera.ErrConfig)
		}
		de, mode = dePinOut{port.DE}, camera.RS485GPIO
	}
	return camera.BusConfig{
		Name: port.Path, Path: port.Path, Baud: port.Baud, Parity: par, Codec: codec, RS485: mode, DE: de,
	}, nil
}

// DriverEnable is pin as an RS-485 transceiver's driver-enable input.
func DriverEnable(pin gpio.PinOut) camera.DriverEnable { return dePinOut{pin} }

// dePinOut drives an RS-485 transceiver's driver-enable input.
type dePinOut struct{ p gpio.PinOut }

var _ camera.DriverEnable = dePinOut{}

func (d dePinOut) Out(high bool) error { return d.p.Out(gpio.Level(high)) }
