package config

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A trusted key: base64 of an ed25519 public key (32 bytes).
const testKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

var updatesTests = []struct {
	name string
	in   string
	want Updates
	ok   bool
}{
	{"defaults", "# nothing\n", Updates{DataDir: "/var/lib/laned", Channel: "stable", Reserved: 64 << 20, MaxStarts: 3, TrialPeriod: 5 * time.Minute}, true},
	{"flat keys", `data_dir = "/data"
update_url = "https://u.example/laned"
update_channel = "beta"
trusted_keys = ["` + testKey + `"]
update_reserved_bytes = 1000
update_max_starts = 5
update_trial = "90s"
other = 1
`, Updates{DataDir: "/data", URL: "https://u.example/laned", Channel: "beta", TrustedKeys: []string{testKey}, Reserved: 1000, MaxStarts: 5, TrialPeriod: 90 * time.Second}, true},
	{"section", `data_dir = "/data"
[update]
url = "https://u.example/laned"
trusted_keys = ["` + testKey + `"]
max_starts = 4
trial_period = 60
`, Updates{DataDir: "/data", URL: "https://u.example/laned", Channel: "stable", TrustedKeys: []string{testKey}, Reserved: 64 << 20, MaxStarts: 4, TrialPeriod: time.Minute}, true},
	{"keys not a list", `trusted_keys = "a"`, Updates{}, false},
	{"bad key", `trusted_keys = ["a"]`, Updates{}, false},
	{"bad number", `update_max_starts = "many"`, Updates{}, false},
	{"bad duration", `update_trial = "soon"`, Updates{}, false},
	{"set twice", "update_channel = \"a\"\n[update]\nchannel = \"b\"\n", Updates{}, false},
}

// TestLoadUpdates: the update commands read data_dir and the update keys
// through the configuration's own parser, with its defaults.
func TestLoadUpdates(t *testing.T) {
	for _, tt := range updatesTests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "laned.conf")
			os.WriteFile(p, []byte(tt.in), 0o644)
			got, err := LoadUpdates(p)
			if (err == nil) != tt.ok {
				t.Fatalf("LoadUpdates(%q) = %v; want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && !equalUpdates(got, tt.want) {
				t.Errorf("LoadUpdates(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
	if _, err := LoadUpdates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("LoadUpdates(missing) = nil; want an error")
	}
}

func equalUpdates(a, b Updates) bool {
	return a.DataDir == b.DataDir && a.URL == b.URL && a.Channel == b.Channel && a.Reserved == b.Reserved &&
		a.MaxStarts == b.MaxStarts && a.TrialPeriod == b.TrialPeriod && slices.Equal(a.TrustedKeys, b.TrustedKeys)
}

func FuzzLoadUpdates(f *testing.F) {
	for _, tt := range updatesTests {
		f.Add([]byte(tt.in))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "c")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadUpdates(p)
		if err == nil && c.MaxStarts == 0 && !bytes.Contains(b, []byte("max_starts")) {
			t.Errorf("LoadUpdates lost the default max starts: %+v", c)
		}
	})
}
