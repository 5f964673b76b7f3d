package demo

import (
	"context"
	"fmt"
	"laned/appliance"
	"log/slog"
	"strings"
)

// demoHandler prints the controller's log as one readable line an event,
// stamped with simulated time.
type demoHandler struct {
	d       *demo
	verbose bool
	attrs   []slog.Attr
}

func (h *demoHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo
}

func (h *demoHandler) Handle(_ context.Context, r slog.Record) error {
	if h.d.ended.Load() {
		return nil
	}
	attrs := append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	get := func(k string) string {
		for _, a := range attrs {
			if a.Key == k {
				return a.Value.String()
			}
		}
		return ""
	}
	if r.Message == "uplink delivered" && !h.verbose {
		if k := get("kind"); k == "SpaceInfo" || k == "ConfigUpload" {
			return nil
		}
	}
	if get("who") == "platform" && !h.verbose && r.Level < slog.LevelWarn {
		return nil
	}
	if get("part") == "" && get("who") == "" && !h.verbose && r.Level < slog.LevelWarn {
		return nil // the daemon's own start and stop: -v shows them
	}
	if get("part") == "camera" && !h.verbose && r.Level < slog.LevelWarn && get("lane") == "" {
		return nil // the camera listener's start: -v shows it
	}
	if r.Message == "display" {
		if !h.verbose && get("moment") == "idle" {
			return nil // the board's idle text after each passage: -v shows it
		}
		h.d.say("    %s", appliance.DisplayLine(get("lane"), get("shown")))
		return nil
	}
	var b strings.Builder
	b.WriteString("    ")
	if l := get("lane"); l != "" {
		b.WriteString(l + ": ")
	}
	b.WriteString(r.Message)
	for _, a := range attrs {
		switch a.Key {
		case "lane", "who", "part", "colour", "conf", "seq":
			continue
		}
		if a.Key == "record" && a.Value.String() == "" {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
	}
	h.d.say("%s", b.String())
	return nil
}

func (h *demoHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &demoHandler{d: h.d, verbose: h.verbose, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *demoHandler) WithGroup(string) slog.Handler { return h }
