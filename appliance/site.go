package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"laned/appliance/config"
	"laned/cmb"
	"laned/edge"
	"laned/edge/console"
	"laned/store"
)

// SiteNode is what the appliance uses of this box's node of a site of
// several boxes (issue 18, SITE.md): the site's node behind an adapter
// that speaks in plain ids and console views, so that neither edge nor
// the console knows the transport.
type SiteNode interface {
	edge.SiteRequester
	// Serve answers subject with h (the lanes this box owns).
	Serve(subject string, h func(ctx context.Context, req []byte) ([]byte, error)) error
	// SetLanes tells the others, by the heartbeat, which lanes are here.
	SetLanes(entries, exits []int)
	// OnApplied is called after each batch of another box's changes is
	// applied to the store: the records changed and those newly paid.
	OnApplied(f func(records, paid []string))
	// Status is the site as this box sees it (without TakeoverAfter,
	// which the configuration adds).
	Status() console.SiteInfo
	// TakeOver moves box's queued uplinks into this box's outbox
	// (store.TakeOver) and returns how many.
	TakeOver(box string) (int, error)
	Close() error
}

// StartSite starts this box's node of the site on its store.
type StartSite func(ctx context.Context, cfg *config.Config, db *store.DB, logger *slog.Logger) (SiteNode, error)

// joinSite starts the site's node when [site] is configured and returns
// the callbacks' handler: the Controller alone for a box alone, else its
// Router, with this box's lanes served to the others and their changes
// waking this box's lanes.
func (d *Daemon) joinSite(ctx context.Context) (cmb.Handler, error) {
	if !d.cfg.Site.Enabled() {
		return d.ctl, nil
	}
	start := d.opt.StartSite
	if start == nil {
		start = startSite
	}
	node, err := start(ctx, d.cfg, d.db, d.log.With("part", "site"))
	if err != nil {
		return nil, fmt.Errorf("run: %w", err) // the site's errors say "site: …"
	}
	d.site = node
	node.OnApplied(d.ctl.SiteApplied)
	hs := d.ctl.SiteHandlers()
	subjects := make([]string, 0, len(hs))
	for s := range hs {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		if err := node.Serve(s, hs[s]); err != nil {
			return nil, fmt.Errorf("run: site: serve %s: %w", s, err)
		}
	}
	node.SetLanes(d.ctl.LaneCodes())
	d.log.Info("site joined", "box", d.cfg.Site.Box, "gateway", d.cfg.Site.Gateway, "members", d.cfg.Site.Members, "serves", subjects)
	return d.ctl.SiteRouter(node, d.cfg.Site.RequestTimeout.D()), nil
}

// siteConsole is the console's site role.
type siteConsole struct {
	d   *Daemon
	who string
}

var _ console.SiteBackend = siteConsole{}

func (s siteConsole) Site() console.SiteInfo {
	info := s.d.site.Status()
	info.TakeoverAfter = s.d.cfg.Site.TakeoverAfter.D()
	for i, m := range info.Members {
		info.Members[i].Queued = -1
		if ms, err := s.d.db.ReplShadow(m.Box); err == nil {
			info.Members[i].Queued = len(ms)
		}
	}
	if info.Box == "" {
		info.Box, info.Gateway = s.d.cfg.Site.Box, s.d.cfg.Site.Gateway
	}
	return info
}

// SiteTakeover checks the rule again (the console's view may be old),
// takes box's queue over, audits it and wakes the outbox.
func (s siteConsole) SiteTakeover(_ context.Context, box, reason string) (int, error) {
	if why := s.Site().TakeoverRefusal(box, s.d.real.Now()); why != "" {
		return 0, errors.New(why)
	}
	n, err := s.d.site.TakeOver(box)
	if err != nil {
		return 0, err
	}
	ev := store.AuditEvent{Time: s.d.clk.Now(), Kind: "site_takeover", Detail: fmt.Sprintf("%s: box %s: %d queued uplinks taken over; reason: %s", s.who, box, n, reason)}
	if err := s.d.db.Audit(ev); err != nil {
		s.d.log.Error("audit", "kind", ev.Kind, "err", err)
	}
	s.d.log.Warn("site takeover", "box", box, "uplinks", n, "by", s.who, "reason", reason)
	s.d.ctl.Kick()
	return n, nil
}

// consoleRoles is the daemon as a console named who sees it.
func (d *Daemon) consoleRoles(who string) console.Backend {
	r := d.consoleBackend(who).Roles()
	if d.site != nil {
		r.Site = siteConsole{d: d, who: who}
	}
	return r
}

// SiteStatus is the site as this box sees it; zero for a box alone.
func (d *Daemon) SiteStatus() console.SiteInfo {
	if d.site == nil {
		return console.SiteInfo{}
	}
	return d.site.Status()
}
