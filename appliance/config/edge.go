package config

import (
	"errors"
	"strings"
	"time"

	"laned/cmb"
	"laned/edge"
)

// Edge is the controller's configuration: [park], [platform] and
// [display] as edge takes them.
func (c *Config) Edge() edge.Config {
	dc := c.Display.EdgeDisplay()
	if env, err := cmb.ParseEnvironment(c.Platform.Environment); err == nil && c.Platform.BaseURL == "" {
		dc.QRHost = cmb.QRHost(env)
	}
	return edge.Config{
		ParkCode: c.Park.ParkCode, Spaces: edge.Spaces{Total: c.Park.SpacesTotal, VIP: c.Park.SpacesVIP},
		Guaranteed: c.Platform.Guaranteed, OfflineRelease: c.Platform.OfflineRelease,
		ReplaceStale: c.Park.ReplaceStale, DedupeWindow: c.Park.DedupeWindow.D(),
		TollCollector: c.Park.TollCollector, SendTimeout: c.Platform.SendTimeout.D(), MaxRefusals: c.Platform.MaxRefusals,
		Retention:     time.Duration(c.Park.RetentionDays) * 24 * time.Hour,
		Display:       dc,
		LaneBox:       c.Site.Enabled() && !c.Site.Gateway,
		Site:          edge.SiteRules{Enabled: c.Site.Enabled(), Box: c.Site.Box, NoEntryFee: c.Site.NoEntryFee, NoEntryHold: c.Site.NoEntryHold.D()},
		HoldElsewhere: c.Site.HoldElsewhere.D(),
	}
}

// edgeKeys are the file's keys of the edge.Config fields it sets.
var edgeKeys = map[string]string{
	"ParkCode": "park.park_code", "Spaces.Total": "park.spaces_total", "Spaces.VIP": "park.spaces_vip",
	"Retention": "park.retention_days", "DedupeWindow": "park.dedupe_window", "TollCollector": "park.toll_collector",
	"SendTimeout": "platform.send_timeout", "MaxRefusals": "platform.max_refusals",
	"Site.NoEntryFee": "site.no_entry_fee", "Site.NoEntryHold": "site.no_entry_hold",
	"HoldElsewhere": "site.hold_elsewhere",
}

// validateEdge has edge judge its values and reports the problems whose
// key is in section.
func (d *configDecoder) validateEdge(cfg *Config, section string) {
	huge := cfg.Park.RetentionDays < -36500 || cfg.Park.RetentionDays > 36500 // as a Duration, it would overflow
	if huge && section == "park" {
		d.add("park.retention_days", "%d out of range [1, 3650]", cfg.Park.RetentionDays)
	}
	err := cfg.Edge().Validate()
	var ps edge.ConfigProblems
	switch {
	case err == nil:
	case errors.As(err, &ps):
		for _, p := range ps {
			if key := edgeKeys[p.Field]; strings.HasPrefix(key, section+".") && !(huge && p.Field == "Retention") {
				d.add(key, "%s", p.Msg)
			}
		}
	case section == "park":
		d.add("park", "%v", err)
	}
}
