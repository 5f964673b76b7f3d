package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"laned/appliance/config"
	"laned/edge"
	"laned/hal/display"
)

// TestExampleDisplay: the example documents the defaults exactly, and its
// lanes have simulated boards.
func TestExampleDisplay(t *testing.T) {
	cfg, ps, err := config.Load(exampleConfig(t))
	if err != nil || len(ps) > 0 {
		t.Fatalf("loadConfig(example) = %v, %v", ps, err)
	}
	if !reflect.DeepEqual(cfg.Display.Texts, edge.DefaultMoments()) {
		t.Errorf("example [display.texts] = %+v; want the defaults %+v", cfg.Display.Texts, edge.DefaultMoments())
	}
	if !reflect.DeepEqual(cfg.Display.Reasons, edge.DefaultReasons()) {
		t.Errorf("example [display.reasons] = %v; want the defaults %v", cfg.Display.Reasons, edge.DefaultReasons())
	}
	if got, want := cfg.Display.VoiceTable(), display.DefaultVoices(); !reflect.DeepEqual(got, want) {
		t.Errorf("example voices = %v; want the defaults %v", got, want)
	}
	for _, l := range cfg.Lanes {
		d := l.Display
		if !d.Enabled() || d.Family != "aa55" || d.Addr != 100 || d.Lines != 4 || d.Baud != 9600 || d.Path != "" {
			t.Errorf("lane %s display = %+v; want a simulated aa55 board at 100, 4 lines", l.Name, d)
		}
	}
}

func TestDisplayConfigProblems(t *testing.T) {
	tests := []struct {
		name, extra string
		want        []string // "line: key: fragment"
	}{
		{"unknown placeholder", "[display.texts]\nexit_due = { lines = [\"{plate}\", \"{amount}\"] }\n",
			[]string{"display.texts.exit_due.lines: line 2: unknown placeholder {amount}"}},
		{"gbk cannot encode", "[display.texts]\nexit_paid = { lines = [\"再见 🚗\"] }\n",
			[]string{"display.texts.exit_paid.lines: line 1 on a 4-line board: display: GBK cannot encode"}},
		{"too long", "[display.texts]\nfull = { lines = [\"" + strings.Repeat("满", 30) + "{plate}\"] }\n",
			[]string{"display.texts.full.lines: line 1 on a 4-line board:", "the aa55 board takes at most 64"}},
		{"unknown moment", "[display.texts]\nexit_bye = { lines = [\"x\"] }\n", []string{"display.texts.exit_bye: unknown moment"}},
		{"voice index", "[display.voices]\n\"点\" = 300\n", []string{"display.voices.点: index 300 out of range"}},
		{"say placeholder", "[display.texts]\nexit_due = { lines = [\"x\"], say = \"{plat}\" }\n", []string{"display.texts.exit_due.say: unknown placeholder {plat}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := minimalConfig(t, t.TempDir(), tt.extra)
			_, ps, err := config.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, pr := range ps {
				got = append(got, pr.String())
			}
			all := strings.Join(got, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems:\n%s\nwant one containing %q", all, w)
				}
			}
			for _, pr := range ps {
				if pr.Line == 0 {
					t.Errorf("problem without a line: %v", pr)
				}
			}
		})
	}
}

func TestLaneDisplayProblems(t *testing.T) {
	dir := t.TempDir()
	extra := `[lanes.display]
lines = 3
volume = 12
bus = "camera"
`
	_, ps, err := config.Load(minimalConfig(t, dir, extra))
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, p := range ps {
		all += p.String() + "\n"
	}
	for _, w := range []string{"display.lines: 3 (want 2 or 4)", "display.volume: 12 out of range 0–9", "display.bus: the lane's camera has no serial path to share"} {
		if !strings.Contains(all, w) {
			t.Errorf("problems:\n%s\nwant one containing %q", all, w)
		}
	}
	_ = os.Remove(filepath.Join(dir, "x"))
}
