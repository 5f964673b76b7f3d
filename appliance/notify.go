package appliance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"laned/hal/clock"
)

// notifier speaks systemd's notify protocol (sd_notify(3)): datagrams of
// "KEY=value" lines to the unix socket named by $NOTIFY_SOCKET. A name
// starting with '@' is in the abstract namespace; Go's net package maps
// the '@' to the leading NUL byte. A nil *notifier (not under systemd)
// ignores every call.
type notifier struct {
	addr     *net.UnixAddr
	watchdog time.Duration // $WATCHDOG_USEC; 0: no watchdog
}

// errNotifyAddr reports a $NOTIFY_SOCKET that is not a unix socket path.
var errNotifyAddr = errors.New("notify: NOTIFY_SOCKET is neither a path nor an abstract name")

// newNotifier reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID
// through getenv. It returns nil, nil when not started by systemd with
// Type=notify. pid is this process's id: a watchdog meant for another
// process is ignored.
func newNotifier(getenv func(string) string, pid int) (*notifier, error) {
	sock := getenv("NOTIFY_SOCKET")
	if sock == "" {
		return nil, nil
	}
	if sock[0] != '/' && sock[0] != '@' {
		return nil, errNotifyAddr
	}
	n := &notifier{addr: &net.UnixAddr{Name: sock, Net: "unixgram"}}
	if us := getenv("WATCHDOG_USEC"); us != "" {
		v, err := strconv.ParseUint(us, 10, 63)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("notify: bad WATCHDOG_USEC %q", us)
		}
		if p := getenv("WATCHDOG_PID"); p == "" || p == strconv.Itoa(pid) {
			n.watchdog = time.Duration(v) * time.Microsecond
		}
	}
	return n, nil
}

// Notify sends one state message, e.g. "READY=1\nSTATUS=serving".
func (n *notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// Ready tells systemd the daemon serves, with a status line.
func (n *notifier) Ready(status string) error {
	return n.Notify("READY=1\nSTATUS=" + oneLine(status))
}

// Status updates the status line `systemctl status` shows.
func (n *notifier) Status(status string) error { return n.Notify("STATUS=" + oneLine(status)) }

// Stopping tells systemd the daemon is shutting down.
func (n *notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Reloading tells systemd a SIGHUP reload runs; Ready ends it.
func (n *notifier) Reloading() error { return n.Notify("RELOADING=1") }

// WatchdogInterval is how often Watchdog pings: half the timeout, as
// sd_watchdog_enabled(3) advises; 0 when there is no watchdog.
func (n *notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog / 2
}

// Watchdog sends WATCHDOG=1 every WatchdogInterval until ctx ends, but
// only while healthy() holds: a daemon whose lanes or server stopped
// lets the watchdog fire and systemd restart it. Without a watchdog it
// returns at once.
func (n *notifier) Watchdog(ctx context.Context, clk clock.Clock, healthy func() error, onSick func(error)) {
	every := n.WatchdogInterval()
	if every <= 0 {
		return
	}
	clock.Every(ctx, clock.Or(clk), 0, every, func() {
		if err := healthy(); err != nil {
			if onSick != nil {
				onSick(err)
			}
		} else if err := n.Notify("WATCHDOG=1"); err != nil && onSick != nil {
			onSick(err)
		}
	})
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
