package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"laned/appliance/config"
	"os"
	"path/filepath"
)

// selftestBroken makes every self-test fail. Test builds only:
// -ldflags "-X main.selftestBroken=1"; release builds leave it empty.
var selftestBroken = ""

// selftestCheck is one check of `laned selftest`.
type selftestCheck struct {
	name string
	fn   func(ctx context.Context, configPath string) error
}

// selftestChecks run in order in `laned selftest`. Other files add theirs
// in init() with addSelftest (the configuration loader: "config parses";
// the store: "store opens").
var selftestChecks []selftestCheck

func addSelftest(name string, fn func(ctx context.Context, configPath string) error) {
	selftestChecks = append(selftestChecks, selftestCheck{name, fn})
}

func init() {
	addSelftest("config readable", func(_ context.Context, configPath string) error {
		f, err := os.Open(configPath)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.Discard, f)
		return err
	})
	addSelftest("data dir writable", func(_ context.Context, configPath string) error {
		cfg, err := config.LoadUpdates(configPath)
		if err != nil {
			return err
		}
		f, err := os.CreateTemp(cfg.DataDir, ".selftest-*")
		if err != nil {
			return err
		}
		name := f.Name()
		_, werr := f.WriteString("laned selftest\n")
		serr := f.Sync()
		cerr := f.Close()
		rerr := os.Remove(name)
		return errors.Join(werr, serr, cerr, rerr)
	})
	addSelftest("test build not broken", func(context.Context, string) error {
		if selftestBroken != "" {
			return errors.New("built with main.selftestBroken")
		}
		return nil
	})
}

func runSelftest(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, cfgPath := configFlags("selftest", stderr)
	if help, err := parseNoArgs(fs, args, stderr); help || err != nil {
		return err
	}
	if err := selftest(ctx, *cfgPath, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "selftest: ok (laned %s, %d checks)\n", Version(), len(selftestChecks))
	return nil
}

// selftest runs every check and returns the first failure.
func selftest(ctx context.Context, configPath string, stdout io.Writer) error {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	for _, c := range selftestChecks {
		if err := c.fn(ctx, abs); err != nil {
			return fmt.Errorf("selftest: %s: %w", c.name, err)
		}
		fmt.Fprintf(stdout, "selftest: %s: ok\n", c.name)
	}
	return nil
}
