package board

import (
	"fmt"
	"strconv"
)

// Relay is one configured relay output: its lane, key and pin, with
// defaults applied.
type Relay struct {
	Lane, Key string
	Spec      PinSpec
	// HeldOpen: the open relay of a level-mode lane, which holds the arm
	// up while energised; releasing it lets the barrier close.
	HeldOpen bool
}

// Inactive is the level that de-energises the relay.
func (r Relay) Inactive() bool { return r.Spec.ActiveLow }

// Relays lists every wired relay of the configuration (defaults applied),
// lane by lane: open, close, stop.
func (c Config) Relays() []Relay {
	var out []Relay
	for _, l := range c.WithDefaults().Lanes {
		for _, r := range []struct {
			key  string
			spec PinSpec
		}{{"open_relay", l.OpenRelay}, {"close_relay", l.CloseRelay}, {"stop_relay", l.StopRelay}} {
			if r.spec.Wired() {
				out = append(out, Relay{Lane: l.Name, Key: r.key, Spec: r.spec, HeldOpen: l.Level && r.key == "open_relay"})
			}
		}
	}
	return out
}

// BootLines returns the config.txt lines that make every relay of a Pi
// profile an output at its inactive level from the firmware's start,
// before Linux and laned run: "gpio=5=op,dh" for an active-low relay,
// "gpio=…=op,dl" for an active-high one, each below a comment line naming
// it. Other profiles have none (their
// boot firmware is not the Pi's).
func (c Config) BootLines() ([]string, error) {
	if !isPi(c.Profile) {
		return nil, nil
	}
	var lines []string
	for _, r := range c.Relays() {
		n, ok := bcm(r.Spec.Pin)
		if !ok {
			return nil, fmt.Errorf("board: lane %s: %s: unknown pin %q", r.Lane, r.Key, r.Spec.Pin)
		}
		drive := "dl"
		if r.Inactive() {
			drive = "dh"
		}
		// config.txt comments are whole lines: the relay's name goes above.
		lines = append(lines, "# "+r.Lane+" "+r.Key, "gpio="+strconv.Itoa(n)+"=op,"+drive)
	}
	return lines, nil
}
