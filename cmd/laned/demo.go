package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"laned/appliance/demo"
)

func runDemo(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "", "data directory (default: a new temporary one, removed at the end)")
	forever := fs.Bool("forever", false, "after the script, keep running in real time with the console on -socket")
	socket := fs.String("socket", "", "console socket for -forever (default: DATA/console.sock)")
	verbose := fs.Bool("v", false, "log every uplink and decision in detail")
	boxes := fs.Int("site", 0, "run the site demo instead: this many boxes of one car park (3)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *dataDir == "" {
		dir, err := os.MkdirTemp("", "laned-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dataDir = dir
	}
	if *socket == "" {
		*socket = filepath.Join(*dataDir, "console.sock")
	}
	opt := demo.Options{DataDir: *dataDir, Forever: *forever, Socket: *socket, Verbose: *verbose, Version: Version()}
	if *boxes != 0 {
		if *forever {
			fmt.Fprintln(stderr, "laned demo: -site and -forever do not go together")
			return errUsage
		}
		return demo.RunSite(ctx, stdout, opt, *boxes)
	}
	return demo.Run(ctx, stdout, opt)
}
