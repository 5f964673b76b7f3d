package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// DisplayBackend is what the display commands ask; a Backend without it
// has no boards ("no display" for every lane).
type DisplayBackend interface {
	// Display returns what lane's board shows now; ErrNotFound for an
	// unknown lane, ErrNoDisplay for a lane without a board.
	Display(lane string) (DisplayInfo, error)
	// DisplayTest shows a test pattern on every line and says a test
	// sentence.
	DisplayTest(ctx context.Context, lane string) error
	// Say makes lane's board say text.
	Say(ctx context.Context, lane, text string) error
	// PayQR returns the dynamic pay QR code's URL of lane (cmb §3.5),
	// with the plate of the vehicle standing there, if any.
	PayQR(lane string) (string, error)
}

// ErrNoDisplay: the lane has no board.
var ErrNoDisplay = errors.New("the lane has no display board")

// DisplayInfo is a lane's board as `display` shows it.
type DisplayInfo struct {
	Device  string
	Moment  string   // the last moment shown; "" idle
	Lines   []string // what the lane last put on it
	Said    string
	OK      bool
	LastErr string
	LastOK  time.Time
	Fails   uint64
}

// displayCommands show and drive the lanes' boards.
var displayCommands = []command{
	{"display", "display N [test]", "a lane's board: what it shows, whether it is reached; test shows a pattern", "N is the lane's name or number (see lanes). display N shows the lines the lane last put on its board, the last voice and whether the board's line takes commands. display N test shows a test pattern on every line and says a test sentence.", cmdDisplay},
	{"say", "say N TEXT", "make a lane's board say TEXT", "TEXT is spoken with the board's voice table (words it has are played from its voices, the rest as text for boards with text-to-speech): say exit1 \"请缴费 15 元\".", cmdSay},
	{"qr", "qr N", "the dynamic pay QR code's URL of a lane, to test with a phone", "Prints the URL the exit's QR code carries (park code, the plate standing there, the lane's number as berth) and the code itself in half blocks, for a terminal with light text on a dark background: scan it with a phone.", cmdQR},
}

// board resolves the lane argument of command name to the lane and the
// boards; ErrNoDisplay without them.
func (c *Console) board(name, arg string) (string, DisplayBackend, error) {
	lane, err := c.laneArg(name, arg)
	if err != nil {
		return "", nil, err
	}
	if c.b.Display == nil {
		return "", nil, fmt.Errorf("%s: %s: %w", name, lane, ErrNoDisplay)
	}
	return lane, c.b.Display, nil
}

func cmdDisplay(ctx context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) < 1 || len(args) > 2 || (len(args) == 2 && !strings.EqualFold(args[1], "test")) {
		return usageErr("display")
	}
	lane, d, err := c.board("display", args[0])
	if err != nil {
		return err
	}
	if len(args) == 2 {
		if err := d.DisplayTest(ctx, lane); err != nil {
			return fmt.Errorf("display: %s: test: %w", lane, err)
		}
		fmt.Fprintf(w, "%s: test pattern sent\n", lane)
	}
	info, err := d.Display(lane)
	if err != nil {
		return fmt.Errorf("display: %s: %w", lane, err)
	}
	tw := newTab(w)
	fmt.Fprintf(tw, "board\t%s\n", info.Device)
	link := "reached (last command " + c.ago(info.LastOK) + ")"
	if !info.OK {
		link = fmt.Sprintf("NOT REACHED (%d failed commands): %s", info.Fails, info.LastErr)
		if info.LastErr == "" {
			link = "nothing sent yet"
		}
	}
	fmt.Fprintf(tw, "link\t%s\n", link)
	moment := info.Moment
	if moment == "" {
		moment = "idle"
	}
	fmt.Fprintf(tw, "showing\t%s\n", moment)
	for i, l := range info.Lines {
		fmt.Fprintf(tw, "  line %d\t%s\n", i+1, l)
	}
	if info.Said != "" {
		fmt.Fprintf(tw, "last said\t%s\n", info.Said)
	}
	return tw.Flush()
}

func cmdSay(ctx context.Context, c *Console, w io.Writer, args []string) error {
	if len(args) < 2 {
		return usageErr("say")
	}
	lane, d, err := c.board("say", args[0])
	if err != nil {
		return err
	}
	text := strings.Join(args[1:], " ")
	if err := d.Say(ctx, lane, text); err != nil {
		return fmt.Errorf("say: %s: %w", lane, err)
	}
	fmt.Fprintf(w, "%s: saying %q\n", lane, text)
	return nil
}

func cmdQR(_ context.Context, c *Console, w io.Writer, args []string) error {
	lane, err := c.onlyLane("qr", args)
	if err != nil {
		return err
	}
	d := c.b.Display
	if d == nil {
		return fmt.Errorf("qr: %s: not available", lane)
	}
	u, err := d.PayQR(lane)
	if err != nil {
		return fmt.Errorf("qr: %s: %w", lane, err)
	}
	fmt.Fprintln(w, u)
	if err := writeQR(w, u); err != nil {
		return fmt.Errorf("qr: %s: %w", lane, err)
	}
	return nil
}
