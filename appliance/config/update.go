package config

import (
	"errors"
	"fmt"
	"laned/edge/update"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Updates is the part of the configuration the update commands need.
type Updates struct {
	DataDir     string        // data_dir
	URL         string        // [update] url: {url}/{channel}/{arch}/manifest.json …
	Channel     string        // [update] channel
	TrustedKeys []string      // [update] trusted_keys: base64 ed25519 public keys
	Reserved    int64         // [update] reserved_bytes kept free for the store
	MaxStarts   int           // [update] max_starts before rollback
	TrialPeriod time.Duration // [update] trial_period: how long health must hold
	Interval    time.Duration // [update] interval between pulls
}

// UpdateOptions are the updater's options for these settings: the binary
// at live, running version running, configured by the file at path.
// Callers add the client, the clock, the logger and their own switches.
func (u Updates) UpdateOptions(live, path, running string) (update.Options, error) {
	keys, err := update.ParsePublicKeys(u.TrustedKeys)
	if err != nil {
		return update.Options{}, err
	}
	return update.Options{
		DataDir: u.DataDir, LivePath: live, ConfigPath: path, Running: running,
		BaseURL: u.URL, Channel: u.Channel, TrustedKeys: keys,
		Reserved: u.Reserved, MaxStarts: u.MaxStarts, Interval: u.Interval,
	}, nil
}

// Updates is the update commands' view of the configuration.
func (cfg *Config) Updates() Updates {
	return Updates{
		DataDir: cfg.DataDir, URL: cfg.Update.URL, Channel: cfg.Update.Channel, TrustedKeys: cfg.Update.TrustedKeys,
		Reserved: cfg.Update.ReservedBytes, MaxStarts: cfg.Update.MaxStarts, TrialPeriod: cfg.Update.TrialPeriod.D(),
		Interval: cfg.Update.Interval.D(),
	}
}

// LoadUpdates reads what the update commands need: data_dir and
// [update] (or the flat update_* keys). It does not require the rest of
// the configuration to be valid, so that an update or a rollback still
// works on a site whose configuration the running binary rejects; a
// problem in these keys themselves is an error.
func LoadUpdates(path string) (Updates, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Updates{}, fmt.Errorf("config: %w", err)
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return Updates{}, fmt.Errorf("config: %w", err)
	}
	d := &configDecoder{path: abs, dir: filepath.Dir(abs), lines: IndexLines(b)}
	cfg := d.decodeFile(b)
	if cfg == nil {
		return Updates{}, ProblemsError(d.ps)
	}
	d.ps = slices.DeleteFunc(d.ps, func(p Problem) bool { return !isUpdateKey(p.Key) })
	cfg.DataDir = d.resolve(cfg.DataDir)
	d.validateUpdate(cfg)
	if len(d.ps) > 0 {
		return Updates{}, ProblemsError(d.ps)
	}
	return cfg.Updates(), nil
}

func isUpdateKey(k string) bool {
	return k == "" || k == "data_dir" || k == "update" || strings.HasPrefix(k, "update.") || strings.HasPrefix(k, "update_") || k == "trusted_keys"
}

// legacyUpdateKeys are the flat keys of the first update configs, by
// their [update] names.
var legacyUpdateKeys = map[string]string{
	"url": "update_url", "trusted_keys": "trusted_keys", "channel": "update_channel",
	"reserved_bytes": "update_reserved_bytes", "max_starts": "update_max_starts", "trial_period": "update_trial",
}

// validateUpdate has the updater judge [update], each problem at the key
// the file used (the flat legacy key when it set that one).
func (d *configDecoder) validateUpdate(cfg *Config) {
	u := cfg.Update
	err := update.Settings{
		URL: u.URL, Channel: u.Channel, TrustedKeys: u.TrustedKeys, Reserved: u.ReservedBytes,
		MaxStarts: u.MaxStarts, TrialPeriod: u.TrialPeriod.D(), Interval: u.Interval.D(),
	}.Validate()
	var ps update.SettingsProblems
	if err != nil && !errors.As(err, &ps) {
		d.add("update", "%v", err)
		return
	}
	for _, p := range ps {
		key := "update." + p.Key
		if legacy, ok := legacyUpdateKeys[p.Key]; ok && d.md.IsDefined(legacy) {
			key = legacy
		}
		d.add(key, "%s", p.Msg)
	}
}
