package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// credentials are the flags every command shares.
type credentials struct {
	appid      string
	secret     string
	secretFile string
	park       int64
}

func (c *credentials) register(fs *flag.FlagSet) {
	fs.StringVar(&c.appid, "appid", "", "the partner's appid (required)")
	fs.StringVar(&c.secret, "secret", "", "the appsecret (or --secret-file)")
	fs.StringVar(&c.secretFile, "secret-file", "", "read the appsecret from this file (first line)")
	fs.Int64Var(&c.park, "park", 0, "the car park's park_code, e.g. 5201020001 (required)")
}

// resolve reads the secret file and checks the required values.
func (c *credentials) resolve() error {
	if c.secret != "" && c.secretFile != "" {
		return errors.New("--secret and --secret-file are exclusive")
	}
	if c.secretFile != "" {
		b, err := os.ReadFile(c.secretFile)
		if err != nil {
			return fmt.Errorf("read secret: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		c.secret = strings.TrimSpace(line)
		if c.secret == "" {
			return fmt.Errorf("read secret: %s is empty", c.secretFile)
		}
	}
	switch {
	case c.appid == "":
		return errors.New("--appid is required")
	case c.secret == "":
		return errors.New("--secret or --secret-file is required")
	case c.park <= 0:
		return errors.New("--park is required (a positive park_code)")
	}
	return nil
}

// newFlagSet returns a flag set that reports errors itself and prints its
// usage to w.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; -h prints usage and returns errHelp (exit 0).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return errUsage
	}
	return nil
}

// usageErr prints msg and the flags, and returns errUsage.
func usageErr(fs *flag.FlagSet, err error) error {
	fmt.Fprintf(fs.Output(), "cmbsim %s: %v\n", fs.Name(), err)
	fs.Usage()
	return errUsage
}
