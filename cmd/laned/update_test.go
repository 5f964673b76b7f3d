package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateConfigTests = []struct {
	name string
	in   string
	want updateConfig
	ok   bool
}{
	{"defaults", "# nothing\n", updateConfig{DataDir: "/var/lib/laned", Channel: "stable", Reserved: 64 << 20, MaxStarts: 3, TrialPeriod: 5 * time.Minute}, true},
	{"all keys", `[update]
data_dir = "/data"
update_url = "https://u.example/laned"
update_channel = "beta"
trusted_keys = ["a", "b" ,""]
update_reserved_bytes = 1000
update_max_starts = 5
update_trial = "90s"
other = 1
`, updateConfig{DataDir: "/data", URL: "https://u.example/laned", Channel: "beta", TrustedKeys: []string{"a", "b"}, Reserved: 1000, MaxStarts: 5, TrialPeriod: 90 * time.Second}, true},
	{"keys not a list", `trusted_keys = "a"`, updateConfig{}, false},
	{"bad number", `update_max_starts = many`, updateConfig{}, false},
	{"bad duration", `update_trial = "soon"`, updateConfig{}, false},
}

func TestReadUpdateConfig(t *testing.T) {
	for _, tt := range updateConfigTests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "laned.conf")
			os.WriteFile(p, []byte(tt.in), 0o644)
			got, err := readUpdateConfig(p)
			if (err == nil) != tt.ok {
				t.Fatalf("readUpdateConfig(%q) = %v; want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && !equalConfig(got, tt.want) {
				t.Errorf("readUpdateConfig(%q) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
	if _, err := readUpdateConfig(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("readUpdateConfig(missing) = nil; want an error")
	}
}

func equalConfig(a, b updateConfig) bool {
	return a.DataDir == b.DataDir && a.URL == b.URL && a.Channel == b.Channel && a.Reserved == b.Reserved &&
		a.MaxStarts == b.MaxStarts && a.TrialPeriod == b.TrialPeriod && strings.Join(a.TrustedKeys, ",") == strings.Join(b.TrustedKeys, ",")
}

func FuzzReadUpdateConfig(f *testing.F) {
	for _, tt := range updateConfigTests {
		f.Add([]byte(tt.in))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "c")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := readUpdateConfig(p)
		if err == nil && c.MaxStarts == 0 && !bytes.Contains(b, []byte("update_max_starts")) {
			t.Errorf("readUpdateConfig lost the default max starts: %+v", c)
		}
	})
}

func TestUpdateCommandUsage(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "laned.conf")
	data := t.TempDir()
	os.WriteFile(conf, []byte("data_dir = \""+data+"\"\n"), 0o644)
	tests := []struct {
		args    []string
		want    error
		wantOut string
	}{
		{[]string{"update"}, errUsage, ""},
		{[]string{"update", "frobnicate", "-config", conf}, errUsage, ""},
		{[]string{"update", "apply", "-config", conf}, errUsage, ""},
		{[]string{"update", "check", "-config", conf}, errors.New("no trusted keys"), ""},
		{[]string{"update", "status", "-config", conf}, nil, "floor: none"},
		{[]string{"update", "trial", "-config", conf}, nil, "trial: none"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errb)
			switch {
			case tt.want == nil && err != nil, tt.want != nil && err == nil:
				t.Fatalf("run(%q) = %v; want %v", tt.args, err, tt.want)
			case tt.want == errUsage && !errors.Is(err, errUsage):
				t.Fatalf("run(%q) = %v; want errUsage", tt.args, err)
			case tt.want != nil && tt.want != errUsage && !strings.Contains(err.Error(), tt.want.Error()):
				t.Fatalf("run(%q) = %v; want %v", tt.args, err, tt.want)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q; want %q", tt.args, out.String(), tt.wantOut)
			}
		})
	}
}

func TestKillAtStepUnset(t *testing.T) {
	if killAtStep("") != nil {
		t.Errorf("killAtStep(\"\") != nil; want no hook without the test variable")
	}
}
