package update

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of the settings an operator sets ([update] of the
// configuration file); DefaultChannel, DefaultMaxStarts and
// DefaultInterval are the updater's.
const (
	DefaultReserved    = 64 << 20        // bytes kept free for the store
	DefaultTrialPeriod = 5 * time.Minute // how long health must hold on trial
)

// Settings are the update settings an operator sets.
type Settings struct {
	URL         string   // pull base URL; "" for no pulls
	Channel     string   // release channel
	TrustedKeys []string // base64 ed25519 public keys
	Reserved    int64    // bytes kept free for the store
	MaxStarts   int      // starts on trial before a rollback
	TrialPeriod time.Duration
	Interval    time.Duration // between pulls
}

// SettingsProblem is one setting out of its range; Key names it as
// [update] does: url, trusted_keys, channel, reserved_bytes, max_starts,
// trial_period, interval.
type SettingsProblem struct {
	Key string
	Msg string
}

// SettingsProblems is the error of Settings.Validate.
type SettingsProblems []SettingsProblem

func (ps SettingsProblems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Key + ": " + p.Msg
	}
	return "update: settings: " + strings.Join(s, "; ")
}

// Validate checks the settings as given (defaults filled in): nil or
// SettingsProblems, in the order of the keys above.
func (s Settings) Validate() error {
	var ps SettingsProblems
	add := func(key, format string, args ...any) {
		ps = append(ps, SettingsProblem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if s.URL != "" {
		pu, err := url.Parse(s.URL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			add("url", "want an http(s) URL, got %q", s.URL)
		}
		if len(s.TrustedKeys) == 0 {
			add("trusted_keys", "pulling updates needs at least one trusted key")
		}
	}
	if _, err := ParsePublicKeys(s.TrustedKeys); err != nil && len(s.TrustedKeys) > 0 {
		add("trusted_keys", "%v", err)
	}
	if s.Channel == "" || strings.ContainsAny(s.Channel, "/ \\") {
		add("channel", "bad channel %q", s.Channel)
	}
	if s.Reserved < 0 {
		add("reserved_bytes", "negative")
	}
	if s.MaxStarts < 1 || s.MaxStarts > 100 {
		add("max_starts", "%d out of range 1–100", s.MaxStarts)
	}
	if s.TrialPeriod < 0 || s.TrialPeriod > 24*time.Hour {
		add("trial_period", "%s out of range [0, 24h]", s.TrialPeriod)
	}
	if s.Interval < time.Minute {
		add("interval", "%s: at least 1m", s.Interval)
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}
