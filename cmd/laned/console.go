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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"laned/appliance/config"
	"laned/edge/console"
)

// errSocketInUse: another daemon answers on the console socket.
var errSocketInUse = errors.New("another laned is serving this console socket")

func init() {
	register("console", "the technician console of the running daemon (root); console hash-pin hashes a serial console PIN", runConsole)
}

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

// serveConsoleSocket serves c on a unix socket at path until ctx ends,
// one session per connection. The socket is made mode 0600 (root only,
// as the daemon runs as root) before it appears at path; a stale socket
// left by a crash is replaced; the socket is removed on return. It
// returns nil when ctx ends.
func serveConsoleSocket(ctx context.Context, path string, c *console.Console) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return fmt.Errorf("console socket: %s exists and is not a socket; move it away", path)
		}
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return fmt.Errorf("console socket: %s: %w", path, errSocketInUse)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("console socket: remove stale: %w", err)
		}
	}
	// Bind under a temporary name, restrict it, then rename it into
	// place: the socket never appears at path with a wider mode.
	tmp := path + ".new"
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return fmt.Errorf("console socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return fmt.Errorf("console socket: %w", err)
	}
	defer os.Remove(path)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("console socket: accept: %w", err)
		}
		wg.Go(func() {
			defer conn.Close()
			unblock := context.AfterFunc(ctx, func() { conn.Close() })
			defer unblock()
			c.Serve(ctx, conn) // the Console logs how the session ended
		})
	}
}
