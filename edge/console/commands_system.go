package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// systemCommands show the appliance as a whole: its summary, the uplink
// queue and the platform, clock, configuration, audit log, version,
// update and the sim board.
var systemCommands = []command{
	{"status", "status", "the one-screen summary: clock, platform, queue, spaces, lanes", "Clock (and whether it is set), platform reachability as last known, uplink queue depth and its oldest entry, free spaces, and each lane with its barrier.", cmdStatus},
	{"queue", "queue [retry]", "the uplink queue: counts, oldest, last error; retry sends now", "queue shows what waits for the platform. queue retry wakes the sender to try now instead of at its next backoff.", cmdQueue},
	{"spaces", "spaces", "free and total spaces", "", cmdSpaces},
	{"config", "config", "the running configuration (secrets masked)", "", cmdConfig},
	{"net", "net", "probe the platform now: can it be reached", "", cmdNet},
	{"time", "time", "the wall clock, its zone, and whether it is set", "A controller without a real-time clock reads 1970 until NTP answers; until then times are estimated from the build time and shown as NOT SET.", cmdTime},
	{"log", "log [N]", "the last N audit entries (default 20)", fmt.Sprintf("N is 1 to %d; newest first.", maxLogN), cmdLog},
	{"update", "update status|apply PATH", "the update state, or install a signed bundle", "update status shows the running and previous versions and any trial in progress. update apply PATH installs the signed bundle file at PATH (a USB stick, a file copied by scp).", cmdUpdate},
	{"version", "version", "the firmware version", "", cmdVersion},
	{"sim", "sim ARGS…", "drive the simulated loops, plates and camera (sim board only)", "Only on the sim board. sim help lists what the simulator understands.", cmdSim},
}

func cmdStatus(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("status", args); err != nil {
		return err
	}
	st := c.b.System.Status()
	tw := newTab(w)
	fmt.Fprintf(tw, "clock\t%s\n", c.clockLine(st.Time))
	fmt.Fprintf(tw, "platform\t%s\n", c.netLine(st.Net))
	fmt.Fprintf(tw, "queue\t%s\n", c.queueLine(st.Queue))
	fmt.Fprintf(tw, "spaces\t%d free of %d\n", st.Spaces.Free, st.Spaces.Total)
	tw.Flush()
	c.laneTable(w, st.Lanes)
	return nil
}

func (c *Console) clockLine(t TimeInfo) string {
	s := c.fmtTime(t.Now) + " " + t.Zone
	if t.Unset {
		s += "  NOT SET: estimated from the build time until NTP answers"
	}
	return s
}

func (c *Console) netLine(n NetInfo) string {
	switch {
	case n.CheckedAt.IsZero() && !n.Reachable:
		return "not checked yet (net probes now)"
	case n.Reachable:
		return fmt.Sprintf("reachable (checked %s)", c.ago(n.CheckedAt))
	}
	s := fmt.Sprintf("UNREACHABLE (checked %s)", c.ago(n.CheckedAt))
	if n.Err != "" {
		s += ": " + n.Err
	}
	return s
}

func (c *Console) queueLine(q QueueInfo) string {
	s := "empty"
	if q.Pending > 0 {
		s = fmt.Sprintf("%d pending, oldest %s", q.Pending, c.ago(q.Oldest))
		if q.LastError != "" {
			s += ", last error: " + q.LastError
		}
	}
	if q.DeadTotal > 0 {
		s += fmt.Sprintf("; %d dead-lettered (see queue)", q.DeadTotal)
	}
	return s
}

func cmdQueue(ctx context.Context, c *Console, w io.Writer, args []string) error {
	switch {
	case len(args) == 1 && strings.EqualFold(args[0], "retry"):
		n, err := c.b.Queue.QueueRetry(ctx)
		if err != nil {
			return fmt.Errorf("queue retry: %w", err)
		}
		fmt.Fprintf(w, "queue: sending now, %d uplinks due\n", n)
		return nil
	case len(args) != 0:
		return usageErr("queue")
	}
	q := c.b.Queue.Queue()
	tw := newTab(w)
	pend := strconv.Itoa(q.Pending)
	if len(q.Counts) > 0 {
		kinds := make([]string, 0, len(q.Counts))
		for k := range q.Counts {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, q.Counts[k])
		}
		pend += " (" + strings.Join(parts, ", ") + ")"
	}
	fmt.Fprintf(tw, "pending\t%s\n", pend)
	if q.Pending > 0 {
		fmt.Fprintf(tw, "oldest\t%s (%s)\n", c.fmtTime(q.Oldest), c.ago(q.Oldest))
	}
	fmt.Fprintf(tw, "last sent\t%s\n", c.fmtTime(q.LastSent))
	if q.LastError != "" {
		fmt.Fprintf(tw, "last error\t%s (%s)\n", text(q.LastError), c.ago(q.LastErrorAt))
	} else {
		fmt.Fprintf(tw, "last error\tnone\n")
	}
	tw.Flush()
	if q.DeadTotal > 0 {
		fmt.Fprintf(w, "dead-lettered: %d kept, %d ever (refused again and again, or too old); newest:\n", q.Dead, q.DeadTotal)
		for _, d := range q.DeadLast {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	return nil
}

func cmdSpaces(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("spaces", args); err != nil {
		return err
	}
	s := c.b.System.Spaces()
	fmt.Fprintf(w, "%d free of %d (%d occupied)\n", s.Free, s.Total, s.Total-s.Free)
	return nil
}

func cmdConfig(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("config", args); err != nil {
		return err
	}
	cfg := c.b.System.Config()
	io.WriteString(w, cfg)
	if !strings.HasSuffix(cfg, "\n") {
		io.WriteString(w, "\n")
	}
	return nil
}

func cmdNet(ctx context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("net", args); err != nil {
		return err
	}
	n, err := c.b.Queue.Net(ctx)
	if err != nil {
		return fmt.Errorf("net: %w", err)
	}
	if n.Reachable {
		fmt.Fprintf(w, "platform %s: reachable in %s\n", n.Endpoint, n.Latency.Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(w, "platform %s: UNREACHABLE: %s\n", n.Endpoint, orDash(text(n.Err)))
	fmt.Fprintln(w, "lanes go on offline and uplinks queue; check the cable or modem, DNS and the platform address in config, then: net")
	return nil
}

func cmdTime(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("time", args); err != nil {
		return err
	}
	t := c.b.System.Time()
	fmt.Fprintf(w, "%s %s (UNIX %d)\n", c.fmtTime(t.Now), t.Zone, t.Now.Unix())
	if t.Unset {
		fmt.Fprintln(w, "wall clock NOT SET: times are estimated from the build time until NTP answers; check the network and NTP")
	}
	return nil
}

func cmdLog(_ context.Context, c *Console, w io.Writer, args []string) error {
	n := defaultLogN
	switch len(args) {
	case 0:
	case 1:
		v, err := strconv.Atoi(args[0])
		if err != nil || v < 1 || v > maxLogN {
			return fmt.Errorf("log: N must be a number from 1 to %d, as in: log 50", maxLogN)
		}
		n = v
	default:
		return usageErr("log")
	}
	lines := c.b.System.Log(n)
	tw := newTable(w, len(lines), "audit log is empty", "TIME\tWHO\tACTION\tDETAIL")
	if tw == nil {
		return nil
	}
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.fmtTime(l.At), text(l.Who), l.Action, text(l.Detail))
	}
	tw.Flush()
	return nil
}

func cmdUpdate(ctx context.Context, c *Console, w io.Writer, args []string) error {
	switch {
	case len(args) == 1 && strings.EqualFold(args[0], "status"):
		s, err := c.updateStatus()
		if err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		fmt.Fprintln(w, strings.TrimRight(s, "\n"))
		return nil
	case len(args) == 2 && strings.EqualFold(args[0], "apply"):
		c.log.Info("console update apply", "session", c.name, "path", args[1])
		s, err := c.updateApply(ctx, args[1])
		if err != nil {
			return fmt.Errorf("update apply %s: %w", args[1], err)
		}
		fmt.Fprintln(w, strings.TrimRight(s, "\n"))
		return nil
	}
	return usageErr("update")
}

// ErrNoUpdates is what a Backend without the update role answers to
// update apply: updates are not configured on this controller.
var ErrNoUpdates = errors.New("updates are not configured on this controller")

// updateStatus and updateApply answer for a controller without updates
// as one with them would.
func (c *Console) updateStatus() (string, error) {
	if c.b.Update == nil {
		return "updates are not configured", nil
	}
	return c.b.Update.UpdateStatus()
}

func (c *Console) updateApply(ctx context.Context, path string) (string, error) {
	if c.b.Update == nil {
		return "", ErrNoUpdates
	}
	return c.b.Update.UpdateApply(ctx, path)
}

func cmdVersion(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("version", args); err != nil {
		return err
	}
	fmt.Fprintln(w, c.b.System.Version())
	return nil
}

func cmdSim(ctx context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) == 0 {
		return usageErr("sim")
	}
	if c.b.Sim == nil {
		return errNotSimBoard
	}
	s, err := c.b.Sim.Sim(ctx, args)
	if errors.Is(err, ErrNotSim) {
		return errNotSimBoard
	}
	if err != nil {
		return fmt.Errorf("sim %s: %w", args[0], err)
	}
	if s != "" {
		fmt.Fprintln(w, strings.TrimRight(s, "\n"))
	}
	return nil
}

var errNotSimBoard = errors.New("sim: this is not the sim board: sim commands drive simulated hardware only; use lane, loops and camera here")
