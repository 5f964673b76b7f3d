package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"laned/appliance"
	"laned/appliance/config"
	"laned/edge/update"
	"laned/hal/clock"
)

// defaultUpdateConfig is where the unit's configuration lives.
const defaultUpdateConfig = "/etc/laned/laned.conf"

// healthBroken makes `update trial`'s health check fail. Test builds only:
// -ldflags "-X main.healthBroken=1"; release builds leave it empty.
var healthBroken = ""

// killAtEnv names an update step at which `laned update` SIGKILLs itself.
// Tests only: it proves that a kill at any step leaves a good live binary.
const killAtEnv = "LANED_TEST_KILL_AT"

func runUpdate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: laned update check | apply [-force] FILE | status | trial | guard  [-config FILE] [-live PATH]")
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("update "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", defaultUpdateConfig, "configuration file")
	live := fs.String("live", "", "live binary path (default: this executable)")
	force := fs.Bool("force", false, "apply: accept a version not newer, below the floor or rolled back")
	restart := fs.Bool("restart", true, "check/apply: restart laned.service under systemd after an install")
	hold := fs.Duration("hold", -1, "trial: how long health must hold (default: update_trial)")
	every := fs.Duration("every", 5*time.Second, "trial: health check interval")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := config.LoadUpdates(*cfgPath)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	switch sub {
	case "status":
		r, err := update.Status(cfg.DataDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "running: %s (%s)\n", Version(), update.Arch())
		_, err = r.WriteTo(stdout)
		return err
	case "guard":
		l, err := appliance.LivePath(*live)
		if err != nil {
			return err
		}
		a, err := update.Guard(l, update.TrialMarkerPath(cfg.DataDir), time.Now())
		fmt.Fprintf(stdout, "guard: %s\n", a)
		return err
	case "trial":
		t, err := update.OpenTrial(cfg.DataDir, self(), clock.Real{}, log)
		if err != nil {
			return err
		}
		crashLater()
		if !t.Active() {
			fmt.Fprintln(stdout, "trial: none")
			return nil
		}
		period := cfg.TrialPeriod
		if *hold >= 0 {
			period = *hold
		}
		health := func(ctx context.Context) error {
			if healthBroken != "" {
				return errors.New("built with main.healthBroken")
			}
			return selftest(ctx, *cfgPath, io.Discard)
		}
		if err := t.Hold(ctx, health, period, *every); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trial: %s committed\n", Version())
		return nil
	}
	l, err := appliance.LivePath(*live)
	if err != nil {
		return err
	}
	opts, err := cfg.UpdateOptions(l, *cfgPath, Version())
	if err != nil {
		return err
	}
	opts.Interval = 0 // one check, no schedule
	opts.HTTP, opts.Logger, opts.Step = &http.Client{Timeout: 10 * time.Minute}, log, killAtStep(os.Getenv(killAtEnv))
	var res update.Result
	switch sub {
	case "check":
		u, err := update.New(opts)
		if err != nil {
			return err
		}
		res, err = u.Check(ctx)
		if err != nil {
			return err
		}
	case "apply":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: laned update apply [-force] FILE")
			return errUsage
		}
		opts.Force = *force
		res, err = update.Apply(ctx, fs.Arg(0), opts)
		if err != nil {
			return err
		}
	default:
		fmt.Fprintf(stderr, "laned update: unknown subcommand %q\n", sub)
		return errUsage
	}
	if !res.Installed {
		fmt.Fprintf(stdout, "update: nothing installed: offered %s, running %s: %s\n", orUnknown(res.Version), res.From, res.Detail)
		return nil
	}
	fmt.Fprintf(stdout, "update: installed %s over %s, on trial\n", res.Version, res.From)
	if *restart {
		restartService(stdout)
	}
	return nil
}

// self is this build as the update trial knows it: stamped version and the
// sha256 of the running binary.
func self() update.Self { return update.Self{Version: Version(), SHA256: update.SelfSHA256} }

// crashAfter makes the daemon and `update trial` panic this long after they
// start (a Go duration). Test builds only: -ldflags "-X main.crashAfter=3s"
// is a crash-looping release; release builds leave it empty.
var crashAfter = ""

// crashLater arms the panic of a crashAfter build.
func crashLater() {
	d, err := time.ParseDuration(crashAfter)
	if crashAfter == "" || err != nil {
		return
	}
	time.AfterFunc(d, func() { panic("laned: built with main.crashAfter=" + crashAfter) })
}

// restartService restarts laned.service when systemd runs this machine.
func restartService(stdout io.Writer) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		fmt.Fprintln(stdout, "update: restart laned to start the trial")
		return
	}
	if out, err := exec.Command("systemctl", "try-restart", "laned.service").CombinedOutput(); err != nil {
		fmt.Fprintf(stdout, "update: systemctl try-restart laned.service: %v: %s\n", err, out)
	}
}

// killAtStep returns the test-only step hook of LANED_TEST_KILL_AT.
func killAtStep(at string) func(string) {
	if at == "" {
		return nil
	}
	return func(step string) {
		if step == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
}
