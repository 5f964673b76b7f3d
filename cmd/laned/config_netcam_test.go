package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/appliance/config"
	"laned/store"
)

// exampleNetLane returns the example's commented network camera lane,
// uncommented.
func exampleNetLane(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/laned.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "# --- network camera lane\n"), strings.Index(s, "# --- end\n")
	if i < 0 || j < i {
		t.Fatal("the example lacks its network camera lane")
	}
	var out []string
	for _, l := range strings.Split(s[i:j], "\n")[1:] {
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(l, "#"), " "))
	}
	return strings.Join(out, "\n")
}

func TestExampleNetworkCamera(t *testing.T) {
	p := exampleConfig(t)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, append(b, "\n"+exampleNetLane(t)...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(p)
	if err != nil || len(ps) != 0 {
		t.Fatalf("loadConfig(example + its network lane) = %v, %v; want no problems", ps, err)
	}
	if cfg.Cameras.Listen != ":8081" || cfg.Pictures.MaxBytes != 2<<30 || cfg.Pictures.MaxDays != 30 {
		t.Errorf("cameras %+v pictures %+v", cfg.Cameras, cfg.Pictures)
	}
	c := cfg.Lanes[2].Camera
	if c.Kind != config.CamPush || len(c.Allowed) != 1 || c.Allowed[0].String() != "192.168.1.100/32" || c.SerialNo != "e1a2b3c4-5d6e7f80" ||
		c.Token != "k8Qw2Lx" || c.MinConfidence != 80 || c.OpensBarrier || !cfg.Board.Lanes[2].Camera.Network {
		t.Errorf("network camera = %+v; board %+v", c, cfg.Board.Lanes[2].Camera)
	}
	if cfg.Lanes[0].Camera.Kind != config.CamRS485 || cfg.Board.Lanes[0].Camera.Network {
		t.Errorf("lane 0 camera kind %q; want rs485", cfg.Lanes[0].Camera.Kind)
	}
}

func TestCheckNetworkCamera(t *testing.T) {
	net := func(keys string) string {
		return "[[lanes]]\nname = \"in2\"\nkind = \"entry\"\ncode = 2\n[lanes.camera]\n" + keys
	}
	tests := []struct {
		name, extra string
		want        []string // "key: message part"; none: valid
	}{
		{"valid on sim", "[cameras]\nlisten = \":8081\"\n" + net("kind = \"isapi\"\nsource = \"10.0.0.0/24, 10.1.0.5\"\n"), nil},
		{"valid on rpi4 with no serial line", "[cameras]\nlisten = \":8081\"\n", nil},
		{"no listener", net("kind = \"http-push\"\n"), []string{"cameras.listen: required"}},
		{"platform port", "[cameras]\nlisten = \":8080\"\n" + net("kind = \"http-push\"\n"), []string{"cameras.listen: port 8080 is the platform's"}},
		{"bad kind", "[cameras]\nlisten = \":8081\"\n" + net("kind = \"wifi\"\n"), []string{"lanes[2].camera.kind: want rs485"}},
		{"network keys on rs485", net("token = \"x\"\n"), []string{"lanes[2].camera.kind: source, serialno"}},
		{"bad values", "[cameras]\nlisten = \":8081\"\n" + net("kind = \"isapi\"\nsource = \"nope\"\nmin_confidence = 101\ntoken = \"a&b\"\npath = \"/dev/ttyUSB0\"\n"),
			[]string{"lanes[2].camera.source: bad address", "lanes[2].camera.min_confidence: 101 out of range", "lanes[2].camera.token: an ISAPI camera", "lanes[2].camera.token: use letters", "lanes[2].camera.path: a network camera"}},
		{"pictures", "[pictures]\nmax_bytes = 10\nmax_days = 0\n", []string{"pictures.max_bytes: 10: at least 1 MiB", "pictures.max_days: 0 out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := minimalConfig(t, t.TempDir(), tt.extra)
			if tt.name == "platform port" {
				b, _ := os.ReadFile(p)
				os.WriteFile(p, []byte(strings.Replace(string(b), `listen = "127.0.0.1:0"`, `listen = ":8080"`, 1)), 0o644)
			}
			if strings.Contains(tt.name, "rpi4") {
				b, _ := os.ReadFile(p)
				s := strings.Replace(string(b), `profile = "sim"`, `profile = "rpi4"`, 1)
				// in1 on the serial bus, out1 a network camera with no port
				s = strings.Replace(s, "code = 1\n[[lanes]]", "code = 1\n[lanes.camera]\npath = \"/dev/serial0\"\naddr = 1\n[[lanes]]", 1)
				s = strings.Replace(s, "code = 1\n[tariff]", "code = 1\n[lanes.camera]\nkind = \"http-push\"\n[tariff]", 1)
				os.WriteFile(p, []byte(s), 0o644)
			}
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"check", "-config", p}, nil, &out, &errb)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("laned check = %v; want ok:\n%s%s", err, out.String(), errb.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("laned check = ok; want problems %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), ": "+w) {
					t.Errorf("laned check output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestPictureSpaceWarning(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.LoadValid(minimalConfig(t, dir, "[pictures]\nmax_bytes = 5000000\n"))
	if err != nil {
		t.Fatal(err)
	}
	// data_dir does not exist yet: the free space is its parent's.
	var asked string
	free := func(n uint64) func(string) (uint64, error) {
		return func(p string) (uint64, error) { asked = p; return n, nil }
	}
	if w := config.PictureSpaceWarning(cfg, free(1<<30)); w != "" || asked != dir {
		t.Errorf("warning with room = %q (asked %s); want none, asking %s", w, asked, dir)
	}
	if w := config.PictureSpaceWarning(cfg, free(4000000)); !strings.Contains(w, "warning: pictures.max_bytes 5000000 exceeds") {
		t.Errorf("warning without room = %q", w)
	}
	// Pictures already on disk count as room.
	pics, err := store.OpenPictures(filepath.Join(cfg.DataDir, config.PicturesDir), store.PictureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pics.Save(time.Now(), "R1", "in", "full", make([]byte, 1500000)); err != nil {
		t.Fatal(err)
	}
	if w := config.PictureSpaceWarning(cfg, free(4000000)); w != "" {
		t.Errorf("warning with pictures in use = %q; want none", w)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", cfg.Path}, nil, &out, &out); err != nil || !strings.Contains(out.String(), "pictures  "+filepath.Join(cfg.DataDir, "pictures")+", at most 5000000 bytes and 30 days") {
		t.Errorf("laned check = %v:\n%s", err, out.String())
	}
}
