package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/appliance"
	"laned/appliance/config"
	"laned/store"
)

const testSecret = "s3cr3t-appsecret-value"

// exampleConfig copies scripts/laned.example.toml, unchanged, into a
// temp dir with its appsecret (mode 0600) beside it, as installed.
func exampleConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../scripts/laned.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "appsecret"), []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "laned.conf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// minimalConfig is a small valid configuration on the sim board; extra
// is appended (later tables) and data_dir points into dir.
func minimalConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "appsecret"), []byte(testSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`data_dir = %q
[park]
park_code = 4401
spaces_total = 50
[platform]
base_url = "http://127.0.0.1:1"
appid = "app1"
secret_file = "appsecret"
listen = "127.0.0.1:0"
[board]
profile = "sim"
[[lanes]]
name = "in1"
kind = "entry"
code = 1
[[lanes]]
name = "out1"
kind = "exit"
code = 1
[tariff]
fallback_to_small = true
[tariff.small]
free_minutes = 15
first_minutes = 60
first_price = 500
next_minutes = 30
next_price = 200
`, filepath.Join(dir, "data")) + extra
	p := filepath.Join(dir, "laned.conf")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckExample(t *testing.T) {
	p := exampleConfig(t)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", p}, nil, &out, &errb); err != nil {
		t.Fatalf("laned check %s = %v; want ok; output:\n%s%s", p, err, out.String(), errb.String())
	}
	for _, want := range []string{": ok", "park      10001, zone Asia/Shanghai", "lane      entry1: entry, in_code 1", "lane      exit1: exit, out_code 1", "secret ********", "vehicles  2: 1 monthly, 1 vip"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("laned check output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String()+errb.String(), testSecret) {
		t.Errorf("laned check printed the secret:\n%s", out.String())
	}
}

func TestExampleDecodesEveryKey(t *testing.T) {
	cfg, ps, err := config.Load(exampleConfig(t))
	if err != nil || len(ps) != 0 {
		t.Fatalf("loadConfig(example) = %v, %v; want no problems", ps, err)
	}
	if cfg.Park.ParkCode != 10001 || cfg.Park.SpacesVIP != 20 || cfg.Park.ReservedOutTime.D() != 15*time.Minute {
		t.Errorf("park = %+v", cfg.Park)
	}
	if cfg.Platform.Secret != testSecret || cfg.Platform.SecretFile != filepath.Join(filepath.Dir(cfg.Path), "appsecret") {
		t.Errorf("secret file %s: secret not read (masked %v)", cfg.Platform.SecretFile, cfg.Platform.Secret)
	}
	if len(cfg.Lanes) != 2 || cfg.Lanes[1].Name != "exit1" || cfg.Lanes[1].Camera.Addr != 2 || cfg.Board.Lanes[1].Camera.Addr != 2 {
		t.Errorf("lanes = %+v; board lanes %+v", cfg.Lanes, cfg.Board.Lanes)
	}
	if cfg.Tariff.Zone != "Asia/Shanghai" || cfg.Tariff.Small == nil || cfg.Tariff.Small.DailyCap != 4000 {
		t.Errorf("tariff = %+v", cfg.Tariff)
	}
	v := cfg.Vehicles[1]
	if from := v.From.In(cfg.Park.Location); from.Format(time.RFC3339) != "2025-01-01T00:00:00+08:00" {
		t.Errorf("vehicles[1].from = %v; want midnight in Shanghai", from)
	}
	if cfg.Update.MaxStarts != 3 || cfg.Update.Interval.D() != 6*time.Hour || cfg.Console.Socket != "/run/laned/console.sock" {
		t.Errorf("update %+v console %+v", cfg.Update, cfg.Console)
	}
}

func TestCheckProblems(t *testing.T) {
	tests := []struct {
		name  string
		extra string // appended to the minimal config
		edit  func(s string) string
		want  []string // "line: key: message part"
	}{
		{"typo in a section", "[console]\nsocket_path = \"/x\"\n", nil, []string{"29: console.socket_path: unknown key"}},
		{"typo in a lane", "", func(s string) string {
			return strings.Replace(s, "code = 1\n[[lanes]]", "code = 1\ncamrea = 2\n[[lanes]]", 1)
		}, []string{"16: lanes[0].camrea: unknown key"}},
		{"unknown table", "[extras]\na = 1\n", nil, []string{"28: extras: unknown key"}},
		{"bad values", "", func(s string) string {
			s = strings.Replace(s, "park_code = 4401", "park_code = -3", 1)
			s = strings.Replace(s, `kind = "exit"`, `kind = "out"`, 1)
			return strings.Replace(s, "next_price = 200", "next_price = -1", 1)
		}, []string{"3: park.park_code: required", "18: lanes[1].kind: want entry or exit", "27: tariff.small.next_price:"}},
		{"type error", "", func(s string) string { return strings.Replace(s, "spaces_total = 50", `spaces_total = "fifty"`, 1) }, []string{"4: park.spaces_total: incompatible types"}},
		{"bad duration", "", func(s string) string {
			return strings.Replace(s, "spaces_total = 50", "spaces_total = 50\ndedupe_window = \"soon\"", 1)
		}, []string{"5: park.dedupe_window: bad duration"}},
		{"syntax error", "", func(s string) string { return strings.Replace(s, "[board]", "[board", 1) }, []string{"11: expected '.' or ']' to end table name"}},
		{"duplicate lane", "", func(s string) string { return strings.Replace(s, `name = "out1"`, `name = "in1"`, 1) }, []string{"17: lanes[1].name: \"in1\" used twice"}},
		{"same code twice", "[[lanes]]\nname = \"in2\"\nkind = \"entry\"\ncode = 1\n", nil, []string{"31: lanes[2].code: entry code 1 already used by lane in1"}},
		{"zone in tariff", "", func(s string) string { return strings.Replace(s, "[tariff]\n", "[tariff]\nzone = \"UTC\"\n", 1) }, []string{"21: tariff.zone: set it in [park]"}},
		{"board problem", "", func(s string) string {
			return strings.Replace(s, `profile = "sim"`, `profile = "rpi4"`, 1) + "[lanes.camera]\nbaud = 1234\n"
		}, []string{"29: lanes[1].camera.baud: unsupported baud rate 1234"}},
		{"sim clock on real hardware", "", func(s string) string {
			return strings.Replace(s, `profile = "sim"`, "profile = \"rpi4\"\nclock = \"sim\"", 1)
		}, []string{"12: board.clock: \"sim\" is for the sim profile only"}},
		{"unknown clock", "", func(s string) string {
			return strings.Replace(s, `profile = "sim"`, "profile = \"sim\"\nclock = \"fast\"", 1)
		}, []string{"12: board.clock: want \"real\" or \"sim\", got \"fast\""}},
		{"missing sections", "", func(s string) string { return s[:strings.Index(s, "[platform]")] }, []string{" platform: missing section", " board: missing section", " lanes: no lanes", " tariff: missing section"}},
		{"vehicles", "[[vehicles]]\nplate = \"粤B1\"\nlist = \"gold\"\n[[vehicles]]\nplate = \"粤B2\"\nlist = \"vip\"\nfrom = 2025-06-01\nuntil = \"2025-01-01\"\n", nil,
			[]string{"30: vehicles[0].list: want vip, monthly or black", "35: vehicles[1].until: not after from"}},
		{"update", "[update]\nurl = \"https://u.example\"\nmax_starts = 0\n", nil, []string{"28: update.trusted_keys: pulling updates needs", "30: update.max_starts: 0 out of range"}},
		{"legacy key twice", "[update]\nurl = \"https://b\"\n", func(s string) string { return "update_url = \"https://a\"\n" + s }, []string{"1: update_url: set twice"}},
		{"allow", "", func(s string) string {
			return strings.Replace(s, "listen = ", "allow = [\"10.0.0.0/8\", \"nope\"]\nlisten = ", 1)
		}, []string{"9: platform.allow[1]: bad address"}},
		{"tls half", "", func(s string) string { return strings.Replace(s, "listen = ", "tls_cert = \"c.pem\"\nlisten = ", 1) }, []string{"9: platform.tls_cert: set both"}},
		{"store check timeout", "", func(s string) string { return "store_check_timeout = \"2h\"\n" + s }, []string{"1: store_check_timeout: 2h0m0s out of range"}},
		{"console pin", "[console]\nserial_port = \"/dev/ttyUSB0\"\n", nil, []string{"28: console.pin_hash: a serial console needs a PIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := minimalConfig(t, dir, tt.extra)
			if tt.edit != nil {
				b, _ := os.ReadFile(p)
				os.WriteFile(p, []byte(tt.edit(string(b))), 0o644)
			}
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"check", "-config", p}, nil, &out, &errb)
			if err == nil || exitCode(err) == 0 {
				t.Fatalf("laned check = %v; want a non-zero exit", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), p+":"+w) {
					t.Errorf("laned check output lacks %q:\n%s", p+":"+w, out.String())
				}
			}
			if strings.Contains(out.String(), testSecret) {
				t.Errorf("output holds the secret")
			}
		})
	}
}

func TestMinimalConfigIsValid(t *testing.T) {
	p := minimalConfig(t, t.TempDir(), "")
	if _, ps, err := config.Load(p); err != nil || len(ps) > 0 {
		t.Fatalf("loadConfig(minimal) = %v, %v; want ok", ps, err)
	}
}

func TestStoreCheckTimeout(t *testing.T) {
	for _, tc := range []struct {
		line string
		want time.Duration
	}{
		{"", 0}, // the store's default
		{"store_check_timeout = \"3s\"\n", 3 * time.Second},
		{"store_check_timeout = \"-1s\"\n", -time.Second}, // no check
	} {
		p := minimalConfig(t, t.TempDir(), "")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, append([]byte(tc.line), b...), 0o644)
		cfg, ps, err := config.Load(p)
		if err != nil || len(ps) > 0 || cfg.StoreCheckTimeout != tc.want {
			t.Errorf("loadConfig(%q) = %v, %v, %v; want %v", tc.line, cfg.StoreCheckTimeout, ps, err, tc.want)
		}
	}
}

func TestSimClockConfig(t *testing.T) {
	p := minimalConfig(t, t.TempDir(), "")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `profile = "sim"`, "profile = \"sim\"\nclock = \"sim\"", 1)), 0o644)
	cfg, ps, err := config.Load(p)
	if err != nil || len(ps) > 0 {
		t.Fatalf("loadConfig(sim clock) = %v, %v; want ok", ps, err)
	}
	if !cfg.SimClock {
		t.Error("SimClock = false; want true")
	}
}

func TestSecretIsMasked(t *testing.T) {
	s := config.Secret(testSecret)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%v %s %+v %#v %q", s, s, config.PlatformConfig{Secret: s}, s, s)
	appliance.NewLogger(&b, &config.Config{LogFormat: "json"}).Info("x", "secret", s, "platform", config.PlatformConfig{Secret: s})
	appliance.NewLogger(&b, &config.Config{LogFormat: "text"}).Info("x", "secret", s)
	if strings.Contains(b.String(), testSecret) {
		t.Errorf("secret printed: %s", b.String())
	}
}

func TestSyncVehicles(t *testing.T) {
	dir := t.TempDir()
	p := minimalConfig(t, dir, "[[vehicles]]\nplate = \"粤B1\"\nlist = \"vip\"\n[[vehicles]]\nplate = \"粤B2\"\nlist = \"black\"\nuntil = 2030-01-01\n")
	cfg, ps, err := config.Load(p)
	if err != nil || len(ps) > 0 {
		t.Fatal(ps, err)
	}
	db, _, err := store.Open(filepath.Join(dir, "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.PutVehicle(store.Vehicle{Plate: "粤B9", List: store.ListMonthly, Note: "added at the console"})
	if put, del, err := appliance.SyncVehicles(db, cfg); put != 2 || del != 0 || err != nil {
		t.Fatalf("syncVehicles = %d, %d, %v; want 2 put", put, del, err)
	}
	if put, del, err := appliance.SyncVehicles(db, cfg); put != 0 || del != 0 || err != nil {
		t.Fatalf("syncVehicles again = %d, %d, %v; want nothing to do", put, del, err)
	}
	cfg.Vehicles = cfg.Vehicles[1:]
	if put, del, err := appliance.SyncVehicles(db, cfg); put != 0 || del != 1 || err != nil {
		t.Fatalf("syncVehicles after a removal = %d, %d, %v; want 1 deleted", put, del, err)
	}
	vs, _ := db.ListVehicles()
	var got []string
	for _, v := range vs {
		got = append(got, v.Plate+"/"+string(v.List))
		if v.Plate == "粤B2" && v.Until.Format(time.RFC3339) != "2030-01-01T00:00:00+08:00" {
			t.Errorf("until = %v; want midnight in the park's zone", v.Until)
		}
	}
	if strings.Join(got, ",") != "粤B2/black,粤B9/monthly" {
		t.Errorf("vehicles = %v; want the file's remaining entry and the console's", got)
	}
}

// [platform] offline_release: off by default (the example says so too),
// read when set, shown by check.
func TestOfflineReleaseKey(t *testing.T) {
	cfg, _, err := config.Load(exampleConfig(t))
	if err != nil || cfg.Platform.OfflineRelease {
		t.Fatalf("example: offline_release = %v (%v); want false", cfg.Platform.OfflineRelease, err)
	}
	dir := t.TempDir()
	p := minimalConfig(t, dir, "")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("[platform]\n"), []byte("[platform]\noffline_release = true\n"), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(p)
	if err != nil || len(ps) > 0 || !cfg.Platform.OfflineRelease {
		t.Fatalf("loadConfig with offline_release = true: %v, %v, %v; want it set", cfg.Platform.OfflineRelease, ps, err)
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", p}, nil, &out, &errb); err != nil || !strings.Contains(out.String(), "offline release") {
		t.Errorf("laned check = %v:\n%s%s; want offline release shown", err, out.String(), errb.String())
	}
}
