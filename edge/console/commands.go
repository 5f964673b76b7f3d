package console

import (
	"context"
	"fmt"
	"io"
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

// commands in the order help lists them; each purpose's file holds its
// own: commands_lanes.go, commands_records.go, commands_system.go,
// display.go.
var commands []command

var commandIndex = map[string]*command{}

// helpOrder is the order help lists the commands in.
var helpOrder = []string{
	"help", "status", "lanes", "lane", "loops", "camera", "records", "record", "arrears", "queue", "quote",
	"report", "spaces", "config", "net", "time", "log", "update", "version", "display", "say", "qr", "site", "sim", "exit",
}

// sessionCommands are help and exit.
var sessionCommands = []command{
	{"help", "help [CMD]", "list the commands, or explain one", "help alone lists every command; help CMD shows how to use CMD.", cmdHelp},
	{"exit", "exit", "end the session (also Ctrl-D on an empty line)", "", cmdExit},
}

func init() {
	byName := map[string]command{}
	for _, cmds := range [][]command{sessionCommands, laneCommands, recordCommands, systemCommands, displayCommands, siteCommands} {
		for _, cmd := range cmds {
			byName[cmd.name] = cmd
		}
	}
	if len(byName) != len(helpOrder) {
		panic(fmt.Sprintf("console: %d commands, %d in helpOrder", len(byName), len(helpOrder)))
	}
	for _, name := range helpOrder {
		commands = append(commands, byName[name])
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

// newTable starts a table of rows rows under header; without rows it
// writes none instead and returns nil.
func newTable(w io.Writer, rows int, none, header string) *tabwriter.Writer {
	if rows == 0 {
		fmt.Fprintln(w, none)
		return nil
	}
	tw := newTab(w)
	fmt.Fprintln(tw, header)
	return tw
}

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

func noArgs(name string, args []string) error {
	if len(args) != 0 {
		return fmt.Errorf("%s: takes no arguments; type just: %s", name, name)
	}
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

// optionalArg is the one optional argument of command name; "" without
// it.
func optionalArg(name string, args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", nil
	case 1:
		return args[0], nil
	}
	return "", usageErr(name)
}

// onlyLane resolves the one argument of command name, a lane.
func (c *Console) onlyLane(name string, args []string) (string, error) {
	if len(args) != 1 {
		return "", usageErr(name)
	}
	return c.laneArg(name, args[0])
}

// laneArg resolves the lane argument of command name (see findLane).
func (c *Console) laneArg(name, arg string) (string, error) {
	id, err := c.findLane(arg)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, arg, err)
	}
	return id, nil
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

func cmdExit(_ context.Context, _ *Console, _ io.Writer, args []string) error {
	return errExit
}
