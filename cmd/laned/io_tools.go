package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"laned/board"
	"laned/hal"
	"laned/hal/clock"
	halgpio "laned/hal/gpio"
)

// watched is one input of io watch.
type watched struct {
	lane, key string
	spec      board.PinSpec
}

// inputs lists every wired input of the board's lanes (defaults applied).
func inputs(bc board.Config) []watched {
	var out []watched
	for _, l := range bc.WithDefaults().Lanes {
		for _, w := range []watched{
			{l.Name, "arming_loop", l.ArmingLoop},
			{l.Name, "safety_loop", l.SafetyLoop},
			{l.Name, "safety_fault", l.SafetyFault},
			{l.Name, "up_limit", l.UpLimit},
			{l.Name, "down_limit", l.DownLimit},
		} {
			if w.spec.Wired() {
				out = append(out, w)
			}
		}
	}
	return out
}

func (w watched) name() string { return w.lane + " " + w.key + " " + w.spec.Pin }

// activeWords names an input's active and inactive states.
func activeWords(key string) (on, off string) {
	switch key {
	case "arming_loop", "safety_loop":
		return "occupied", "free"
	case "safety_fault":
		return "FAULT", "ok"
	}
	return "at limit", "off limit"
}

// openInput watches one input through hal/gpio's debounced loop input,
// with the lane's polarity, pull and debounce: what laned itself sees.
func openInput(pins board.PinSource, w watched, debounce time.Duration, clk clock.Clock) (*halgpio.Loop, error) {
	p, err := pins.Pin(w.spec.Pin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	pull := halgpio.PullUp
	switch w.spec.Pull {
	case "down":
		pull = halgpio.PullDown
	case "none":
		pull = halgpio.PullNone
	}
	l, err := halgpio.NewLoop(p, halgpio.LoopConfig{Name: w.lane + "/" + w.key, ActiveLow: w.spec.ActiveLow, Pull: pull, Debounce: debounce, Clock: clk,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.name(), err)
	}
	return l, nil
}

func laneDebounce(bc board.Config, lane string) time.Duration {
	for _, l := range bc.WithDefaults().Lanes {
		if l.Name == lane {
			return l.Debounce.D()
		}
	}
	return board.DefaultDebounce
}

// ioWatch prints every debounced change of every loop, limit switch and
// fault input until ctx ends (Ctrl-C), like gpiomon: one line a change,
// with its time. It drives no output.
func ioWatch(ctx context.Context, args []string, stdout, stderr io.Writer, env ioEnv) error {
	fs, cfgPath := configFlags("io watch", stderr)
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	cfg, pins, lock, err := ioBoard(*cfgPath, "io watch", env)
	if err != nil {
		return err
	}
	defer lock.Release()
	if pins == nil {
		return fmt.Errorf("io watch: the sim profile has no GPIO inputs")
	}
	clk := clock.Or(env.clock)
	var mu sync.Mutex
	say := func(at time.Time, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "%s %s\n", at.Format("2006-01-02T15:04:05.000Z07:00"), fmt.Sprintf(format, args...))
	}
	var loops []*halgpio.Loop
	defer func() {
		for _, l := range loops {
			l.Halt()
		}
	}()
	var wg sync.WaitGroup
	for _, w := range inputs(cfg.Board) {
		l, err := openInput(pins, w, laneDebounce(cfg.Board, w.lane), clk)
		if err != nil {
			return fmt.Errorf("io watch: %w", err)
		}
		loops = append(loops, l)
		on, off := activeWords(w.key)
		state := func(active bool) string {
			if active {
				return on
			}
			return off
		}
		say(clk.Now(), "%-40s %s (at start)", w.name(), state(l.Occupied()))
		wg.Add(1)
		go func(w watched, evs <-chan hal.LoopEvent) {
			defer wg.Done()
			for ev := range evs {
				if ev.Stuck {
					continue
				}
				say(ev.At, "%-40s %s", w.name(), state(ev.Occupied))
			}
		}(w, l.Events())
	}
	fmt.Fprintln(stderr, "watching; Ctrl-C to stop")
	<-ctx.Done()
	for _, l := range loops {
		l.Halt()
	}
	wg.Wait()
	loops = nil
	return nil
}

// ioPulse pulses one relay of a lane for its pulse length, after reading
// the lane's safety loop (a close is refused while it reads occupied) and
// asking for confirmation.
func ioPulse(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env ioEnv) error {
	fs, cfgPath := configFlags("io pulse", stderr)
	yes := fs.Bool("yes", false, "do not ask for confirmation (scripts)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() != 2 || !(fs.Arg(1) == "open" || fs.Arg(1) == "close" || fs.Arg(1) == "stop") {
		fmt.Fprintln(stderr, "usage: laned io pulse [-config FILE] [-yes] LANE open|close|stop")
		return errUsage
	}
	laneName, op := fs.Arg(0), fs.Arg(1)
	cfg, pins, lock, err := ioBoard(*cfgPath, "io pulse", env)
	if err != nil {
		return err
	}
	defer lock.Release()
	if pins == nil {
		return fmt.Errorf("io pulse: the sim profile has no relays")
	}
	var lane *board.LaneConfig
	for _, l := range cfg.Board.WithDefaults().Lanes {
		if l.Name == laneName {
			lane = &l
		}
	}
	if lane == nil {
		return fmt.Errorf("io pulse: no lane %q in %s", laneName, cfg.Path)
	}
	spec := map[string]board.PinSpec{"open": lane.OpenRelay, "close": lane.CloseRelay, "stop": lane.StopRelay}[op]
	if !spec.Wired() {
		return fmt.Errorf("io pulse: lane %s has no %s relay", laneName, op)
	}
	clk := clock.Or(env.clock)
	// The safety loop as laned reads it (polarity, pull, fault input).
	safety, err := openInput(pins, watched{lane: laneName, key: "safety_loop", spec: lane.SafetyLoop}, lane.Debounce.D(), clk)
	if err != nil {
		return fmt.Errorf("io pulse: %w", err)
	}
	occupied := safety.Occupied()
	safety.Halt()
	if lane.SafetyFault.Wired() {
		f, err := openInput(pins, watched{lane: laneName, key: "safety_fault", spec: lane.SafetyFault}, lane.Debounce.D(), clk)
		if err != nil {
			return fmt.Errorf("io pulse: %w", err)
		}
		if f.Occupied() {
			occupied = true
			fmt.Fprintf(stdout, "safety loop detector reports a FAULT (%s)\n", lane.SafetyFault.Pin)
		}
		f.Halt()
	}
	_, polarity := lane.SafetyLoop.FailSafe()
	state := "free"
	if occupied {
		state = "OCCUPIED"
	}
	fmt.Fprintf(stdout, "safety loop %s: %s (%s)\n", lane.SafetyLoop.Pin, state, polarity)
	if occupied && op == "close" {
		return fmt.Errorf("io pulse: lane %s: safety loop occupied: not closing the barrier on it", laneName)
	}
	name := fmt.Sprintf("%s %s_relay %s", laneName, op, spec.Pin)
	if !*yes {
		fmt.Fprintf(stdout, "pulse %s for %s? [y/N] ", name, lane.Pulse)
		if stdin == nil {
			stdin = strings.NewReader("")
		}
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(stdout, "not pulsed")
			return nil
		}
	}
	p, err := pins.Pin(spec.Pin)
	if err != nil {
		return fmt.Errorf("io pulse: %s: %w", name, err)
	}
	// Inactive first (a line becomes an output at its first level), then
	// energised for the pulse, then inactive again, whatever happens.
	if err := p.Out(relayLevel(spec, false)); err != nil {
		return fmt.Errorf("io pulse: %s: %w", name, err)
	}
	if err := p.Out(relayLevel(spec, true)); err != nil {
		p.Out(relayLevel(spec, false))
		return fmt.Errorf("io pulse: %s: %w", name, err)
	}
	t := clk.NewTimer(lane.Pulse.D())
	select {
	case <-t.C():
	case <-ctx.Done(): // Ctrl-C ends the pulse early, never leaves it on
		t.Stop()
	}
	if err := p.Out(relayLevel(spec, false)); err != nil {
		return fmt.Errorf("io pulse: %s: release: %w", name, err)
	}
	fmt.Fprintf(stdout, "pulsed %s for %s\n", name, lane.Pulse)
	return nil
}
