package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"laned/appliance"
	"laned/appliance/config"
	"laned/board"
	"laned/hal/camera"
)

// cameraListen is `laned camera listen`. pins, when set, replaces the
// board's pin source for the DE pin (tests).
func cameraListen(ctx context.Context, args []string, stdout, stderr io.Writer, pins board.PinSource) error {
	fs := flag.NewFlagSet("laned camera listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf codecFlags
	cf.register(fs)
	path := fs.String("port", "", "serial device, e.g. /dev/ttyUSB0 (required)")
	baud := fs.Int("baud", 115200, "baud rate")
	dataBits := fs.Int("databits", 8, "data bits: 7 or 8")
	parity := fs.String("parity", "none", "parity: none, odd or even")
	stopBits := fs.Int("stopbits", 1, "stop bits: 1 or 2")
	addr := fs.Int("addr", 0, "camera address to listen to and trigger (0: any, trigger broadcast)")
	rs485 := fs.String("rs485", "auto", "RS-485 direction control: auto (transceiver), kernel (TIOCSRS485) or gpio (with a DE pin)")
	cfgPath := fs.String("config", "", "configuration file: with -lane, the lane's camera wiring; with -de, the board profile")
	laneName := fs.String("lane", "", "take port, line settings, codec, RS-485 mode and DE pin from this lane of -config")
	de := fs.String("de", "", "RS-485 driver-enable pin (e.g. GPIO4), held low (receive) except while writing; \"none\" for none")
	profile := fs.String("profile", "", "board profile naming -de without -config: rpi3, rpi4, rpi5 or gpiochip")
	chip := fs.String("chip", "", "GPIO chip for -profile gpiochip (or rpi5)")
	heartbeat := fs.Duration("heartbeat", 0, "camera heartbeat period (default 10s for lane-frame; offline after 3 missed)")
	trigger := fs.Bool("trigger", false, "send one TRIGGER after opening the port")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bc board.Config
	if *laneName != "" && *cfgPath == "" {
		fmt.Fprintln(stderr, "laned camera listen: -lane needs -config")
		return errUsage
	}
	if *cfgPath != "" {
		cfg, err := config.LoadValid(*cfgPath)
		if err != nil {
			return err
		}
		lock, err := appliance.RefuseWhileRunning(cfg, "camera listen")
		if err != nil {
			return err
		}
		defer lock.Release()
		bc = cfg.Board
		if *laneName != "" {
			port, tmpl, err := laneCamera(cfg, *laneName)
			if err != nil {
				return err
			}
			fromLane := map[string]func(){
				"port": func() { *path = port.Path }, "baud": func() { *baud = port.Baud },
				"parity": func() { *parity = port.Parity }, "addr": func() { *addr = port.Addr },
				"codec": func() { cf.codec = port.Codec }, "template": func() { cf.template = tmpl },
				"rs485": func() { *rs485 = port.RS485 }, "de": func() { *de = port.DEPin },
			}
			for name, take := range fromLane {
				if !set[name] {
					take()
				}
			}
		}
	} else {
		bc = board.Config{Profile: *profile, Chip: *chip}
	}
	if *path == "" {
		fmt.Fprintln(stderr, "laned camera listen: --port (or -config with -lane) is required")
		fs.Usage()
		return errUsage
	}
	codec, err := cf.load()
	if err != nil {
		return err
	}
	par, err := camera.ParseParity(*parity)
	if err != nil {
		return err
	}
	mode, err := camera.ParseRS485Mode(*rs485)
	if err != nil {
		return err
	}
	var dePin camera.DriverEnable
	if mode != camera.RS485Kernel && *de != "" && *de != board.None {
		if bc.Profile == "" {
			return fmt.Errorf("camera listen: -de %s needs the board: -config FILE or -profile: %w", *de, camera.ErrConfig)
		}
		bc.Pins = pins
		p, err := bc.PinSource()
		if err != nil {
			return fmt.Errorf("camera listen: -de %s: %w", *de, err)
		}
		pin, err := p.Pin(*de)
		if err != nil {
			return fmt.Errorf("camera listen: -de %s: %w", *de, err)
		}
		dePin, mode = board.DriverEnable(pin), camera.RS485GPIO
	}
	if mode == camera.RS485GPIO && dePin == nil {
		return fmt.Errorf("camera listen: --rs485 gpio needs a DE pin (-de PIN or -lane): %w", camera.ErrConfig)
	}
	out := newLineWriter(stdout)
	cfg := camera.Config{BusConfig: camera.BusConfig{
		Name: *path, Path: *path, Baud: *baud, DataBits: *dataBits, Parity: par, StopBits: *stopBits,
		Codec: codec, RS485: mode, DE: dePin, MustOpen: true,
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
		OnReject: func(r camera.Result) {
			out.put(rejectLine{At: r.At.Unix(), Rejected: hex.EncodeToString(r.Rejected), Reason: r.Reason})
		},
	}, Addr: *addr, HeartbeatPeriod: *heartbeat}
	p, err := camera.Open(ctx, cfg)
	if err != nil {
		return err
	}
	dir := "RS-485 " + mode.String()
	if dePin != nil {
		dir += ", DE " + *de + " held low (receive) except while writing"
	}
	fmt.Fprintf(stderr, "listening on %s at %d baud, codec %s, %s; Ctrl-C to stop\n", *path, *baud, codec.Name(), dir)
	if *trigger {
		if err := p.Trigger(ctx); err != nil {
			fmt.Fprintf(stderr, "trigger: %v\n", err)
		}
	}
	var werr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case ev, ok := <-p.Events():
			if !ok {
				break loop
			}
			l := eventLine(ev)
			l.At, l.Camera = ev.At.Unix(), ev.Camera
			if err := out.put(l); err != nil {
				werr = fmt.Errorf("camera listen: write: %w", err)
				break loop
			}
		}
	}
	p.Halt()
	st := p.Stats()
	fmt.Fprintf(stderr, "%d frames, %d rejected, %d duplicates, %d foreign, %d dropped, %d reopens\n",
		st.Frames, st.Rejected, st.Duplicates, st.Foreign, st.Dropped, st.Reopens)
	return werr
}
