package update

import (
	"sync"
	"time"

	"laned/hal/clock"
)

// Restart is the one way from an installed update to the new binary
// running, whichever path installed it: the scheduled pull (Updater.Run
// and Check) and a push applied at the console (Apply) both ask the
// daemon's Restart once the new binary is live on trial; the daemon waits
// on Requested and stops cleanly, so that systemd (Restart=always) starts
// the new binary, which the guard counts and the trial commits or rolls
// back. The command line (`laned update apply`, another process) has no
// Restart: it asks systemd to restart the service, which stops the daemon
// the same clean way.
//
// The request is delivered a grace period after it is made: time for the
// console that applied the update to answer before its session closes.
// The first request stands; later ones change nothing.
type Restart struct {
	clk   clock.Clock
	grace time.Duration
	once  sync.Once
	ch    chan Result
}

// NewRestart returns a Restart that delivers its request grace after it
// is made, timed by clk (nil: the real clock).
func NewRestart(clk clock.Clock, grace time.Duration) *Restart {
	return &Restart{clk: clock.Or(clk), grace: max(grace, 0), ch: make(chan Result, 1)}
}

// Request asks for a restart into res if res installed a binary, and
// reports whether it asked. It never blocks. On a nil Restart it asks
// nothing.
func (r *Restart) Request(res Result) bool {
	if r == nil || !res.Installed {
		return false
	}
	r.once.Do(func() {
		r.clk.AfterFunc(r.grace, func() { r.ch <- res })
	})
	return true
}

// Requested delivers the Result of the first request, grace after it was
// made.
func (r *Restart) Requested() <-chan Result { return r.ch }
