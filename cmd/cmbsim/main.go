// Command cmbsim simulates the China Merchants Bank parking open platform
// for commissioning and tests: it serves the uplink API with state and
// drives the lane's callbacks.
//
//	cmbsim serve --listen 127.0.0.1:8900 --appid ID --secret S --park 5201020001 [--lane URL]
//	cmbsim call calc|pay|bind|unbind|novpln|scan-pay|plate-pay --lane URL --appid ID --secret S --park N [fields]
//	cmbsim help
//
// All logic is in package laned/cmb/cmbsim; this command holds flags and
// wiring.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "cmbsim:", err)
		}
		os.Exit(exitCode(err))
	}
}

var (
	// errUsage marks an error whose message has already been printed as
	// usage (exit 2).
	errUsage = errors.New("usage")
	// errReported marks a failure already printed (exit 1), e.g. a
	// callback answered with status ≠ 0.
	errReported = errors.New("reported")
)

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

const usageText = `usage: cmbsim <command> [flags]

  serve   serve the platform's /api/* uplinks and the /_sim/ admin API
  call    send one callback to a lane and print its answer:
          calc | pay | bind | unbind | novpln | scan-pay | plate-pay
  help    this text

Run 'cmbsim serve -h' or 'cmbsim call -h' for the flags. The secret comes
from --secret or --secret-file and is never logged.
`

// run is the command: args without the program name.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	_ = stdin // no command reads stdin
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return errUsage
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return nil
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "call":
		return runCall(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cmbsim: unknown command %q\n\n%s", args[0], usageText)
	return errUsage
}
