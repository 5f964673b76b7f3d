package appliance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"laned/edge/console"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// ErrSocketInUse: another daemon answers on the console socket.
var ErrSocketInUse = errors.New("another laned is serving this console socket")

// ServeConsoleSocket serves c on a unix socket at path until ctx ends,
// one session per connection. The socket is made mode 0600 (root only,
// as the daemon runs as root) before it appears at path; a stale socket
// left by a crash is replaced; the socket is removed on return. It
// returns nil when ctx ends.
func ServeConsoleSocket(ctx context.Context, path string, c *console.Console) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return fmt.Errorf("console socket: %s exists and is not a socket; move it away", path)
		}
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return fmt.Errorf("console socket: %s: %w", path, ErrSocketInUse)
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
