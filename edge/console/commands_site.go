package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// SiteBackend is the boxes of a car park of several (issue 18), from
// this box's side.
type SiteBackend interface {
	Site() SiteInfo
	// SiteTakeover has this box (the gateway) send box's queued uplinks
	// from now on; reason is required and audited. It refuses what
	// SiteInfo.TakeoverRefusal refuses. It returns the uplinks taken.
	SiteTakeover(ctx context.Context, box, reason string) (int, error)
}

// SiteInfo is the site as this box sees it.
type SiteInfo struct {
	Box       string
	Gateway   bool
	Head      uint64    // this box's last logged change
	Published uint64    // the last one its stream acknowledged
	Links     int       // leafnode links up
	Since     time.Time // when this box joined (its node started): a box never heard of is silent since then
	// TakeoverAfter is how long a box must be silent before `site
	// takeover` is allowed.
	TakeoverAfter time.Duration
	Members       []SiteMemberInfo // the other boxes
}

// SiteMemberInfo is another box.
type SiteMemberInfo struct {
	Box       string
	Gateway   bool
	Reachable bool
	LastHello time.Time // zero: not heard since this box started
	Head      uint64    // its last logged change, per its heartbeat
	Published uint64
	Applied   uint64    // how far this box applied its changes
	AppliedAt time.Time // when the last one was applied here
	Lag       uint64    // its changes not applied here yet
	LagTime   time.Duration
	Entries   []int
	Exits     []int
	// Queued is its queued record uplinks as this box knows them (what a
	// takeover would send); -1: unknown.
	Queued int
}

// TakeoverRefusal says why box's queue may not be taken over now, or ""
// when it may: only the gateway takes over, only another member, only
// one unreachable and silent for longer than TakeoverAfter.
func (s SiteInfo) TakeoverRefusal(box string, now time.Time) string {
	if !s.Gateway {
		return "only the gateway takes over another box's uplinks; this box is " + s.Box
	}
	if box == s.Box {
		return "this box sends its own uplinks"
	}
	for _, m := range s.Members {
		if m.Box != box {
			continue
		}
		if m.Reachable {
			return fmt.Sprintf("box %s is reachable: it sends its own uplinks (two senders would charge twice)", box)
		}
		if silent := now.Sub(m.silentSince(s.Since)); silent < s.TakeoverAfter {
			return fmt.Sprintf("box %s silent for %s only: takeover is allowed after %s ([site] takeover_after)",
				box, silent.Round(time.Second), s.TakeoverAfter)
		}
		return ""
	}
	names := make([]string, len(s.Members))
	for i, m := range s.Members {
		names[i] = m.Box
	}
	return fmt.Sprintf("no box %q in this site (members: %s)", box, strings.Join(names, ", "))
}

// silentSince is the member's last heartbeat, or when this box started
// when it never heard one.
func (m SiteMemberInfo) silentSince(start time.Time) time.Time {
	if m.LastHello.IsZero() {
		return start
	}
	return m.LastHello
}

// siteCommands show the site and take over a lost box's uplinks.
var siteCommands = []command{
	{"site", "site [takeover BOX [confirm REASON]]", "the boxes of the site: reachable, replication lag, cursors; take over a lost box's uplinks",
		"site lists this box and the others: reachable, last heartbeat, how far each one's changes are applied here and what lags. " +
			"site takeover BOX (gateway only, BOX silent longer than [site] takeover_after) shows what would happen; " +
			"site takeover BOX confirm REASON does it: this box sends BOX's queued uplinks from then on. " +
			"Keep BOX off the site: when it returns it drops what was taken over.", cmdSite},
}

func cmdSite(ctx context.Context, c *Console, w io.Writer, args []string) error {
	if c.b.Site == nil {
		if len(args) == 0 {
			fmt.Fprintln(w, "no site: this box is the car park's only one ([site] is not configured)")
			return nil
		}
		return errors.New("site: this box is the car park's only one ([site] is not configured)")
	}
	switch {
	case len(args) == 0:
		c.siteTable(w, c.b.Site.Site())
		return nil
	case strings.EqualFold(args[0], "takeover") && len(args) >= 2:
		return c.siteTakeover(ctx, w, args[1], args[2:])
	}
	return usageErr("site")
}

func (c *Console) siteTable(w io.Writer, s SiteInfo) {
	tw := newTab(w)
	role := "lane box"
	if s.Gateway {
		role = "gateway"
	}
	fmt.Fprintf(tw, "box\t%s (%s), %d link%s up\n", s.Box, role, s.Links, plural(s.Links))
	fmt.Fprintf(tw, "log\thead %d, published %d%s\n", s.Head, s.Published, unpublished(s.Head, s.Published))
	tw.Flush()
	tw = newTable(w, len(s.Members), "no other boxes", "BOX\tROLE\tREACHABLE\tLAST HEARD\tHEAD\tAPPLIED\tLAG\tLANES")
	if tw == nil {
		return
	}
	for _, m := range s.Members {
		role := "lanes"
		if m.Gateway {
			role = "gateway"
		}
		reach := "yes"
		if !m.Reachable {
			reach = "NO"
		}
		lag := "-"
		if m.Lag > 0 {
			lag = fmt.Sprintf("%d (%s)", m.Lag, m.LagTime.Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", text(m.Box), role, reach, c.ago(m.LastHello), m.Head, m.Applied, lag, laneCodes(m.Entries, m.Exits))
	}
	tw.Flush()
}

func unpublished(head, published uint64) string {
	if head > published {
		return fmt.Sprintf(" (%d not yet on the site)", head-published)
	}
	return ""
}

func laneCodes(entries, exits []int) string {
	var parts []string
	for _, e := range entries {
		parts = append(parts, fmt.Sprintf("in %d", e))
	}
	for _, e := range exits {
		parts = append(parts, fmt.Sprintf("out %d", e))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// siteTakeover shows, then on "confirm REASON" does, a takeover.
func (c *Console) siteTakeover(ctx context.Context, w io.Writer, box string, rest []string) error {
	s := c.b.Site.Site()
	if why := s.TakeoverRefusal(box, c.clk.Now()); why != "" {
		return fmt.Errorf("site takeover %s: %s", text(box), why)
	}
	if len(rest) == 0 {
		var m SiteMemberInfo
		for _, x := range s.Members {
			if x.Box == box {
				m = x
			}
		}
		fmt.Fprintf(w, "box %s silent since %s (%s); its changes applied here up to %d of %d.\n",
			box, c.fmtTime(m.silentSince(s.Since)), c.ago(m.silentSince(s.Since)), m.Applied, m.Head)
		queued := "its queued uplinks"
		if m.Queued >= 0 {
			queued = fmt.Sprintf("its %d queued uplink%s", m.Queued, plural(m.Queued))
		}
		fmt.Fprintf(w, "This box will send %s (as this box knows them) from now on. Box %s must stay off the site:\n", queued, box)
		fmt.Fprintf(w, "when it returns it drops what was taken over. To do it: site takeover %s confirm REASON\n", box)
		return nil
	}
	if !strings.EqualFold(rest[0], "confirm") {
		return fmt.Errorf("site takeover %s: %q is not confirm; usage: site takeover %s confirm REASON", text(box), rest[0], box)
	}
	reason := strings.TrimSpace(strings.Join(rest[1:], " "))
	if reason == "" {
		return fmt.Errorf("site takeover %s confirm: a reason is required for the audit log: site takeover %s confirm REASON", box, box)
	}
	c.log.Info("console site takeover", "session", c.name, "box", box, "reason", reason)
	n, err := c.b.Site.SiteTakeover(ctx, box, reason)
	if err != nil {
		return fmt.Errorf("site takeover %s: %w", box, err)
	}
	fmt.Fprintf(w, "box %s: %d queued uplink%s taken over; this box sends them (audited: %s)\n", box, n, plural(n), reason)
	return nil
}
