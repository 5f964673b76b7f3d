package edge

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"laned/edge/console"
)

// The console's commands against the real appliance: what a technician
// sees after a car came in.
func TestConsoleBackend(t *testing.T) {
	h := newHarness(t)
	rec := h.enter("京A12345")
	h.advance(2 * time.Hour)
	h.exit.Arrive("京A12345")
	h.settle()
	b := &Console{Ctl: h.ctl, Who: "console test", VersionText: "v9.9.9", ConfigText: func() string { return "appsecret = ****" }}
	c := console.New(console.Options{Backend: b.Roles(), Clock: h.clk})
	tests := []struct {
		cmd  string
		want []string
	}{
		{"lanes", []string{"entry1", "exit1", "waiting to pay", "京A12345"}},
		{"records", []string{rec.ID, "京A12345"}},
		{"record " + rec.ID, []string{"京A12345", "entry1"}},
		{"quote 京A12345", []string{"9.00"}},
		{"quote 75", []string{"7.00"}},
		{"spaces", []string{"500"}},
		{"queue", []string{}},
		{"camera exit1", []string{"京A12345"}},
		{"loops", []string{"arming", "safety"}},
		{"version", []string{"v9.9.9"}},
		{"config", []string{"****"}},
		{"time", []string{"Asia/Shanghai"}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			var out bytes.Buffer
			if err := c.Exec(context.Background(), strings.Fields(tt.cmd), &out); err != nil {
				t.Fatalf("%s: %v", tt.cmd, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("%s printed:\n%s\nwant it to contain %q", tt.cmd, out.String(), w)
				}
			}
		})
	}
	// A guard opens the exit for the waiting car: audited, pay_type 8.
	before := opens(h.exit)
	var out bytes.Buffer
	if err := c.Exec(context.Background(), []string{"lane", "exit1", "open", "ambulance"}, &out); err != nil {
		t.Fatalf("lane exit1 open: %v (%s)", err, out.String())
	}
	h.leaveExit(before)
	got := h.closed(rec.ID)
	if len(got.Items) != 1 || got.Items[0].PayType != 8 || got.Items[0].ShouldPay != 900 {
		t.Errorf("manual open charge items = %+v; want pay_type 8 waiving 900", got.Items)
	}
	out.Reset()
	if err := c.Exec(context.Background(), []string{"log", "5"}, &out); err != nil || !strings.Contains(out.String(), "ambulance") {
		t.Errorf("log after a manual open = %v:\n%s\nwant the reason", err, out.String())
	}
	if _, err := b.Sim(context.Background(), []string{"x"}); err != console.ErrNotSim {
		t.Errorf("Sim on a backend without a board = %v; want ErrNotSim", err)
	}
}

// TestConsoleRoles: the update and sim roles are there only when the
// daemon gives them, so the console answers "not configured" and "not the
// sim board" itself.
func TestConsoleRoles(t *testing.T) {
	noop := func(context.Context, string) (string, error) { return "", nil }
	tests := []struct {
		name             string
		b                Console
		wantUpd, wantSim bool
	}{
		{name: "bare", b: Console{}},
		{name: "updates", b: Console{UpdateStat: func() (string, error) { return "", nil }, UpdateApplyF: noop}, wantUpd: true},
		{name: "sim", b: Console{SimF: func(context.Context, []string) (string, error) { return "", nil }}, wantSim: true},
	}
	for _, tt := range tests {
		r := tt.b.Roles()
		if r.Lanes == nil || r.Records == nil || r.Queue == nil || r.System == nil || r.Display == nil {
			t.Errorf("%s: Roles() = %+v; want lanes, records, queue, system and display", tt.name, r)
		}
		if gotUpd, gotSim := r.Update != nil, r.Sim != nil; gotUpd != tt.wantUpd || gotSim != tt.wantSim {
			t.Errorf("%s: Roles() update %v, sim %v; want %v, %v", tt.name, gotUpd, gotSim, tt.wantUpd, tt.wantSim)
		}
	}
}
