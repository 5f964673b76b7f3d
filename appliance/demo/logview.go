package demo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"laned/appliance"
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
	ev := newEvent(h.attrs, r)
	get := ev.get
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
	h.d.say("%s", ev.line("    ", "lane", "who", "part", "colour", "conf", "seq"))
	return nil
}

func (h *demoHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &demoHandler{d: h.d, verbose: h.verbose, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *demoHandler) WithGroup(string) slog.Handler { return h }

// event is a log record with its handler's attributes, as the demo
// narrates it.
type event struct {
	msg   string
	attrs []slog.Attr
}

func newEvent(with []slog.Attr, r slog.Record) event {
	attrs := append([]slog.Attr(nil), with...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return event{msg: r.Message, attrs: attrs}
}

// get is the value of attribute k ("" if absent).
func (e event) get(k string) string {
	for _, a := range e.attrs {
		if a.Key == k {
			return a.Value.String()
		}
	}
	return ""
}

// line is the narrated line: prefix, the lane, the message, and every
// attribute but the skipped ones and an empty record.
func (e event) line(prefix string, skip ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	if l := e.get("lane"); l != "" {
		b.WriteString(l + ": ")
	}
	b.WriteString(e.msg)
	for _, a := range e.attrs {
		if slices.Contains(skip, a.Key) || (a.Key == "record" && a.Value.String() == "") {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
	}
	return b.String()
}
