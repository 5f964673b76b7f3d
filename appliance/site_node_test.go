package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"laned/cmb"
	"laned/edge/console"
	"laned/hal/clock"
	"laned/internal/progress"
)

// Two boxes on the real site (embedded NATS, a leafnode link on
// loopback): each sees the other with its lanes, an entry at the lane
// box reaches the gateway's store and its status shows it applied, and
// the gateway's calc of the lane box's exit is answered by that box.
func TestRealSiteTwoBoxes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hub := l.Addr().String()
	l.Close()
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var aAddr net.Addr
	start := func(cfgSite string, code int) (*Daemon, chan error) {
		cfg := siteTestConfigCode(t, code, cfgSite)
		cfg.Board.Profile = "sim"
		serving := make(chan struct{})
		d, err := Build(ctx, cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)), Options{Clock: clk, OnServing: func(ad net.Addr) {
			if code == 1 {
				aAddr = ad
			}
			close(serving)
		}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		<-serving
		return d, done
	}
	a, aDone := start(fmt.Sprintf("[site]\nbox = \"a\"\nmembers = [\"a\", \"b\"]\ngateway = true\nlisten = %q\ncredentials = \"site.creds\"\n", hub), 1)
	b, bDone := start(fmt.Sprintf("[site]\nbox = \"b\"\nmembers = [\"a\", \"b\"]\nhub = [\"nats-leaf://%s\"]\ncredentials = \"site.creds\"\n", hub), 2)

	member := func(d *Daemon, box string) console.SiteMemberInfo {
		for _, m := range d.SiteStatus().Members {
			if m.Box == box {
				return m
			}
		}
		return console.SiteMemberInfo{}
	}
	progress.Until(t, "a and b see each other", func() bool {
		return member(a, "b").Reachable && member(b, "a").Reachable
	}, still)
	st := a.SiteStatus()
	if st.Box != "a" || !st.Gateway || st.Links != 1 || st.Since.IsZero() {
		t.Errorf("a's status = %+v; want box a, gateway, one link", st)
	}
	// b's first heartbeat may go before its lanes are set (SetLanes
	// follows Start): the next one carries them.
	progress.Until(t, "a sees b's lanes", func() bool { return slices.Equal(member(a, "b").Exits, []int{2}) }, still)
	if m := member(a, "b"); m.Gateway || !slices.Equal(m.Entries, []int{2}) || !slices.Equal(m.Exits, []int{2}) {
		t.Errorf("a sees b as %+v; want a lane box with entry 2 and exit 2", m)
	}

	entry := b.SimLanes()[0]
	entry.Arrive("粤B77777")
	progress.Until(t, "b's entry opens", func() bool { return len(entry.Barrier.Log()) > 0 }, still)
	entry.PassThrough()
	progress.Until(t, "b's record", func() bool { _, err := b.Store().OpenByPlate("粤B77777"); return err == nil }, still)
	rec, err := b.Store().OpenByPlate("粤B77777")
	if err != nil {
		t.Fatal(err)
	}
	progress.Until(t, "the record at a", func() bool {
		_, err := a.Store().RecordByID(rec.ID)
		return err == nil
	}, still)
	progress.Until(t, "a's status shows b's changes applied", func() bool {
		m := member(a, "b")
		return m.Applied > 0 && m.Applied == m.Head && m.Lag == 0
	}, still)

	// The bank's scan of exit 2 at the gateway: box b answers (nothing
	// stands at its exit: status 3), not the gateway's "try again".
	_, err = cmb.CallDownlink(ctx, nil, "http://"+aAddr.String()+"/", "app1", siteTestSecret, "calc", url.Values{"park_code": {"4401"}, "out_code": {"2"}})
	var rej *cmb.RejectedError
	if !errors.As(err, &rej) || rej.Status != cmb.CalcNoPlate {
		t.Errorf("calc of b's exit at the gateway = %v; want b's status 3", err)
	}

	cancel()
	for _, done := range []chan error{aDone, bDone} {
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

// still is the progress of what happens over the network between the
// boxes, which the test cannot see: the waits end after progress.Stall
// (a broken test's bound, no timing assertion).
func still() any { return 0 }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
