package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"laned/board"
	"laned/edge"
	"laned/hal/display"
)

// LaneDisplay is [lanes.display]: the lane's LED board and voice. Without
// the table the lane has no board.
type LaneDisplay struct {
	Family string `toml:"family"` // "aa55" (default) or "none"
	// Path is the board's own serial port. Equal to the camera's path, or
	// with Bus = "camera", the board shares the camera's RS-485 bus. On
	// the sim profile without either the board is simulated.
	Path   string   `toml:"path"`
	Bus    string   `toml:"bus"`    // "" or "camera"
	Baud   int      `toml:"baud"`   // own port; default 9600
	Parity string   `toml:"parity"` // own port: none (default), odd, even
	Addr   int      `toml:"addr"`   // default 100 (0x64)
	Lines  int      `toml:"lines"`  // 2 or 4 (default)
	Voice  *bool    `toml:"voice"`  // default true
	Volume *int     `toml:"volume"` // 0–9, set at start; default: the board's own
	Guard  Duration `toml:"guard"`  // shared bus: quiet before writing; default 10ms
}

// Enabled reports whether the lane has a board (after validation).
func (d LaneDisplay) Enabled() bool { return d.Family != "none" && d.Family != "" }

// Shared reports whether the board is on the camera's bus.
func (d LaneDisplay) Shared(cam board.CameraPort) bool {
	return d.Bus == "camera" || (d.Path != "" && d.Path == cam.Path)
}

// DisplaySection is [display]: what every lane's board shows and says.
type DisplaySection struct {
	Park    string                 `toml:"park"` // {park}
	Hold    Duration               `toml:"hold"` // how long "admitted", "paid" stay; default 15s
	Texts   map[string]edge.Moment `toml:"texts"`
	Reasons map[string]string      `toml:"reasons"`
	// Voices maps words to the board's voice indexes, over the defaults
	// of display-rs485.md (e.g. "点" = 0x2E when the board has one).
	Voices map[string]int `toml:"voices"`
}

// VoiceTable is the default voice table with the configured entries.
func (s DisplaySection) VoiceTable() display.Voices {
	v := display.DefaultVoices()
	for k, i := range s.Voices {
		v[k] = byte(i)
	}
	return v
}

// EdgeDisplay is the edge's view of [display].
func (s DisplaySection) EdgeDisplay() edge.DisplayConfig {
	v := s.VoiceTable()
	return edge.DisplayConfig{Moments: s.Texts, Reasons: s.Reasons, Park: s.Park, Speak: v.Phrases, SpokenFee: v.SpokenFee, Hold: s.Hold.D()}
}

var moments = slices.Sorted(maps.Keys(edge.DefaultMoments()))

// validateDisplay checks [display] and every [lanes.display].
func (d *configDecoder) validateDisplay(cfg *Config) {
	s := &cfg.Display
	boardLines := map[int]bool{}
	for i, l := range cfg.Lanes {
		key := func(k string) string { return fmt.Sprintf("lanes[%d].display.%s", i, k) }
		ld := &cfg.Lanes[i].Display
		if !d.present(fmt.Sprintf("lanes[%d].display", i)) {
			ld.Family = "none" // no table: no board
		}
		if ld.Family == "" {
			ld.Family = "aa55"
		}
		if ld.Family == "none" {
			continue
		}
		if _, err := display.CodecByName(ld.Family); err != nil {
			d.add(key("family"), "unknown family %q (want aa55 or none)", ld.Family)
		}
		if ld.Lines == 0 {
			ld.Lines = 4
		}
		if ld.Lines != 2 && ld.Lines != 4 {
			d.add(key("lines"), "%d (want 2 or 4)", ld.Lines)
		}
		boardLines[ld.Lines] = true
		if ld.Addr == 0 {
			ld.Addr = 100
		}
		if ld.Addr < 1 || ld.Addr > 255 {
			d.add(key("addr"), "%d out of range 1–255", ld.Addr)
		}
		if ld.Volume != nil && (*ld.Volume < 0 || *ld.Volume > 9) {
			d.add(key("volume"), "%d out of range 0–9", *ld.Volume)
		}
		switch ld.Parity {
		case "", "none", "odd", "even":
		default:
			d.add(key("parity"), "%q (want none, odd or even)", ld.Parity)
		}
		if ld.Baud != 0 && (ld.Baud < 300 || ld.Baud > 4000000) {
			d.add(key("baud"), "%d out of range", ld.Baud)
		}
		cam := l.Hardware().Camera
		switch {
		case ld.Bus != "" && ld.Bus != "camera":
			d.add(key("bus"), "%q (want \"camera\", or leave it out for a port of the board's own)", ld.Bus)
		case ld.Bus == "camera" && ld.Path != "" && ld.Path != cam.Path:
			d.add(key("path"), "%q with bus = \"camera\": the camera's path is %q", ld.Path, cam.Path)
		case ld.Shared(cam) && cam.Path == "":
			d.add(key("bus"), "the lane's camera has no serial path to share")
		case ld.Shared(cam) && ld.Baud != 0 && cam.Baud != 0 && ld.Baud != cam.Baud:
			d.add(key("baud"), "%d differs from the camera's %d on the shared bus", ld.Baud, cam.Baud)
		case ld.Shared(cam) && ld.Addr == cam.Addr:
			d.add(key("addr"), "%d is the camera's address on the shared bus", ld.Addr)
		case !ld.Shared(cam) && ld.Path == "" && cfg.Board.Profile != board.ProfileSim:
			d.add(key("path"), "required: the board's serial port, or bus = \"camera\" to share the camera's")
		}
		if ld.Baud == 0 {
			ld.Baud = 9600
		}
	}
	if len(boardLines) == 0 {
		boardLines[4] = true
	}
	codec := display.AA55{}
	worst := edge.WorstValues(s.Park)
	if s.Park == "" {
		worst["park"] = "停车场"
	}
	for _, name := range slices.Sorted(maps.Keys(s.Texts)) {
		m := s.Texts[name]
		key := "display.texts." + name
		if !slices.Contains(moments, name) {
			d.add(key, "unknown moment (want one of %s)", strings.Join(moments, ", "))
			continue
		}
		if len(m.Lines) > display.Lines {
			d.add(key+".lines", "%d lines; a board has at most %d", len(m.Lines), display.Lines)
		}
		rendered := make([]string, len(m.Lines))
		for i, t := range m.Lines {
			if err := edge.CheckTemplate(t); err != nil {
				d.add(key+".lines", "line %d: %v", i+1, err)
			}
			rendered[i] = edge.Render(t, worst)
		}
		for _, n := range slices.Sorted(maps.Keys(boardLines)) {
			for i, t := range edge.Fold(rendered, n) {
				if err := display.CheckText(codec, t); err != nil {
					d.add(key+".lines", "line %d on a %d-line board: %v", i+1, n, err)
				}
			}
		}
		if err := edge.CheckTemplate(m.Say); err != nil {
			d.add(key+".say", "%v", err)
		} else if _, err := display.GBK(edge.Render(m.Say, worst)); err != nil {
			d.add(key+".say", "%v", err)
		}
	}
	reasons := slices.Sorted(maps.Keys(edge.DefaultReasons()))
	for _, name := range slices.Sorted(maps.Keys(s.Reasons)) {
		key := "display.reasons." + name
		if !slices.Contains(reasons, name) {
			d.add(key, "unknown reason (want one of %s)", strings.Join(reasons, ", "))
			continue
		}
		if err := display.CheckText(codec, s.Reasons[name]); err != nil {
			d.add(key, "%v", err)
		}
	}
	for _, w := range slices.Sorted(maps.Keys(s.Voices)) {
		key := "display.voices." + w
		if i := s.Voices[w]; i < 0 || i > 0x7F {
			d.add(key, "index %d out of range 0–127 (0x00–0x7F)", i)
		}
		if _, err := display.GBK(w); err != nil || w == "" {
			d.add(key, "the words must be GBK text: %v", err)
		}
	}
	if err := display.CheckText(codec, s.Park); err != nil {
		d.add("display.park", "%v", err)
	}
	if s.Hold < 0 {
		d.add("display.hold", "negative")
	}
}

// present reports whether the file has key or a key under it.
func (d *configDecoder) present(key string) bool {
	for _, k := range d.lines.keys {
		if k.key == key || strings.HasPrefix(k.key, key+".") {
			return true
		}
	}
	return false
}
