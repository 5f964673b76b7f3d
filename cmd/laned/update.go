package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// updateConfig is the part of the configuration the update commands need.
type updateConfig struct {
	DataDir     string        // data_dir
	URL         string        // update_url: {url}/{channel}/{arch}/manifest.json …
	Channel     string        // update_channel
	TrustedKeys []string      // trusted_keys: base64 ed25519 public keys
	Reserved    int64         // update_reserved_bytes kept free for the store
	MaxStarts   int           // update_max_starts before rollback
	TrialPeriod time.Duration // update_trial: how long health must hold
}

// loadUpdateConfig reads the update settings from the configuration file.
// The configuration loader replaces it (in its init) with one backed by the
// real parser; until then readUpdateConfig reads the few keys it needs.
var loadUpdateConfig = readUpdateConfig

// readUpdateConfig reads `key = value` lines (TOML-like: strings quoted,
// lists in brackets on one line, # comments, [sections] ignored).
func readUpdateConfig(path string) (updateConfig, error) {
	c := updateConfig{DataDir: "/var/lib/laned", Channel: update.DefaultChannel, Reserved: 64 << 20,
		MaxStarts: update.DefaultMaxStarts, TrialPeriod: 5 * time.Minute}
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		bad := func(err error) error { return fmt.Errorf("config: %s:%d: %s: %v", path, n, k, err) }
		switch k {
		case "data_dir":
			c.DataDir = unquote(v)
		case "update_url":
			c.URL = unquote(v)
		case "update_channel":
			c.Channel = unquote(v)
		case "trusted_keys":
			if !strings.HasPrefix(v, "[") || !strings.HasSuffix(v, "]") {
				return c, bad(errors.New("want a one-line list"))
			}
			c.TrustedKeys = nil
			for _, s := range strings.Split(strings.Trim(v, "[]"), ",") {
				if s = unquote(strings.TrimSpace(s)); s != "" {
					c.TrustedKeys = append(c.TrustedKeys, s)
				}
			}
		case "update_reserved_bytes":
			if c.Reserved, err = strconv.ParseInt(v, 10, 64); err != nil {
				return c, bad(err)
			}
		case "update_max_starts":
			if c.MaxStarts, err = strconv.Atoi(v); err != nil {
				return c, bad(err)
			}
		case "update_trial":
			if c.TrialPeriod, err = time.ParseDuration(unquote(v)); err != nil {
				return c, bad(err)
			}
		}
	}
	return c, sc.Err()
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func init() {
	register("update", "software update: check | apply FILE | status | trial | guard", runUpdate)
}

func runUpdate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: laned update check | apply [-force] FILE | status | trial | guard  [-config FILE] [-live PATH]")
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("update "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", defaultUpdateConfig, "configuration file")
	live := fs.String("live", "", "live binary path (default: this executable)")
	force := fs.Bool("force", false, "apply: accept a version not newer, below the floor or rolled back")
	restart := fs.Bool("restart", true, "check/apply: restart laned.service under systemd after an install")
	hold := fs.Duration("hold", -1, "trial: how long health must hold (default: update_trial)")
	every := fs.Duration("every", 5*time.Second, "trial: health check interval")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := loadUpdateConfig(*config)
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
		l, err := livePath(*live)
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
			return selftest(ctx, *config, io.Discard)
		}
		if err := t.Hold(ctx, health, period, *every); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "trial: %s committed\n", Version())
		return nil
	}
	l, err := livePath(*live)
	if err != nil {
		return err
	}
	keys, err := update.ParsePublicKeys(cfg.TrustedKeys)
	if err != nil {
		return err
	}
	opts := update.Options{
		DataDir: cfg.DataDir, LivePath: l, ConfigPath: *config, Running: Version(),
		BaseURL: cfg.URL, Channel: cfg.Channel, TrustedKeys: keys, Reserved: cfg.Reserved,
		MaxStarts: cfg.MaxStarts, HTTP: &http.Client{Timeout: 10 * time.Minute}, Logger: log,
		Step: killAtStep(os.Getenv(killAtEnv)),
	}
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

// livePath is the flag's path, else this executable's resolved path.
func livePath(flagged string) (string, error) {
	if flagged != "" {
		return filepath.Abs(flagged)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("update: live path: %w", err)
	}
	return filepath.EvalSymlinks(exe)
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
