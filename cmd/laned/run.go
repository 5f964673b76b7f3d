package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"laned/appliance"
	"laned/appliance/config"

	_ "time/tzdata" // the binary carries the zone database: a Pi may have none
)

func runDaemon(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs, cfgPath := configFlags("run", stderr)
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	cfg, ps, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stderr, p)
		}
		return fmt.Errorf("run: refusing to start: %w", config.ProblemsError(ps))
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	return serveDaemon(ctx, cfg, appliance.NewLogger(stderr, cfg), appliance.Options{Hangup: hup})
}

// serveDaemon runs the appliance as this binary: its version, build time
// and test-build switches go into opt.
func serveDaemon(ctx context.Context, cfg *config.Config, logger *slog.Logger, opt appliance.Options) error {
	return appliance.Serve(ctx, cfg, logger, thisBuild(opt))
}

// thisBuild fills in what the appliance is told about this binary.
func thisBuild(opt appliance.Options) appliance.Options {
	opt.Version, opt.Floor, opt.Self = Version(), buildFloor(buildTime), self()
	opt.HealthBroken, opt.AfterTrial = healthBroken != "", crashLater
	return opt
}

// buildFloor is the build time stamp as a time; zero when unstamped.
func buildFloor(stamp string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(stamp), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}
