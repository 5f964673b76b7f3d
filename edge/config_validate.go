package edge

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of the Config values an operator sets (the configuration
// file's [park] and [platform]). Config.withDefaults fills the same
// values in for zero fields.
const (
	DefaultDedupeWindow  = 10 * time.Second
	DefaultSendTimeout   = 10 * time.Second
	DefaultRetention     = 90 * 24 * time.Hour
	DefaultTollCollector = "laned"
)

// ConfigProblem is one value of a Config out of its range; Field is the
// Config field's name ("Spaces.VIP", "SendTimeout").
type ConfigProblem struct {
	Field string
	Msg   string
}

// ConfigProblems is the error of Validate: every problem, in field order.
type ConfigProblems []ConfigProblem

func (ps ConfigProblems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Field + ": " + p.Msg
	}
	return "edge: config: " + strings.Join(s, "; ")
}

// Validate checks the values an operator sets, as given: the defaults
// above are filled in by whoever reads them (a zero TollCollector or
// Retention is a problem here, not a default). It returns nil or
// ConfigProblems; the messages speak the configuration file's units
// (retention in days).
func (c Config) Validate() error {
	var ps ConfigProblems
	add := func(field, format string, args ...any) {
		ps = append(ps, ConfigProblem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if c.ParkCode <= 0 {
		add("ParkCode", "required: the platform's park code, a positive number")
	}
	if c.Spaces.Total <= 0 {
		add("Spaces.Total", "required: the number of spaces, positive")
	}
	if c.Spaces.VIP < 0 || (c.Spaces.Total > 0 && c.Spaces.VIP > c.Spaces.Total) {
		add("Spaces.VIP", "%d out of range 0–spaces_total", c.Spaces.VIP)
	}
	if days := c.Retention / (24 * time.Hour); days < 1 || days > 3650 || c.Retention%(24*time.Hour) != 0 {
		add("Retention", "%d out of range [1, 3650]", days)
	}
	if c.DedupeWindow < 0 || c.DedupeWindow > 10*time.Minute {
		add("DedupeWindow", "%s out of range [0, 10m]", c.DedupeWindow)
	}
	if c.TollCollector == "" || len(c.TollCollector) > 32 {
		add("TollCollector", "want 1–32 characters")
	}
	if c.SendTimeout < time.Second || c.SendTimeout > 2*time.Minute {
		add("SendTimeout", "%s out of range [1s, 2m]", c.SendTimeout)
	}
	if c.MaxRefusals < 0 || c.MaxRefusals > 1000 {
		add("MaxRefusals", "%d out of range [0, 1000] (0: the default, 5)", c.MaxRefusals)
	}
	if c.Site.NoEntryFee < 0 || c.Site.NoEntryFee > MaxNoEntryFee {
		add("Site.NoEntryFee", "%d fen out of range [0, %d]", c.Site.NoEntryFee, MaxNoEntryFee)
	}
	if h := c.Site.NoEntryHold; h != 0 && (h < time.Hour || h > 30*24*time.Hour) {
		add("Site.NoEntryHold", "%s out of range [1h, 720h] (0: the default, 24h)", h)
	}
	if h := c.HoldElsewhere; h != 0 && (h < time.Minute || h > 24*time.Hour) {
		add("HoldElsewhere", "%s out of range [1m, 24h] (0: the default, 10m)", h)
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}
