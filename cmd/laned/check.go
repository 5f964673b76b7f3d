package main

import (
	"context"
	"fmt"
	"io"

	"laned/appliance/config"
)

func runCheck(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	return checkMain(args, stdout, stderr, config.HostEnv{})
}

// checkMain is laned check with its view of the box (env) injectable.
func checkMain(args []string, stdout, stderr io.Writer, env config.HostEnv) error {
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
	h := config.HostCheck(cfg, env)
	if len(h.Problems) > 0 {
		config.SortProblems(h.Problems)
		for _, p := range h.Problems {
			fmt.Fprintln(stdout, p)
		}
		for _, p := range h.Warnings {
			fmt.Fprintln(stdout, "warning:", p)
		}
		return fmt.Errorf("check: %s: %d problem%s on this box", cfg.Path, len(h.Problems), plural(len(h.Problems)))
	}
	if !*quiet {
		config.WriteSummary(stdout, cfg)
		for _, p := range h.Warnings {
			fmt.Fprintln(stdout, "warning:", p)
		}
	}
	if w := config.PictureSpaceWarning(cfg, config.StatfsFree); w != "" {
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
