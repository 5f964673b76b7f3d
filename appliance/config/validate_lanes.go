package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"laned/board"
	"laned/edge/console"
	"laned/edge/tariff"
	"laned/hal/camera"
	"laned/store"
)

func (d *configDecoder) validateLanes(cfg *Config, withFiles bool) {
	if !d.md.IsDefined("board") {
		d.addAbsent("board", "missing section [board] (profile = \"rpi4\", \"sim\" …)")
	}
	if len(cfg.Lanes) == 0 {
		d.addAbsent("lanes", "no lanes: add a [[lanes]] table per lane")
	}
	names := map[string]bool{}
	codes := map[string]string{} // kind/code → lane
	cfg.Board.Lanes = nil
	for i, l := range cfg.Lanes {
		key := func(k string) string { return fmt.Sprintf("lanes[%d].%s", i, k) }
		switch {
		case l.Name == "":
			d.add(key("name"), "required")
		case strings.ContainsAny(l.Name, " \t/"):
			d.add(key("name"), "%q: no spaces or slashes", l.Name)
		default:
			if names[l.Name] {
				d.add(key("name"), "%q used twice", l.Name)
			}
			names[l.Name] = true
		}
		if l.Kind != "entry" && l.Kind != "exit" {
			d.add(key("kind"), "want entry or exit, got %q", l.Kind)
		}
		if l.Code < 1 || l.Code > 255 {
			d.add(key("code"), "%d out of range 1–255 (the in_code of an entry, the out_code of an exit)", l.Code)
		} else if other, dup := codes[l.Kind+"/"+strconv.Itoa(l.Code)]; dup {
			d.add(key("code"), "%s code %d already used by lane %s", l.Kind, l.Code, other)
		} else {
			codes[l.Kind+"/"+strconv.Itoa(l.Code)] = l.Name
		}
		cfg.Lanes[i].Camera.Template = d.resolve(l.Camera.Template)
		cfg.Board.Lanes = append(cfg.Board.Lanes, cfg.Lanes[i].Hardware())
	}
	if cfg.Board.Profile == "" {
		if !d.md.IsDefined("board") {
			return // reported above
		}
		d.add("board.profile", "required: one of %s", strings.Join(board.Profiles, ", "))
		return
	}
	// The board judges the hardware with each lane named by its index, so
	// that its problems map back to the right table even when names are
	// missing or duplicated (reported above).
	check := cfg.Board
	check.Lanes = slices.Clone(cfg.Board.Lanes)
	for i := range check.Lanes {
		check.Lanes[i].Name = "#" + strconv.Itoa(i)
	}
	if err := check.Validate(); err != nil {
		var bps board.Problems
		if !errors.As(err, &bps) {
			d.add("board", "%v", err)
			return
		}
		for _, p := range bps {
			i, err := strconv.Atoi(strings.TrimPrefix(p.Lane, "#"))
			switch {
			case p.Lane == "" && p.Key == "lanes":
				// reported above
			case p.Lane == "":
				d.add("board."+p.Key, "%s", p.Msg)
			case err == nil && i >= 0 && i < len(cfg.Lanes):
				d.add(fmt.Sprintf("lanes[%d].%s", i, p.Key), "%s", laneRefRE.ReplaceAllString(p.Msg, "lanes[$1]"))
			default:
				d.add("lanes", "lane %s: %s: %s", p.Lane, p.Key, p.Msg)
			}
		}
	}
	for i, l := range cfg.Board.WithDefaults().Lanes {
		if i >= len(cfg.Lanes) {
			break
		}
		if (cfg.Board.Profile == board.ProfileSim && l.Camera.Path == "") || l.Camera.Network {
			continue // a simulated camera
		}
		tk := fmt.Sprintf("lanes[%d].camera.template", i)
		tmpl := cfg.Lanes[i].Camera.Template
		switch {
		case l.Camera.Codec == "template" && tmpl == "":
			d.add(tk, "the template codec needs a template file")
		case l.Camera.Codec != "template" && tmpl != "":
			d.add(tk, "only the template codec reads a template (codec is %q)", l.Camera.Codec)
		case tmpl != "" && withFiles:
			if _, err := camera.LoadTemplate(tmpl); err != nil {
				d.add(tk, "%v", err)
			}
		}
	}
}

func (d *configDecoder) validateTariff(cfg *Config) {
	for _, k := range []string{"zone", "reserved_out_time"} {
		if d.md.IsDefined("tariff", k) {
			d.add("tariff."+k, "set it in [park]: %s is the car park's", k)
		}
	}
	cfg.Tariff.Zone = cfg.Park.Zone
	cfg.Tariff.ReservedOutTime = tariff.Duration(cfg.Park.ReservedOutTime)
	if !d.md.IsDefined("tariff") {
		d.addAbsent("tariff", "missing section [tariff] (at least [tariff.small])")
		return
	}
	err := cfg.Tariff.Validate()
	var ce *tariff.ConfigError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		for _, p := range ce.Problems {
			if p.Key != "zone" && p.Key != "reserved_out_time" { // checked in [park]
				d.add("tariff."+p.Key, "%s", p.Msg)
			}
		}
	default:
		d.add("tariff", "%v", err)
	}
}

func (d *configDecoder) validateVehicles(cfg *Config) {
	loc := cfg.Park.Location
	if loc == nil {
		loc = time.UTC // the zone's own problem is reported
	}
	seen := map[string]int{}
	for i, v := range cfg.Vehicles {
		key := func(k string) string { return fmt.Sprintf("vehicles[%d].%s", i, k) }
		if strings.TrimSpace(v.Plate) == "" {
			d.add(key("plate"), "required")
		}
		switch store.List(v.List) {
		case store.ListVIP, store.ListMonthly, store.ListBlack:
		default:
			d.add(key("list"), "want vip, monthly or black, got %q", v.List)
		}
		if f, u := v.From.In(loc), v.Until.In(loc); !f.IsZero() && !u.IsZero() && !u.After(f) {
			d.add(key("until"), "not after from")
		}
		id := strings.ToUpper(strings.TrimSpace(v.Plate)) + "/" + v.List
		if j, dup := seen[id]; dup {
			d.add(key("plate"), "%s is on the %s list twice (vehicles[%d])", v.Plate, v.List, j)
		}
		seen[id] = i
	}
}

func (d *configDecoder) validateConsole(cfg *Config) {
	c := &cfg.Console
	if c.SerialPort == board.None {
		c.SerialPort = ""
	}
	if c.SerialPort != "" {
		if !slices.Contains([]int{9600, 19200, 38400, 57600, 115200}, c.SerialBaud) {
			d.add("console.serial_baud", "unsupported baud rate %d (9600, 19200, 38400, 57600, 115200)", c.SerialBaud)
		}
		if c.PINHash == "" {
			d.add("console.pin_hash", "a serial console needs a PIN: make one with `laned console hash-pin`")
		}
	}
	if c.PINHash != "" {
		if _, err := console.NewPINCheck(c.PINHash, console.PINOptions{}); err != nil {
			d.add("console.pin_hash", "%v (make one with `laned console hash-pin`)", err)
		}
	}
	c.Socket = d.resolve(c.Socket)
}
