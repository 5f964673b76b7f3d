package edge

import (
	"errors"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{
		ParkCode: 4401, Spaces: Spaces{Total: 50, VIP: 5}, DedupeWindow: DefaultDedupeWindow,
		TollCollector: DefaultTollCollector, SendTimeout: DefaultSendTimeout, Retention: DefaultRetention,
	}
	tests := []struct {
		name  string
		edit  func(c *Config)
		field string // "" valid
		msg   string
	}{
		{"good", func(*Config) {}, "", ""},
		{"no park code", func(c *Config) { c.ParkCode = 0 }, "ParkCode", "required: the platform's park code, a positive number"},
		{"no spaces", func(c *Config) { c.Spaces.Total = 0 }, "Spaces.Total", "required: the number of spaces, positive"},
		{"vip over total", func(c *Config) { c.Spaces.VIP = 51 }, "Spaces.VIP", "51 out of range 0–spaces_total"},
		{"retention zero", func(c *Config) { c.Retention = 0 }, "Retention", "0 out of range [1, 3650]"},
		{"retention too long", func(c *Config) { c.Retention = 3651 * 24 * time.Hour }, "Retention", "3651 out of range [1, 3650]"},
		{"dedupe too long", func(c *Config) { c.DedupeWindow = 11 * time.Minute }, "DedupeWindow", "11m0s out of range [0, 10m]"},
		{"dedupe zero is the default", func(c *Config) { c.DedupeWindow = 0 }, "", ""},
		{"toll collector empty", func(c *Config) { c.TollCollector = "" }, "TollCollector", "want 1–32 characters"},
		{"send timeout short", func(c *Config) { c.SendTimeout = 500 * time.Millisecond }, "SendTimeout", "500ms out of range [1s, 2m]"},
		{"refusals", func(c *Config) { c.MaxRefusals = 1001 }, "MaxRefusals", "1001 out of range [0, 1000] (0: the default, 5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			var ps ConfigProblems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Field != tt.field || ps[0].Msg != tt.msg {
				t.Fatalf("Validate() = %v; want one problem %s: %s", err, tt.field, tt.msg)
			}
		})
	}
}
