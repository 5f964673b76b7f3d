package appliance

import (
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"laned/appliance/appliancetest"
	"laned/hal/clock"
)

func TestNotifier(t *testing.T) {
	for _, tt := range []struct{ name, sock string }{
		{"path", ""},
		{"abstract", "@laned-notify-test-" + strconv.Itoa(os.Getpid())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, name := appliancetest.NotifyListener(t, tt.sock)
			n, err := newNotifier(appliancetest.Env(map[string]string{"NOTIFY_SOCKET": name}), 1)
			if err != nil || n == nil {
				t.Fatalf("newNotifier = %v, %v", n, err)
			}
			if err := n.Ready("serving 2 lanes\nsecond line"); err != nil {
				t.Fatal(err)
			}
			if got, want := appliancetest.ReadNotify(t, l), "READY=1\nSTATUS=serving 2 lanes second line"; got != want {
				t.Errorf("Ready sent %q; want %q", got, want)
			}
			n.Stopping()
			if got := appliancetest.ReadNotify(t, l); got != "STOPPING=1" {
				t.Errorf("Stopping sent %q", got)
			}
		})
	}
}

func TestNewNotifierEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		nil     bool
		wantErr bool
		every   time.Duration
	}{
		{"not under systemd", map[string]string{}, true, false, 0},
		{"no watchdog", map[string]string{"NOTIFY_SOCKET": "/run/x"}, false, false, 0},
		{"watchdog", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000"}, false, false, 10 * time.Second},
		{"watchdog for us", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "42"}, false, false, 10 * time.Second},
		{"watchdog for another", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "7"}, false, false, 0},
		{"bad usec", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "soon"}, true, true, 0},
		{"bad socket", map[string]string{"NOTIFY_SOCKET": "vsock:2:3"}, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := newNotifier(appliancetest.Env(tt.env), 42)
			if (err != nil) != tt.wantErr || (n == nil) != tt.nil {
				t.Fatalf("newNotifier(%v) = %v, %v; want nil %v, error %v", tt.env, n, err, tt.nil, tt.wantErr)
			}
			if got := n.WatchdogInterval(); got != tt.every {
				t.Errorf("WatchdogInterval = %v; want %v", got, tt.every)
			}
		})
	}
	var n *notifier // not under systemd: every call is a no-op
	if err := n.Ready("x"); err != nil {
		t.Errorf("nil notifier Ready = %v", err)
	}
}

func TestWatchdog(t *testing.T) {
	l, name := appliancetest.NotifyListener(t, "")
	n, _ := newNotifier(appliancetest.Env(map[string]string{"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "4000000"}), 1)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	ctx, cancel := context.WithCancel(context.Background())
	sick := make(chan error, 10)
	healthy := make(chan error, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Watchdog(ctx, clk, func() error { return <-healthy }, func(err error) { sick <- err })
	}()
	healthy <- nil
	if got := appliancetest.ReadNotify(t, l); got != "WATCHDOG=1" {
		t.Fatalf("first ping %q; want WATCHDOG=1", got)
	}
	clk.WaitPending(1)
	healthy <- errors.New("lanes stopped")
	clk.Advance(2 * time.Second)
	if err := <-sick; err == nil || err.Error() != "lanes stopped" {
		t.Errorf("onSick got %v; want lanes stopped", err)
	}
	clk.WaitPending(1)
	healthy <- nil
	clk.Advance(2 * time.Second)
	if got := appliancetest.ReadNotify(t, l); got != "WATCHDOG=1" {
		t.Fatalf("ping after recovery %q; want WATCHDOG=1", got)
	}
	cancel()
	<-done
}
