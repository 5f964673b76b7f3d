package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"syscall"

	"laned/appliance/config"
	"laned/edge/console"
)

func runConsole(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "hash-pin" {
		return runHashPIN(args[1:], stdin, stdout, stderr)
	}
	fset := flag.NewFlagSet("console", flag.ContinueOnError)
	fset.SetOutput(stderr)
	sock := fset.String("socket", config.DefaultConsoleSocket, "the daemon's console socket")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: laned console [-socket PATH]   talk to the running daemon (root only; Ctrl-D or exit leaves)")
		fmt.Fprintln(stderr, "       laned console hash-pin         read a PIN (4 to 12 digits) on stdin, print its hash for the config")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fset.NArg() != 0 {
		fmt.Fprintf(stderr, "laned console: unexpected %q; type commands once connected\n", fset.Arg(0))
		fset.Usage()
		return errUsage
	}
	return consoleClient(ctx, *sock, stdin, stdout)
}

// consoleClient relays stdin to the daemon's console and its answers to
// stdout until either side ends. The local terminal echoes and edits the
// line; the daemon serves this socket without echo.
func consoleClient(ctx context.Context, path string, stdin io.Reader, stdout io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrPermission):
			return fmt.Errorf("console: %s: permission denied: the console is for root; run it with sudo", path)
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("console: %s: no daemon is listening; is laned running? (systemctl status laned)", path)
		}
		return fmt.Errorf("console: connect: %w", err)
	}
	uc := conn.(*net.UnixConn)
	defer uc.Close()
	out := make(chan error, 1)
	go func() {
		_, err := io.Copy(stdout, uc)
		out <- err
	}()
	go func() {
		io.Copy(uc, stdin)
		uc.CloseWrite() // end of input ends the session
	}()
	select {
	case err := <-out:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("console: %w", err)
		}
		return nil
	case <-ctx.Done():
		return nil
	}
}

// runHashPIN reads a PIN from stdin and prints its hash.
func runHashPIN(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: laned console hash-pin < pin.txt   (or type the PIN, then Enter)")
		return errUsage
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("console hash-pin: read pin: %w", err)
	}
	pin := strings.TrimSpace(line)
	h, err := console.HashPIN(pin, rand.Reader)
	if err != nil {
		return fmt.Errorf("console hash-pin: the PIN must be 4 to 12 digits (got %d characters); nothing written", len(pin))
	}
	fmt.Fprintln(stdout, h)
	return nil
}
