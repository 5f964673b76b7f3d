// Command laned is the lane controller firmware: one binary with
// subcommands for the daemon, the demo, the technician console, updates and
// field tools. Each subcommand's logic lives in a run-style function that
// takes its arguments and streams, so it is tested without a process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "laned:", err)
		}
		os.Exit(exitCode(err))
	}
}

// errUsage marks an error whose message has already been printed as usage.
var errUsage = errors.New("usage")

// exitCoder lets a subcommand choose its exit status.
type exitCoder interface{ ExitCode() int }

func exitCode(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands are laned's subcommands, by name, the one list of them; each
// run function is in the file named after it (displaycmd.go, storecmd.go).
var commands = map[string]command{
	"camera":   {"field tools for the cameras: decode an RS-485 capture, listen live, push-test a network camera path", runCamera},
	"check":    {"check the configuration file: every mistake with its line and key; exits non-zero on any", runCheck},
	"console":  {"the technician console of the running daemon (root); console hash-pin hashes a serial console PIN", runConsole},
	"demo":     {"run the embedded default: sim board, built-in platform simulator, scripted traffic", runDemo},
	"display":  {"bench tools for the lane's LED board: send a text, decode a capture", runDisplay},
	"io":       {"field tools for the lane's GPIO: watch inputs, pulse a relay, release every relay, boot-time relay lines", runIO},
	"release":  {"make signing keys and sign a release (keygen | sign)", runRelease},
	"report":   {"reconciliation: report day [YYYY-MM-DD] [-csv] — entries, exits, money by channel, waived, owed", runReport},
	"run":      {"the daemon: lanes, callback server, outbox and console (SIGHUP reloads tariff and vehicles)", runDaemon},
	"selftest": {"check that this binary can run here (config, data dir); exits 0 when it can", runSelftest},
	"store":    {"offline store tools: check (consistency), compact (rewrite the file small)", runStore},
	"update":   {"software update: check | apply FILE | status | trial | guard", runUpdate},
	"version":  {"print the version stamp", runVersion},
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "laned: unknown command %q\n", args[0])
		usage(stderr)
		return errUsage
	}
	return c.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: laned <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'laned <command> -h' for a command's flags.")
}

// subcommand runs the subcommand args[0] of `laned name` from subs with
// the rest of args. Without one, or with an unknown one, it prints usage
// to stderr (errUsage); help, -h and --help print it to stdout.
func subcommand(name, usage string, args []string, stdout, stderr io.Writer, subs map[string]func(args []string) error) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	if run, ok := subs[args[0]]; ok {
		return run(args[1:])
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "laned %s: unknown subcommand %q\n", name, args[0])
	fmt.Fprint(stderr, usage)
	return errUsage
}

// configFlags is the flag set of a subcommand that reads the
// configuration: its usage goes to stderr, and it has -config.
func configFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("config", defaultUpdateConfig, "configuration file")
}

// parseNoArgs parses flags and refuses stray arguments. help reports -h,
// which is not an error: the usage was printed.
func parseNoArgs(fs *flag.FlagSet, args []string, stderr io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, errUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "laned %s: unexpected %q\n", fs.Name(), fs.Arg(0))
		return false, errUsage
	}
	return false, nil
}
