package soak

import (
	"context"
	"os"
	"strings"
	"testing"

	"laned/internal/progress"
)

// The sim board of a running `laned run` is drivable from outside: the
// console's sim commands move vehicles, the simulated clock ([board]
// clock = "sim") jumps an hour and more, and the platform simulator's
// driver pays by plate and by scan, so that a charged stay and the expiry
// of a payment's grace are played against the real process.
func TestSimClockDaemon(t *testing.T) {
	rg := newRig(t)
	logf := rg.log
	body := readFile(t, rg.cfg)
	body = strings.Replace(body, "[board]\nprofile = \"sim\"\n", "[board]\nprofile = \"sim\"\nclock = \"sim\"\n", 1)
	if err := os.WriteFile(rg.cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _, err := rg.start(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, readFile(t, logf.Name()))
	}
	defer p.stop()
	cc, err := dialConsole(rg.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall) // a hang guard
	defer cancel()

	do := func(cmd, want string) string {
		t.Helper()
		out, err := cc.do(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if !strings.Contains(out, want) {
			t.Fatalf("%s printed %q; want %q\nlaned log:\n%s", cmd, out, want, tail(readFile(t, logf.Name()), 30))
		}
		return out
	}
	lane := func(name string, ok func(laneRow) bool, what string) {
		t.Helper()
		if err := waitFor(ctx, func() (bool, error) {
			rows, err := cc.lanes()
			return err == nil && ok(rows[name]), err
		}); err != nil {
			rows, _ := cc.lanes()
			t.Fatalf("%s: %v; lanes %+v", what, err, rows)
		}
	}
	closed := func(r laneRow) bool { return r.barrier == "closed" }
	up := func(r laneRow) bool { return r.barrier == "open" || r.barrier == "opening" }
	waiting := func(r laneRow) bool { return strings.HasPrefix(r.state, "waiting to pay") }

	const plate = "京A12345"
	do("sim arrive in1 "+plate, "arming loop")
	lane("in1", up, "entry barrier up")
	do("sim pass in1", "done")
	lane("in1", closed, "entry barrier down")
	before := do("time", "")

	// An hour and three quarters: 5 yuan the first hour, 2 yuan each
	// further half hour begun. The clock follows real time besides, by
	// seconds here: far from the next half hour.
	do("sim advance 1h45m", "now ")
	if after := do("time", ""); after == before {
		t.Fatalf("time did not move: %q", after)
	}
	do("sim payplate "+plate, "paid 9.00 yuan")
	// Past the 15-minute grace the payment earned: the exit asks for the
	// half hour begun since.
	do("sim advance 20m", "now ")
	do("sim arrive out1 "+plate, "arming loop")
	lane("out1", waiting, "exit waits for the rest")
	do("sim scanpay 1", "paid 2.00 yuan for "+plate)
	lane("out1", up, "exit barrier up once paid")
	do("sim pass out1", "done")
	lane("out1", closed, "exit barrier down")
	out := do("records "+plate, plate)
	if !strings.Contains(out, "closed") {
		t.Errorf("records %s = %q; want the record closed", plate, out)
	}
	do("sim advance -1h", "want e.g. 90m")
	report(t, "sim clock daemon: 1h45m stay paid by plate 9.00, grace expired after 20m, 2.00 more by scan")
}
