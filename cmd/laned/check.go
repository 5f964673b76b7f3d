package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"laned/appliance/config"
	"laned/board"
	"laned/cmb"
)

func init() {
	register("check", "check the configuration file: every mistake with its line and key; exits non-zero on any", runCheck)
}

func runCheck(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return checkMain(args, stdout, stderr, checkEnv{})
}

// checkMain is laned check with its view of the box (env) injectable.
func checkMain(args []string, stdout, stderr io.Writer, env checkEnv) error {
	fs, cfgPath := configFlags("check", stderr)
	quiet := fs.Bool("q", false, "print nothing when the configuration is good")
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	cfg, ps, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stdout, p)
		}
		return fmt.Errorf("check: %s: %d problem%s", pathOr(cfg, *cfgPath), len(ps), plural(len(ps)))
	}
	h := hostCheck(cfg, env)
	if len(h.problems) > 0 {
		config.SortProblems(h.problems)
		for _, p := range h.problems {
			fmt.Fprintln(stdout, p)
		}
		for _, p := range h.warnings {
			fmt.Fprintln(stdout, "warning:", p)
		}
		return fmt.Errorf("check: %s: %d problem%s on this box", cfg.Path, len(h.problems), plural(len(h.problems)))
	}
	if !*quiet {
		writeSummary(stdout, cfg)
		for _, p := range h.warnings {
			fmt.Fprintln(stdout, "warning:", p)
		}
	}
	if w := pictureSpaceWarning(cfg, statfsFree); w != "" {
		fmt.Fprintln(stdout, w)
	}
	return nil
}

func pathOr(c *config.Config, p string) string {
	if c != nil {
		return c.Path
	}
	return p
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writeSummary prints what a valid configuration says, the secret masked.
func writeSummary(w io.Writer, c *config.Config) {
	line := func(k, format string, args ...any) { fmt.Fprintf(w, "  %-9s %s\n", k, fmt.Sprintf(format, args...)) }
	fmt.Fprintf(w, "%s: ok\n", c.Path)
	line("data_dir", "%s", c.DataDir)
	line("log", "%s, %s", strings.ToLower(c.LogLevel.String()), c.LogFormat)
	p := c.Park
	line("park", "%d, zone %s, %d spaces (%d VIP), reserved_out_time %s, replace_stale %t, dedupe_window %s",
		p.ParkCode, p.Zone, p.SpacesTotal, p.SpacesVIP, p.ReservedOutTime.D(), p.ReplaceStale, p.DedupeWindow.D())
	pl := c.Platform
	base := pl.BaseURL
	if base == "" {
		env, _ := cmb.ParseEnvironment(pl.Environment)
		base = string(env) + " " + cmb.APIBase(env)
	}
	scheme := "http"
	if pl.TLSCert != "" {
		scheme = "https"
	}
	allow := "any source"
	if len(pl.Allow) > 0 {
		allow = strings.Join(pl.Allow, ", ")
	}
	mode := "non-guaranteed"
	if pl.Guaranteed {
		mode = "guaranteed"
	}
	if pl.OfflineRelease {
		mode += ", offline release of bound vehicles (owed)"
	}
	line("platform", "%s, appid %s, secret %s (from %s), %s", base, pl.AppID, pl.Secret, pl.SecretFile, mode)
	line("callbacks", "%s://%s%scmbParking/…, allow %s", scheme, pl.Listen, pl.Prefix, allow)
	line("board", "%s%s, %d lane%s", c.Board.Profile, orEmpty(", chip ", c.Board.Chip), len(c.Lanes), plural(len(c.Lanes)))
	hw := c.Board.WithDefaults().Lanes
	for i, l := range c.Lanes {
		code := "in_code"
		if l.Kind == "exit" {
			code = "out_code"
		}
		cam := fmt.Sprintf("camera addr %d", hw[i].Camera.Addr)
		if c.Board.Profile != board.ProfileSim || hw[i].Camera.Path != "" {
			cam = fmt.Sprintf("camera %s@%d %s addr %d", hw[i].Camera.Path, hw[i].Camera.Baud, hw[i].Camera.Codec, hw[i].Camera.Addr)
		}
		if c.Board.Profile == board.ProfileSim && hw[i].Camera.Path != "" {
			cam += " (a real camera on the simulated lane)"
		}
		if c.Board.Profile != board.ProfileSim {
			cam += fmt.Sprintf(", loops %s/%s, relays %s/%s", hw[i].ArmingLoop.Pin, hw[i].SafetyLoop.Pin, hw[i].OpenRelay.Pin, hw[i].CloseRelay.Pin)
		}
		if s, ok := netCameraSummary(c, i); ok {
			cam = s
		}
		line("lane", "%s: %s, %s %d, %s", l.Name, l.Kind, code, l.Code, cam)
		if c.Board.Profile != board.ProfileSim {
			h := hw[i]
			_, arming := h.ArmingLoop.FailSafe()
			_, safety := h.SafetyLoop.FailSafe()
			line("", "  arming loop %s %s", h.ArmingLoop.Pin, arming)
			line("", "  safety loop %s %s", h.SafetyLoop.Pin, safety)
			if h.SafetyFault.Wired() {
				line("", "  safety loop fault input %s (%s): the loop reads occupied while it is active", h.SafetyFault.Pin, activeWord(h.SafetyFault.ActiveLow))
			}
		}
	}
	t := c.Tariff
	var sets []string
	for _, s := range []struct {
		n  string
		ok bool
	}{{"small", t.Small != nil}, {"large", t.Large != nil}, {"new_energy", t.NewEnergy != nil}} {
		if s.ok {
			sets = append(sets, s.n)
		}
	}
	capMode := string(t.CapMode)
	if capMode == "" {
		capMode = "rolling24h"
	}
	line("tariff", "rule sets %s, cap %s, military_free %t, fallback_to_small %t", strings.Join(sets, ", "), capMode, t.MilitaryFree, t.FallbackToSmall)
	lists := map[string]int{}
	for _, v := range c.Vehicles {
		lists[v.List]++
	}
	var ls []string
	for k, n := range lists {
		ls = append(ls, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(ls)
	line("vehicles", "%d%s", len(c.Vehicles), orEmpty(": ", strings.Join(ls, ", ")))
	serial := "no serial console"
	if c.Console.SerialPort != "" {
		serial = fmt.Sprintf("serial %s at %d, PIN set", c.Console.SerialPort, c.Console.SerialBaud)
	}
	line("console", "socket %s, %s", c.Console.Socket, serial)
	line("pictures", "%s, at most %d bytes and %d days", filepath.Join(c.DataDir, picturesDir), c.Pictures.MaxBytes, c.Pictures.MaxDays)
	u := c.Update
	pull := "no pulls"
	if u.URL != "" {
		pull = fmt.Sprintf("pull %s channel %s every %s", u.URL, u.Channel, u.Interval.D())
	}
	line("update", "%s, %d trusted key%s, trial %s, %d starts", pull, len(u.TrustedKeys), plural(len(u.TrustedKeys)), u.TrialPeriod.D(), u.MaxStarts)
}

func activeWord(low bool) string {
	if low {
		return "active-low"
	}
	return "active-high"
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}
