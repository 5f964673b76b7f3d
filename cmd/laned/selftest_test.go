package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSelftest(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o755)
	ro := filepath.Join(dir, "ro")
	os.MkdirAll(ro, 0o555)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	tests := []struct {
		name    string
		config  string
		wantErr string
	}{
		{"good", write("good.conf", "data_dir = \""+data+"\"\n"), ""},
		{"missing config", filepath.Join(dir, "none.conf"), "config readable"},
		{"data dir missing", write("nodata.conf", "data_dir = \""+filepath.Join(dir, "nope")+"\"\n"), "data dir writable"},
		{"config does not parse", write("bad.conf", "update_trial = \"never\"\n"), "data dir writable"},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		tests = append(tests, struct {
			name    string
			config  string
			wantErr string
		}{"data dir read-only", write("ro.conf", "data_dir = \""+ro+"\"\n"), "data dir writable"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"selftest", "-config", tt.config}, nil, &out, &errb)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out.String(), "selftest: ok") {
					t.Fatalf("selftest = %v, %q; want ok", err, out.String())
				}
				if ents, _ := os.ReadDir(data); len(ents) != 0 {
					t.Errorf("selftest left %d files in the data dir", len(ents))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("selftest = %v; want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestSelftestRunsAddedChecks(t *testing.T) {
	saved := selftestChecks
	t.Cleanup(func() { selftestChecks = saved })
	var got []string
	addSelftest("store opens", func(_ context.Context, configPath string) error {
		got = append(got, configPath)
		return nil
	})
	conf := filepath.Join(t.TempDir(), "c.conf")
	os.WriteFile(conf, []byte("data_dir = \""+t.TempDir()+"\"\n"), 0o644)
	var out bytes.Buffer
	if err := selftest(context.Background(), conf, &out); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != conf || !strings.Contains(out.String(), "store opens: ok") {
		t.Errorf("added check saw %q, printed %q; want it run with %s", got, out.String(), conf)
	}
}
