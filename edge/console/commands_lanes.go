package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// laneCommands show and drive the lanes: barriers, loops, cameras.
var laneCommands = []command{
	{"lanes", "lanes", "the lanes with their barriers, states and cameras", "# is the lane's number: lane, camera and quote accept it as well as the lane's name.", cmdLanes},
	{"lane", "lane N open|close REASON", "raise or lower a barrier by hand (audited)", "N is the lane's name or number (see lanes). REASON is required and goes into the audit log; quote it or not: lane exit1 open \"fire drill\". close refuses while the safety loop is occupied.", cmdLane},
	{"loops", "loops", "the inductive loops: occupied or free, since when, faults", "", cmdLoops},
	{"camera", "camera N", "a lane's camera: online, last frames", "N is the lane's name or number (see lanes). Shows the port, whether frames arrive, rejected frames, and the last frames, newest first.", cmdCamera},
}

func cmdLanes(_ context.Context, c *Console, w io.Writer, args []string) error {
	if err := noArgs("lanes", args); err != nil {
		return err
	}
	c.laneTable(w, c.b.Lanes.Lanes())
	return nil
}

func (c *Console) laneTable(w io.Writer, lanes []LaneInfo) {
	tw := newTable(w, len(lanes), "no lanes configured", "#\tLANE\tKIND\tBARRIER\tSTATE\tCAMERA\tDISPLAY")
	if tw == nil {
		return
	}
	for i, l := range lanes {
		disp := l.Display
		if disp == "" {
			disp = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, l.ID, l.Kind, l.Barrier, l.State, yesNo(l.Camera, "online", "OFFLINE"), disp)
	}
	tw.Flush()
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
	id, err := c.laneArg("lane", args[0])
	if err != nil {
		return err
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
	tw := newTable(w, len(loops), "no loops configured", "LANE\tLOOP\tSTATE\tSINCE\tFAULT")
	if tw == nil {
		return nil
	}
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

func cmdCamera(_ context.Context, c *Console, w io.Writer, args []string) error {
	id, err := c.onlyLane("camera", args)
	if err != nil {
		return err
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
	return c.writeFrames(w, ci)
}

// writeFrames prints a camera's last frames, newest first. A network
// camera's (one with pictures or their uploads) show their picture sizes
// and whether a read's confidence is low, then its last uploads.
func (c *Console) writeFrames(w io.Writer, ci CameraInfo) error {
	net := hasPictures(ci)
	tw := newTab(w)
	if net {
		fmt.Fprintln(tw, "TIME\tKIND\tPLATE\tCOLOUR\tCONF\tFRAME\tCROP\tERROR")
	} else {
		fmt.Fprintln(tw, "TIME\tKIND\tPLATE\tCOLOUR\tCONF\tERROR")
	}
	for i, f := range ci.Frames {
		if i == framesShown {
			break
		}
		conf := "-"
		if f.Plate != "" {
			conf = strconv.Itoa(f.Conf)
			if net && f.LowConf {
				conf += " (low)"
			}
		}
		pictures := ""
		if net {
			pictures = size(f.Full) + "\t" + size(f.Crop) + "\t"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s%s\n", c.fmtTime(f.At), f.Kind, orDash(text(f.Plate)), orDash(f.Colour), conf, pictures, orDash(text(f.Err)))
	}
	tw.Flush()
	if len(ci.Uploads) == 0 {
		return nil
	}
	fmt.Fprintln(w, "pictures:")
	tw = newTab(w)
	fmt.Fprintln(tw, "RECORD\tIN/OUT\tFRAME\tCROP\tPICUPLOAD")
	for _, u := range ci.Uploads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.RecordID, u.InOut, size(u.Full), size(u.Plate), u.Result)
	}
	return tw.Flush()
}

// hasPictures reports whether a camera's view shows a network camera's
// reads (pictures or their uploads).
func hasPictures(ci CameraInfo) bool {
	if len(ci.Uploads) > 0 {
		return true
	}
	for _, f := range ci.Frames {
		if f.Full > 0 || f.Crop > 0 {
			return true
		}
	}
	return false
}

func size(n int) string {
	switch {
	case n == 0:
		return "-"
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f kB", float64(n)/1024)
}
