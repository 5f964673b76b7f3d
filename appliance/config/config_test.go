package config

import (
	"bytes"
	"laned/edge/update"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testSecret = "s3cr3t-appsecret-value"

func TestSecretFile(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p string)
		want  string // "" ok
	}{
		{"ok", func(p string) { os.WriteFile(p, []byte(testSecret+"\n"), 0o600) }, ""},
		{"missing", func(string) {}, "does not exist"},
		{"empty", func(p string) { os.WriteFile(p, []byte("\n"), 0o600) }, "is empty"},
		{"group readable", func(p string) { os.WriteFile(p, []byte(testSecret), 0o640) }, "readable by others (mode 0640)"},
		{"two lines", func(p string) { os.WriteFile(p, []byte("a\nb\n"), 0o600) }, "more than one line"},
		{"directory", func(p string) { os.Mkdir(p, 0o700) }, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "secret")
			tt.setup(p)
			s, err := readSecret(p)
			if tt.want == "" {
				if err != nil || string(s) != testSecret {
					t.Fatalf("readSecret = %v; want the secret", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("readSecret = %v; want an error about %q", err, tt.want)
			}
		})
	}
}

func TestLineIndex(t *testing.T) {
	src := `top = 1
arr = [
  "x = 1",
  2,
]
text = """
fake = 3
"""
[a]
b = { c = 1 }
"quoted.key" = 2
[[l]]
k = 1
[l.sub]
m = 2
[[l]]
k = 2
[[l.inner]]
n = 1
[[l.inner]]
n = 2
`
	x := IndexLines([]byte(src))
	tests := []struct {
		key  string
		want int
	}{
		{"top", 1}, {"arr", 2}, {"text", 6}, {"fake", 0}, {"a", 9}, {"a.b", 10}, {"a.b.c", 10},
		{"a.quoted.key", 11}, {"l[0].k", 13}, {"l[0].sub.m", 15}, {"l[1].k", 17}, {"l[1].inner[0].n", 19},
		{"l[1].inner[1].n", 21}, {"l[1].missing", 16}, {"nowhere", 0},
	}
	for _, tt := range tests {
		if got := x.Line(tt.key); got != tt.want {
			t.Errorf("line(%q) = %d; want %d", tt.key, got, tt.want)
		}
	}
	if got := x.occurrences("l.k"); len(got) != 2 || got[0].line != 13 || got[1].line != 17 {
		t.Errorf("occurrences(l.k) = %v; want lines 13 and 17", got)
	}
}

func TestLegacyUpdateKeys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "laned.conf")
	os.WriteFile(p, []byte("data_dir = \"d\"\nupdate_url = \"https://u.example\"\ntrusted_keys = []\nupdate_max_starts = 4\nupdate_trial = \"90s\"\n"), 0o644)
	c, err := LoadUpdates(p)
	if err == nil {
		t.Fatalf("LoadUpdates(url without keys) = %+v; want an error", c)
	}
	os.WriteFile(p, []byte("data_dir = \"d\"\n[update]\nchannel = \"beta\"\nmax_starts = 4\ntrial_period = \"90s\"\n[park]\npark_code = \"not checked here\"\n"), 0o644)
	c, err = LoadUpdates(p)
	if err != nil {
		t.Fatalf("LoadUpdates = %v; want the update keys despite [park]", err)
	}
	if c.DataDir != filepath.Join(dir, "d") || c.Channel != "beta" || c.MaxStarts != 4 || c.TrialPeriod != 90*time.Second || c.Reserved != update.DefaultReserved {
		t.Errorf("LoadUpdates = %+v", c)
	}
}

func FuzzParseConfig(f *testing.F) {
	b, err := os.ReadFile("../../scripts/laned.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("[[a]]\n[a.b]\nc = '''\nx\n'''\n[[a.b.d]]\n"))
	f.Add([]byte("x = [\n{ a = 1 },\n]\n\"k\\\"q\" = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x := IndexLines(data)
		for _, k := range x.keys {
			if k.line < 1 || k.line > bytes.Count(data, []byte("\n"))+1 {
				t.Fatalf("key %q at line %d of a %d-line text", k.key, k.line, bytes.Count(data, []byte("\n"))+1)
			}
		}
		_, ps := Parse("/fuzz/laned.conf", data, false)
		for _, p := range ps {
			if p.Msg == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
		}
	})
}

// The values edge owns are judged by edge.Config.Validate, reported at
// their keys with the file's units; a retention too large for a Duration
// still names the days given.
func TestEdgeValuesJudgedByEdge(t *testing.T) {
	tests := []struct{ park, key, msg string }{
		{"spaces_total = 0", "park.spaces_total", "required: the number of spaces, positive"},
		{"spaces_total = 5\nspaces_vip = 6", "park.spaces_vip", "6 out of range 0–spaces_total"},
		{"spaces_total = 5\nretention_days = 0", "park.retention_days", "0 out of range [1, 3650]"},
		{"spaces_total = 5\nretention_days = 99999999", "park.retention_days", "99999999 out of range [1, 3650]"},
		{"spaces_total = 5\ntoll_collector = \"\"", "park.toll_collector", "want 1–32 characters"},
	}
	for _, tt := range tests {
		_, ps := Parse("/x/laned.conf", []byte("[park]\npark_code = 1\n"+tt.park+"\n"), false)
		n := 0
		for _, p := range ps {
			if p.Key == tt.key {
				n++
				if p.Msg != tt.msg || p.Line == 0 {
					t.Errorf("%q: %v; want %q at its line", tt.park, p, tt.msg)
				}
			}
		}
		if n != 1 {
			t.Errorf("%q: %d problems at %s in %v; want 1", tt.park, n, tt.key, ps)
		}
	}
}
