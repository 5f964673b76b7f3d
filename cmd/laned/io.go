package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"periph.io/x/conn/v3/gpio"

	"laned/appliance"
	"laned/appliance/config"
	"laned/board"
	"laned/hal/clock"
)

const ioUsage = `usage:
  laned io watch   [-config FILE]                 print every loop, limit switch and fault input change, live
  laned io pulse   [-config FILE] [-yes] LANE open|close|stop
                                                  pulse one relay, after checking the safety loop
  laned io release [-config FILE] [-all]          drive every configured relay inactive
  laned io boot-config [-config FILE]             the config.txt gpio= lines holding the relays inactive from boot

All but boot-config drive the pins and refuse while laned runs (it holds
data_dir/laned.lock): stop it first with 'systemctl stop laned'.
`

// ioEnv is what the io tools reach outside their arguments; tests replace
// it. Zero fields are the real thing.
type ioEnv struct {
	pins  board.PinSource // nil: the board profile's (host) pins
	clock clock.Clock     // nil: the wall clock
}

func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return ioMain(ctx, args, stdin, stdout, stderr, ioEnv{})
}

func ioMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env ioEnv) error {
	return subcommand("io", ioUsage, args, stdout, stderr, map[string]func([]string) error{
		"release":     func(args []string) error { return ioRelease(args, stdout, stderr, env) },
		"watch":       func(args []string) error { return ioWatch(ctx, args, stdout, stderr, env) },
		"pulse":       func(args []string) error { return ioPulse(ctx, args, stdin, stdout, stderr, env) },
		"boot-config": func(args []string) error { return ioBootConfig(args, stdout, stderr) },
	})
}

// ioBoard loads the configuration, refuses while laned runs and opens the
// board's pin source. The lock it returns is held until release.
func ioBoard(path, tool string, env ioEnv) (*config.Config, board.PinSource, *appliance.DataDirLock, error) {
	cfg, err := config.LoadValid(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg.Board.Profile == board.ProfileSim {
		return cfg, nil, nil, nil
	}
	lock, err := appliance.RefuseWhileRunning(cfg, tool)
	if err != nil {
		return nil, nil, nil, err
	}
	bc := cfg.Board
	bc.Pins = env.pins
	pins, err := bc.PinSource()
	if err != nil {
		lock.Release()
		return nil, nil, nil, fmt.Errorf("%s: %w", tool, err)
	}
	return cfg, pins, lock, nil
}

// ioRelease drives every configured relay inactive: what the systemd
// unit runs after laned stops (ExecStopPost), whatever way it stopped.
// The open relay of a level-mode lane holds the arm up: releasing it
// would close the barrier on whatever stands under it, so it is left as
// laned left it unless -all.
func ioRelease(args []string, stdout, stderr io.Writer, env ioEnv) error {
	fs, cfgPath := configFlags("io release", stderr)
	all := fs.Bool("all", false, "release the open relay of level-mode lanes too (the barrier closes)")
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	cfg, pins, lock, err := ioBoard(*cfgPath, "io release", env)
	if err != nil {
		return err
	}
	defer lock.Release()
	if pins == nil {
		fmt.Fprintln(stdout, "sim profile: no relays")
		return nil
	}
	var errs []error
	for _, r := range cfg.Board.Relays() {
		name := fmt.Sprintf("%s %s %s", r.Lane, r.Key, r.Spec.Pin)
		if r.HeldOpen && !*all {
			fmt.Fprintf(stdout, "left   %s: level mode holds the arm up (-all releases it)\n", name)
			continue
		}
		p, err := pins.Pin(r.Spec.Pin)
		if err == nil {
			err = p.Out(relayLevel(r.Spec, false))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			fmt.Fprintf(stdout, "FAILED %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(stdout, "released %s (%v)\n", name, relayLevel(r.Spec, false))
	}
	if len(errs) > 0 {
		return fmt.Errorf("io release: %d relay(s) not released: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

func ioBootConfig(args []string, stdout, stderr io.Writer) error {
	fs, cfgPath := configFlags("io boot-config", stderr)
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	cfg, err := config.LoadValid(*cfgPath)
	if err != nil {
		return err
	}
	lines, err := cfg.Board.BootLines()
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// level is a relay's pin level: energised or not.
func relayLevel(spec board.PinSpec, energised bool) gpio.Level {
	return gpio.Level(spec.ActiveLow != energised)
}
