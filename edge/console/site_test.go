package console_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"laned/edge/console"
	"laned/edge/console/consoletest"
	"laned/hal/clock"
)

// siteConsole is a console over the fake with a site: this box a
// (gateway unless lane), b reachable, c silent for 2h, d never heard
// since this box started 40 minutes ago.
func siteConsole(t *testing.T, gateway bool) (*console.Console, *consoletest.Backend) {
	t.Helper()
	b := consoletest.New(t0)
	b.SiteState = console.SiteInfo{
		Box: "a", Gateway: gateway, Head: 120, Published: 118, Links: 2, Since: t0.Add(-40 * time.Minute),
		TakeoverAfter: 30 * time.Minute,
		Members: []console.SiteMemberInfo{
			{Box: "b", Reachable: true, LastHello: t0.Add(-time.Second), Head: 57, Published: 57, Applied: 57, Entries: []int{2}, Exits: []int{2}},
			{Box: "c", LastHello: t0.Add(-2 * time.Hour), Head: 80, Published: 80, Applied: 75, Lag: 5, LagTime: 3 * time.Minute, Exits: []int{3}, Queued: 4},
			{Box: "d", Head: 0, Applied: 12, Queued: -1},
		},
	}
	b.SiteTaken = 7
	c := console.New(console.Options{Backend: b.Roles(), Clock: clock.NewFake(t0), Location: time.FixedZone("CST", 8*3600), Name: "test"})
	return c, b
}

func TestSiteCommand(t *testing.T) {
	tests := []struct {
		name      string
		lane      bool // this box is a lane box, not the gateway
		args      string
		want      []string
		wantErr   string
		wantCalls []string
	}{
		{name: "table", args: "site", want: []string{
			"box  a (gateway), 2 links up",
			"log  head 120, published 118 (2 not yet on the site)",
			"BOX  ROLE   REACHABLE  LAST HEARD  HEAD  APPLIED  LAG       LANES",
			"b    lanes  yes        1s ago      57    57       -         in 2, out 2",
			"c    lanes  NO         2h0m0s ago  80    75       5 (3m0s)  out 3",
			"d    lanes  NO         never       0     12       -         -",
		}},
		{name: "lane box", lane: true, args: "site", want: []string{"box  a (lane box), 2 links up"}},
		{name: "preview", args: "site takeover c", want: []string{
			"box c silent since 2025-03-01 12:03:22 (2h0m0s ago); its changes applied here up to 75 of 80.",
			"This box will send its 4 queued uplinks (as this box knows them) from now on. Box c must stay off the site:",
			"To do it: site takeover c confirm REASON",
		}},
		{name: "never heard, since start", args: "site takeover d", want: []string{"box d silent since 2025-03-01 13:23:22 (40m0s ago)", "This box will send its queued uplinks (as"}},
		{name: "confirmed", args: "site takeover c confirm box c burnt", want: []string{"box c: 7 queued uplinks taken over; this box sends them (audited: box c burnt)"},
			wantCalls: []string{"takeover c box c burnt"}},
		{name: "CONFIRM", args: "site TAKEOVER c CONFIRM x", want: []string{"7 queued uplinks taken over"}, wantCalls: []string{"takeover c x"}},
		{name: "no reason", args: "site takeover c confirm", wantErr: "site takeover c confirm: a reason is required for the audit log: site takeover c confirm REASON"},
		{name: "not confirm", args: "site takeover c yes x", wantErr: `site takeover c: "yes" is not confirm; usage: site takeover c confirm REASON`},
		{name: "reachable", args: "site takeover b confirm x", wantErr: "site takeover b: box b is reachable: it sends its own uplinks (two senders would charge twice)"},
		{name: "lane box refuses", lane: true, args: "site takeover c confirm x", wantErr: "site takeover c: only the gateway takes over another box's uplinks; this box is a"},
		{name: "self", args: "site takeover a", wantErr: "site takeover a: this box sends its own uplinks"},
		{name: "unknown", args: "site takeover zz", wantErr: `site takeover zz: no box "zz" in this site (members: b, c, d)`},
		{name: "usage", args: "site restart", wantErr: "site: usage: site [takeover BOX [confirm REASON]]"},
		{name: "usage takeover", args: "site takeover", wantErr: "site: usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, b := siteConsole(t, !tt.lane)
			var out bytes.Buffer
			err := c.Exec(context.Background(), strings.Fields(tt.args), &out)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Exec(%q) = %v; want nil", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Exec(%q) = %v; want an error containing %q", tt.args, err, tt.wantErr)
			}
			consoletest.WantInOrder(t, "Exec("+tt.args+")", out.String(), tt.want...)
			if calls := b.CallList(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("Exec(%q) backend calls = %q; want %q", tt.args, calls, tt.wantCalls)
			}
		})
	}
}

// A box silent for less than takeover_after cannot be taken over yet.
func TestSiteTakeoverTooSoon(t *testing.T) {
	c, b := siteConsole(t, true)
	b.Lock()
	b.SiteState.Members[1].LastHello = t0.Add(-10 * time.Minute)
	b.Unlock()
	var out bytes.Buffer
	err := c.Exec(context.Background(), []string{"site", "takeover", "c", "confirm", "x"}, &out)
	want := "site takeover c: box c silent for 10m0s only: takeover is allowed after 30m0s ([site] takeover_after)"
	if err == nil || err.Error() != want {
		t.Fatalf("takeover too soon = %v; want %q", err, want)
	}
	if calls := b.CallList(); len(calls) != 0 {
		t.Errorf("backend calls %q; want none", calls)
	}
	b.Lock()
	b.SiteErr = errors.New("store: takeover: disk full")
	b.SiteState.Members[1].LastHello = t0.Add(-time.Hour)
	b.Unlock()
	err = c.Exec(context.Background(), []string{"site", "takeover", "c", "confirm", "x"}, &out)
	if err == nil || err.Error() != "site takeover c: store: takeover: disk full" {
		t.Errorf("takeover failing = %v; want the backend's error", err)
	}
}

// Without [site] the command says so and takes nothing over.
func TestSiteAlone(t *testing.T) {
	c, _ := newConsole(t, console.Options{})
	var out bytes.Buffer
	if err := c.Exec(context.Background(), []string{"site"}, &out); err != nil || !strings.Contains(out.String(), "this box is the car park's only one") {
		t.Errorf("site alone = %q, %v", out.String(), err)
	}
	if err := c.Exec(context.Background(), []string{"site", "takeover", "c", "confirm", "x"}, &out); err == nil || !strings.Contains(err.Error(), "only one") {
		t.Errorf("site takeover alone = %v; want a refusal", err)
	}
}

func TestTakeoverRefusal(t *testing.T) {
	s := console.SiteInfo{Box: "a", Gateway: true, Since: t0.Add(-time.Hour), TakeoverAfter: 30 * time.Minute,
		Members: []console.SiteMemberInfo{{Box: "c", LastHello: t0.Add(-31 * time.Minute)}, {Box: "d"}}}
	if why := s.TakeoverRefusal("c", t0); why != "" {
		t.Errorf("TakeoverRefusal(c silent 31m) = %q; want allowed", why)
	}
	if why := s.TakeoverRefusal("d", t0); why != "" {
		t.Errorf("TakeoverRefusal(d never heard in 1h) = %q; want allowed", why)
	}
	if why := s.TakeoverRefusal("c", t0.Add(-2*time.Minute)); why == "" {
		t.Errorf("TakeoverRefusal(c silent 29m) allowed; want refused")
	}
}
