package config

import (
	"fmt"
	"io"
	"laned/board"
	"laned/cmb"
	"path/filepath"
	"sort"
	"strings"
)

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// WriteSummary prints what a valid configuration says, the secret masked.
func WriteSummary(w io.Writer, c *Config) {
	line := func(k, format string, args ...any) { fmt.Fprintf(w, "  %-9s %s\n", k, fmt.Sprintf(format, args...)) }
	fmt.Fprintf(w, "%s: ok\n", c.Path)
	line("data_dir", "%s", c.DataDir)
	line("log", "%s, %s", strings.ToLower(c.LogLevel.String()), c.LogFormat)
	p := c.Park
	line("park", "%d, zone %s, %d spaces (%d VIP), reserved_out_time %s, replace_stale %t, dedupe_window %s",
		p.ParkCode, p.Zone, p.SpacesTotal, p.SpacesVIP, p.ReservedOutTime.D(), p.ReplaceStale, p.DedupeWindow.D())
	pl := c.Platform
	base := pl.BaseURL
	if base == "" {
		env, _ := cmb.ParseEnvironment(pl.Environment)
		base = string(env) + " " + cmb.APIBase(env)
	}
	scheme := "http"
	if pl.TLSCert != "" {
		scheme = "https"
	}
	allow := "any source"
	if len(pl.Allow) > 0 {
		allow = strings.Join(pl.Allow, ", ")
	}
	mode := "non-guaranteed"
	if pl.Guaranteed {
		mode = "guaranteed"
	}
	if pl.OfflineRelease {
		mode += ", offline release of bound vehicles (owed)"
	}
	line("platform", "%s, appid %s, secret %s (from %s), %s", base, pl.AppID, pl.Secret, pl.SecretFile, mode)
	line("callbacks", "%s://%s%scmbParking/…, allow %s", scheme, pl.Listen, pl.Prefix, allow)
	line("board", "%s%s, %d lane%s", c.Board.Profile, orEmpty(", chip ", c.Board.Chip), len(c.Lanes), plural(len(c.Lanes)))
	hw := c.Board.WithDefaults().Lanes
	for i, l := range c.Lanes {
		code := "in_code"
		if l.Kind == "exit" {
			code = "out_code"
		}
		cam := fmt.Sprintf("camera addr %d", hw[i].Camera.Addr)
		if c.Board.Profile != board.ProfileSim || hw[i].Camera.Path != "" {
			cam = fmt.Sprintf("camera %s@%d %s addr %d", hw[i].Camera.Path, hw[i].Camera.Baud, hw[i].Camera.Codec, hw[i].Camera.Addr)
		}
		if c.Board.Profile == board.ProfileSim && hw[i].Camera.Path != "" {
			cam += " (a real camera on the simulated lane)"
		}
		if c.Board.Profile != board.ProfileSim {
			cam += fmt.Sprintf(", loops %s/%s, relays %s/%s", hw[i].ArmingLoop.Pin, hw[i].SafetyLoop.Pin, hw[i].OpenRelay.Pin, hw[i].CloseRelay.Pin)
		}
		if s, ok := NetCameraSummary(c, i); ok {
			cam = s
		}
		line("lane", "%s: %s, %s %d, %s", l.Name, l.Kind, code, l.Code, cam)
		if c.Board.Profile != board.ProfileSim {
			h := hw[i]
			_, arming := h.ArmingLoop.FailSafe()
			_, safety := h.SafetyLoop.FailSafe()
			line("", "  arming loop %s %s", h.ArmingLoop.Pin, arming)
			line("", "  safety loop %s %s", h.SafetyLoop.Pin, safety)
			if h.SafetyFault.Wired() {
				line("", "  safety loop fault input %s (%s): the loop reads occupied while it is active", h.SafetyFault.Pin, activeWord(h.SafetyFault.ActiveLow))
			}
		}
	}
	t := c.Tariff
	var sets []string
	for _, s := range []struct {
		n  string
		ok bool
	}{{"small", t.Small != nil}, {"large", t.Large != nil}, {"new_energy", t.NewEnergy != nil}} {
		if s.ok {
			sets = append(sets, s.n)
		}
	}
	capMode := string(t.CapMode)
	if capMode == "" {
		capMode = "rolling24h"
	}
	line("tariff", "rule sets %s, cap %s, military_free %t, fallback_to_small %t", strings.Join(sets, ", "), capMode, t.MilitaryFree, t.FallbackToSmall)
	lists := map[string]int{}
	for _, v := range c.Vehicles {
		lists[v.List]++
	}
	var ls []string
	for k, n := range lists {
		ls = append(ls, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(ls)
	line("vehicles", "%d%s", len(c.Vehicles), orEmpty(": ", strings.Join(ls, ", ")))
	serial := "no serial console"
	if c.Console.SerialPort != "" {
		serial = fmt.Sprintf("serial %s at %d, PIN set", c.Console.SerialPort, c.Console.SerialBaud)
	}
	line("console", "socket %s, %s", c.Console.Socket, serial)
	line("pictures", "%s, at most %d bytes and %d days", filepath.Join(c.DataDir, PicturesDir), c.Pictures.MaxBytes, c.Pictures.MaxDays)
	u := c.Update
	pull := "no pulls"
	if u.URL != "" {
		pull = fmt.Sprintf("pull %s channel %s every %s", u.URL, u.Channel, u.Interval.D())
	}
	line("update", "%s, %d trusted key%s, trial %s, %d starts", pull, len(u.TrustedKeys), plural(len(u.TrustedKeys)), u.TrialPeriod.D(), u.MaxStarts)
	writeSiteSummary(line, c.Site)
}

// writeSiteSummary prints [site]: nothing for a box alone.
func writeSiteSummary(line func(k, format string, args ...any), s SiteConfig) {
	if !s.Enabled() {
		return // a box alone: the summary as before sites
	}
	role := "a lane box"
	if s.Gateway {
		role = "the gateway (answers the bank)"
	}
	line("site", "box %s, %s; members %s", s.Box, role, strings.Join(s.Members, ", "))
	links := []string{}
	if s.Listen != "" {
		links = append(links, "listen "+s.Listen)
	}
	if len(s.Hub) > 0 {
		links = append(links, "hub "+strings.Join(s.Hub, ", "))
	}
	if len(links) == 0 {
		links = append(links, "no links")
	}
	tlsMode := "no TLS"
	if s.TLSCert != "" {
		tlsMode = "TLS " + s.TLSCert
	}
	if s.TLSCA != "" {
		tlsMode += ", CA " + s.TLSCA
	}
	auth := "no credentials"
	if s.Credentials != "" {
		auth = fmt.Sprintf("credentials %s (%s)", s.Credentials, s.Auth)
	}
	line("", "  %s; %s; %s", strings.Join(links, "; "), auth, tlsMode)
	line("", "  stream kept %s / %d bytes, lane requests %s, takeover after %s silent",
		s.RetentionAge.D(), s.RetentionBytes, s.RequestTimeout.D(), s.TakeoverAfter.D())
}

func activeWord(low bool) string {
	if low {
		return "active-low"
	}
	return "active-high"
}

func orEmpty(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// netCameraSummary describes lane i's camera when it is a network one.
func NetCameraSummary(c *Config, i int) (string, bool) {
	cam := c.Lanes[i].Camera
	if !cam.IsNetwork() {
		return "", false
	}
	path := "push"
	if cam.Kind == CamISAPI {
		path = "isapi"
	}
	s := fmt.Sprintf("camera %s on %s/camera/%s/%s", cam.Kind, c.Cameras.Listen, path, c.Lanes[i].Name)
	if cam.Source != "" {
		s += ", from " + cam.Source
	}
	if cam.Token != "" {
		s += ", token " + cam.Token.String()
	}
	if cam.MinConfidence > 0 {
		s += fmt.Sprintf(", min_confidence %d", cam.MinConfidence)
	}
	if cam.OpensBarrier {
		s += ", its relay opens the barrier"
	}
	return s, true
}
