package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of one screen.
const (
	recordsShown   = 20
	framesShown    = 10
	defaultLogN    = 20
	maxLogN        = 200
	maxQuoteMinute = 366 * 24 * 60
)

type command struct {
	name    string
	usage   string // "lane N open|close REASON"
	summary string // one line for help
	detail  string // for help CMD
	run     func(ctx context.Context, c *Console, w io.Writer, args []string) error
}

// commands in the order help lists them.
var commands []command

var commandIndex = map[string]*command{}

func init() {
	commands = []command{
		{"help", "help [CMD]", "list the commands, or explain one", "help alone lists every command; help CMD shows how to use CMD.", cmdHelp},
		{"status", "status", "the one-screen summary: clock, platform, queue, spaces, lanes", "Clock (and whether it is set), platform reachability as last known, uplink queue depth and its oldest entry, free spaces, and each lane with its barrier.", cmdStatus},
		{"lanes", "lanes", "the lanes with their barriers, states and cameras", "# is the lane's number: lane, camera and quote accept it as well as the lane's name.", cmdLanes},
		{"lane", "lane N open|close REASON", "raise or lower a barrier by hand (audited)", "N is the lane's name or number (see lanes). REASON is required and goes into the audit log; quote it or not: lane exit1 open \"fire drill\". close refuses while the safety loop is occupied.", cmdLane},
		{"loops", "loops", "the inductive loops: occupied or free, since when, faults", "", cmdLoops},
		{"camera", "camera N", "a lane's camera: online, last frames", "N is the lane's name or number (see lanes). Shows the port, whether frames arrive, rejected frames, and the last frames, newest first.", cmdCamera},
		{"records", "records [PLATE]", "the newest parking records, or those of a plate", fmt.Sprintf("Shows up to %d records, newest first. With PLATE, the records of that plate (look-alikes too).", recordsShown), cmdRecords},
		{"record", "record ID", "one parking record in full", "ID is the first column of records.", cmdRecord},
		{"arrears", "arrears [PLATE]", "fees owed (欠费): contactless charges refused after an offline release", "Each is collected at the plate's next exit, added to its fee with a charge item of its own. records and record show what a record owes.", cmdArrears},
		{"queue", "queue [retry]", "the uplink queue: counts, oldest, last error; retry sends now", "queue shows what waits for the platform. queue retry wakes the sender to try now instead of at its next backoff.", cmdQueue},
		{"quote", "quote PLATE|MINUTES", "the fee due for a car inside, or for a stay of MINUTES", "quote 京A12345 prices that car's open record as if it left now; quote 90 prices a 90-minute stay with the tariff.", cmdQuote},
		{"report", "report [YYYY-MM-DD]", "the day's reconciliation: entries, exits, money by channel, waived, owed", "report alone is today in the car park's zone; report 2026-03-01 another day. Fees due = collected + waived + owed for the day's exits, then payments by channel, after the exit, with another plate or another amount than quoted, and dead-lettered uplinks. laned report day -csv gives the same as CSV.", cmdReport},
		{"spaces", "spaces", "free and total spaces", "", cmdSpaces},
		{"config", "config", "the running configuration (secrets masked)", "", cmdConfig},
		{"net", "net", "probe the platform now: can it be reached", "", cmdNet},
		{"time", "time", "the wall clock, its zone, and whether it is set", "A controller without a real-time clock reads 1970 until NTP answers; until then times are estimated from the build time and shown as NOT SET.", cmdTime},
		{"log", "log [N]", "the last N audit entries (default 20)", fmt.Sprintf("N is 1 to %d; newest first.", maxLogN), cmdLog},
		{"update", "update status|apply PATH", "the update state, or install a signed bundle", "update status shows the running and previous versions and any trial in progress. update apply PATH installs the signed bundle file at PATH (a USB stick, a file copied by scp).", cmdUpdate},
		{"version", "version", "the firmware version", "", cmdVersion},
		{"sim", "sim ARGS…", "drive the simulated loops, plates and camera (sim board only)", "Only on the sim board. sim help lists what the simulator understands.", cmdSim},
		{"exit", "exit", "end the session (also Ctrl-D on an empty line)", "", cmdExit},
	}
	for i := range commands {
		commandIndex[commands[i].name] = &commands[i]
	}
	commandIndex["quit"] = commandIndex["exit"]
	commandIndex["logout"] = commandIndex["exit"]
	commandIndex["?"] = commandIndex["help"]
}

func usageErr(name string) error {
	cmd := commandIndex[name]
	return fmt.Errorf("%s: usage: %s (help %s explains)", name, cmd.usage, name)
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// fmtTime shows t in the car park's zone; "-" for the zero time.
func (c *Console) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05")
}

// ago says how long before now t was: "3m12s ago".
func (c *Console) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := c.clk.Now().Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func cmdHelp(_ context.Context, c *Console, w io.Writer, args []string) error {
	switch len(args) {
	case 0:
		tw := newTab(w)
		for _, cmd := range commands {
			fmt.Fprintf(tw, "  %s\t%s\n", cmd.usage, cmd.summary)
		}
		tw.Flush()
		fmt.Fprintln(w, "Words with spaces go in quotes. Ctrl-C drops a line, Ctrl-D leaves. help CMD explains CMD.")
		return nil
	case 1:
		cmd, ok := commandIndex[strings.ToLower(args[0])]
		if !ok {
			return fmt.Errorf("help: no command %q; type help for the list", args[0])
		}
		fmt.Fprintf(w, "usage: %s\n%s\n", cmd.usage, cmd.summary)
		if cmd.detail != "" {
			fmt.Fprintln(w, cmd.detail)
		}
		return nil
	}
	return usageErr("help")
}

func noArgs(name string, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%s: takes no arguments; type just: %s", name, name)
	}
	return nil
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

func (c *Console) laneTable(w io.Writer, lanes []LaneInfo) {
	if len(lanes) == 0 {
		fmt.Fprintln(w, "no lanes configured")
		return
	}
	tw := newTab(w)
	fmt.Fprintln(tw, "#\tLANE\tKIND\tBARRIER\tSTATE\tCAMERA\tDISPLAY")
	for i, l := range lanes {
		disp := l.Display
		if disp == "" {
			disp = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, l.ID, l.Kind, l.Barrier, l.State, yesNo(l.Camera, "online", "OFFLINE"), disp)
	}
	tw.Flush()
}

func cmdLanes(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("lanes", args); err != nil {
		return err
	}
	c.laneTable(w, c.b.Lanes.Lanes())
	return nil
}

// findLane resolves a lane's name (case-insensitive) or its number in the
// lanes listing.
func (c *Console) findLane(arg string) (string, error) {
	lanes := c.b.Lanes.Lanes()
	for _, l := range lanes {
		if l.ID == arg {
			return l.ID, nil
		}
	}
	for _, l := range lanes {
		if strings.EqualFold(l.ID, arg) {
			return l.ID, nil
		}
	}
	if n, err := strconv.Atoi(arg); err == nil && n >= 1 && n <= len(lanes) {
		return lanes[n-1].ID, nil
	}
	if len(lanes) == 0 {
		return "", errors.New("no such lane (no lanes are configured)")
	}
	ids := make([]string, len(lanes))
	for i, l := range lanes {
		ids[i] = l.ID
	}
	return "", fmt.Errorf("no such lane (lanes: %s, or their numbers 1 to %d)", strings.Join(ids, ", "), len(lanes))
}

func cmdLane(ctx context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) < 2 {
		return usageErr("lane")
	}
	id, err := c.findLane(args[0])
	if err != nil {
		return fmt.Errorf("lane %s: %w", args[0], err)
	}
	op := strings.ToLower(args[1])
	if op != "open" && op != "close" {
		return fmt.Errorf("lane %s: %q is not open or close; usage: lane N open|close REASON", args[0], args[1])
	}
	reason := strings.TrimSpace(strings.Join(args[2:], " "))
	if reason == "" {
		return fmt.Errorf("lane %s %s: a reason is required for the audit log: lane %s %s REASON", args[0], op, args[0], op)
	}
	c.log.Info("console lane "+op, "session", c.name, "lane", id, "reason", reason)
	if op == "open" {
		err = c.b.Lanes.LaneOpen(ctx, id, reason)
	} else {
		err = c.b.Lanes.LaneClose(ctx, id, reason)
	}
	if err != nil {
		return fmt.Errorf("lane %s %s: %w", id, op, err)
	}
	fmt.Fprintf(w, "lane %s: barrier %s commanded (audited: %s)\n", id, map[string]string{"open": "up", "close": "down"}[op], reason)
	return nil
}

func cmdLoops(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("loops", args); err != nil {
		return err
	}
	loops := c.b.Lanes.Loops()
	if len(loops) == 0 {
		fmt.Fprintln(w, "no loops configured")
		return nil
	}
	tw := newTab(w)
	fmt.Fprintln(tw, "LANE\tLOOP\tSTATE\tSINCE\tFAULT")
	for _, l := range loops {
		since := "-"
		if !l.Since.IsZero() {
			since = c.ago(l.Since)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Lane, l.Name, yesNo(l.Occupied, "occupied", "free"), since, orDash(text(l.Fault)))
	}
	tw.Flush()
	return nil
}

// text renders outside text (a plate, a platform's or a camera's
// message, an audit detail) for the terminal: as it is when every
// character is printable, else quoted with Go escapes, so that what came
// from outside can never move the cursor, recolour or reorder the screen.
func text(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdCamera(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) != 1 {
		return usageErr("camera")
	}
	id, err := c.findLane(args[0])
	if err != nil {
		return fmt.Errorf("camera %s: %w", args[0], err)
	}
	ci, err := c.b.Lanes.Camera(id)
	if err != nil {
		return fmt.Errorf("camera %s: %w", id, err)
	}
	tw := newTab(w)
	fmt.Fprintf(tw, "camera\t%s\t%s\n", id, orDash(ci.Port))
	fmt.Fprintf(tw, "online\t%s, last frame %s\n", yesNo(ci.Online, "yes", "NO"), c.ago(ci.LastSeen))
	fmt.Fprintf(tw, "rejected\t%d frames\n", ci.Errors)
	tw.Flush()
	if len(ci.Frames) == 0 {
		fmt.Fprintln(w, "no frames yet")
		return nil
	}
	if hasPictures(ci) {
		return writeNetFrames(c, w, ci)
	}
	tw = newTab(w)
	fmt.Fprintln(tw, "TIME\tKIND\tPLATE\tCOLOUR\tCONF\tERROR")
	for i, f := range ci.Frames {
		if i == framesShown {
			break
		}
		conf := "-"
		if f.Plate != "" {
			conf = strconv.Itoa(f.Conf)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.fmtTime(f.At), f.Kind, orDash(text(f.Plate)), orDash(f.Colour), conf, orDash(text(f.Err)))
	}
	tw.Flush()
	return nil
}

func cmdRecords(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) > 1 {
		return usageErr("records")
	}
	plate := ""
	if len(args) == 1 {
		plate = strings.ToUpper(args[0])
	}
	recs, err := c.b.Records.Records(plate, recordsShown)
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if len(recs) == 0 {
		if plate != "" {
			fmt.Fprintf(w, "no records for plate %s\n", text(plate))
		} else {
			fmt.Fprintln(w, "no records yet")
		}
		return nil
	}
	tw := newTab(w)
	fmt.Fprintln(tw, "ID\tPLATE\tSTATE\tIN\tOUT\tFEE\tPAID\tOWED")
	for _, r := range recs {
		owed := "-"
		if r.OwedFen > 0 {
			owed = FormatFen(r.OwedFen) + " " + r.Owing
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s %s\t%s\t%s\t%s\n", r.ID, text(r.Plate), r.State,
			orDash(r.EntryLane), c.fmtTime(r.EntryAt), orDash(r.ExitLane), c.fmtTime(r.ExitAt),
			FormatFen(r.FeeFen), FormatFen(r.PaidFen), owed)
	}
	tw.Flush()
	return nil
}

func cmdRecord(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) != 1 {
		return usageErr("record")
	}
	r, err := c.b.Records.Record(args[0])
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("record %s: no such record; find its ID with: records [PLATE]", args[0])
	}
	if err != nil {
		return fmt.Errorf("record %s: %w", args[0], err)
	}
	tw := newTab(w)
	fmt.Fprintf(tw, "id\t%s\n", r.ID)
	fmt.Fprintf(tw, "plate\t%s %s\n", text(r.Plate), r.Colour)
	fmt.Fprintf(tw, "state\t%s\n", r.State)
	fmt.Fprintf(tw, "entry\t%s %s\n", orDash(r.EntryLane), c.fmtTime(r.EntryAt))
	fmt.Fprintf(tw, "exit\t%s %s\n", orDash(r.ExitLane), c.fmtTime(r.ExitAt))
	fmt.Fprintf(tw, "fee\t%s\n", FormatFen(r.FeeFen))
	fmt.Fprintf(tw, "paid\t%s %s\n", FormatFen(r.PaidFen), r.Payment)
	if r.OwedFen > 0 {
		fmt.Fprintf(tw, "owed\t%s %s\n", FormatFen(r.OwedFen), r.Owing)
	}
	if r.Note != "" {
		fmt.Fprintf(tw, "note\t%s\n", text(r.Note))
	}
	tw.Flush()
	return nil
}

func cmdArrears(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) > 1 {
		return usageErr("arrears")
	}
	plate := ""
	if len(args) == 1 {
		plate = strings.ToUpper(args[0])
	}
	as, err := c.b.Records.Arrears(plate)
	if err != nil {
		return fmt.Errorf("arrears: %w", err)
	}
	if len(as) == 0 {
		if plate != "" {
			fmt.Fprintf(w, "no arrears for plate %s\n", plate)
		} else {
			fmt.Fprintln(w, "no arrears")
		}
		return nil
	}
	tw := newTab(w)
	fmt.Fprintln(tw, "PLATE\tRECORD\tOWED\tSINCE\tWHY")
	var sum int64
	for _, a := range as {
		sum += a.AmountFen
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", text(a.Plate), text(a.RecordID), FormatFen(a.AmountFen), c.fmtTime(a.Since), orDash(text(a.Reason)))
	}
	fmt.Fprintf(tw, "total\t\t%s\t\t%d arrears, collected at each plate's next exit\n", FormatFen(sum), len(as))
	tw.Flush()
	return nil
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

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cmdQuote(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) != 1 {
		return usageErr("quote")
	}
	var (
		q   QuoteInfo
		err error
	)
	if isDigits(args[0]) {
		m, aerr := strconv.Atoi(args[0])
		if aerr != nil || m > maxQuoteMinute {
			return fmt.Errorf("quote %s: minutes must be 0 to %d", args[0], maxQuoteMinute)
		}
		q, err = c.b.Records.QuoteMinutes(m)
	} else {
		plate := strings.ToUpper(args[0])
		q, err = c.b.Records.Quote(plate)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("quote %s: no car inside with that plate; check it with: records %s", plate, plate)
		}
	}
	if err != nil {
		return fmt.Errorf("quote %s: %w", args[0], err)
	}
	tw := newTab(w)
	if q.Plate != "" {
		fmt.Fprintf(tw, "plate\t%s (record %s)\n", text(q.Plate), orDash(q.RecordID))
		fmt.Fprintf(tw, "in since\t%s\n", c.fmtTime(q.EntryAt))
	}
	fmt.Fprintf(tw, "stay\t%d min\n", q.Minutes)
	fmt.Fprintf(tw, "fee\t%s\n", FormatFen(q.FeeFen))
	if q.Plate != "" {
		fmt.Fprintf(tw, "paid\t%s\n", FormatFen(q.PaidFen))
	}
	fmt.Fprintf(tw, "due\t%s\n", FormatFen(q.DueFen))
	if q.Note != "" {
		fmt.Fprintf(tw, "note\t%s\n", text(q.Note))
	}
	tw.Flush()
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
	if len(lines) == 0 {
		fmt.Fprintln(w, "audit log is empty")
		return nil
	}
	tw := newTab(w)
	fmt.Fprintln(tw, "TIME\tWHO\tACTION\tDETAIL")
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

func cmdExit(_ context.Context, _ *Console, _ io.Writer, args []string) error {
	return errExit
}

func cmdReport(_ context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) > 1 {
		return usageErr("report")
	}
	day := ""
	if len(args) == 1 {
		day = args[0]
	}
	text, err := c.b.Records.Report(day)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = io.WriteString(w, text)
	return err
}
