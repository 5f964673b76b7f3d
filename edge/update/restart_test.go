package update

import (
	"context"
	"testing"
	"time"

	"laned/hal/clock"
)

// TestRestartOnePath: a release pulled on schedule and one pushed (as the
// console's update apply does) both end in the one Restart request, which
// the daemon receives a grace after the install and not before.
func TestRestartOnePath(t *testing.T) {
	pub, priv := testKey(1)
	good := makeRelease(t, priv, "v1.1.0", 10_000)
	tests := []struct {
		name    string
		install func(t *testing.T, e *env) (Result, error)
	}{
		{"pull: Run", func(t *testing.T, e *env) (Result, error) {
			e.opts.BaseURL = newServer(t, good).URL
			u, err := New(e.opts)
			if err != nil {
				t.Fatal(err)
			}
			return u.Run(context.Background()) // returns once it installed
		}},
		{"pull: Check", func(t *testing.T, e *env) (Result, error) {
			e.opts.BaseURL = newServer(t, good).URL
			u, err := New(e.opts)
			if err != nil {
				t.Fatal(err)
			}
			return u.Check(context.Background())
		}},
		{"push: Apply", func(t *testing.T, e *env) (Result, error) {
			return Apply(context.Background(), writeFile(t, t.TempDir(), "b", good.bundle(t)), e.opts)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, pub, "v1.0.0")
			rclk := clock.NewFake(t0)
			e.opts.Restart = NewRestart(rclk, time.Second)
			res, err := tt.install(t, e)
			if err != nil || !res.Installed {
				t.Fatalf("install = %+v, %v; want installed", res, err)
			}
			e.liveIs(t, good.bin)
			select {
			case r := <-e.opts.Restart.Requested():
				t.Fatalf("restart requested at once (%+v); want it a grace after the install", r)
			default:
			}
			if n := rclk.Pending(); n != 1 {
				t.Fatalf("restart timers pending = %d; want 1", n)
			}
			rclk.Advance(time.Second)
			if r := <-e.opts.Restart.Requested(); r != res {
				t.Errorf("Requested = %+v; want the install's %+v", r, res)
			}
		})
	}
}

// TestRestartOnlyForAnInstall: nothing installed asks nothing; the first
// request stands; a nil Restart (the command line's) asks nothing.
func TestRestartOnlyForAnInstall(t *testing.T) {
	pub, priv := testKey(1)
	same := makeRelease(t, priv, "v1.0.0", 1000) // not newer
	e := newEnv(t, pub, "v1.0.0")
	rclk := clock.NewFake(t0)
	r := NewRestart(rclk, 0)
	e.opts.Restart, e.opts.BaseURL = r, newServer(t, same).URL
	u, err := New(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := u.Check(context.Background()); err != nil || res.Installed {
		t.Fatalf("Check of the running version = %+v, %v; want nothing installed", res, err)
	}
	if n := rclk.Pending(); n != 0 {
		t.Fatalf("restart timers after nothing installed = %d; want 0", n)
	}
	select {
	case got := <-r.Requested():
		t.Fatalf("Requested after nothing installed = %+v; want nothing", got)
	default:
	}

	first := Result{Installed: true, Version: "v1.1.0", From: "v1.0.0"}
	if !r.Request(first) || !r.Request(Result{Installed: true, Version: "v1.2.0"}) {
		t.Fatal("Request of an install = false; want true")
	}
	if got := <-r.Requested(); got != first {
		t.Errorf("Requested = %+v; want the first request %+v", got, first)
	}
	select {
	case got := <-r.Requested():
		t.Errorf("a second delivery %+v; want the first request only", got)
	default:
	}

	var none *Restart
	if none.Request(first) {
		t.Error("nil Restart: Request = true; want false")
	}
}
