package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/appliance"
	"laned/board/boardtest"
	"laned/hal/clock"
	"laned/internal/syncbuf"
)

// rpiConfig is minimalConfig on the rpi4 profile (the default wiring:
// active-low relays) with extra lane keys for out1.
func rpiConfig(t *testing.T, dir, out1 string) string {
	t.Helper()
	p := minimalConfig(t, dir, "")
	editConfig(t, p, `profile = "sim"`, `profile = "rpi4"`)
	editConfig(t, p, "name = \"out1\"\nkind = \"exit\"\ncode = 1\n", "name = \"out1\"\nkind = \"exit\"\ncode = 1\n"+out1)
	return p
}

func TestIORelease(t *testing.T) {
	dir := t.TempDir()
	cfg := rpiConfig(t, dir, "level = true\n")
	pins := boardtest.NewPins(nil)
	// Every relay energised (Low: active-low) before the release.
	for _, n := range []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19", "GPIO26", "GPIO21"} {
		p, _ := pins.Pin(n)
		p.Out(gpio.Low)
	}
	var out bytes.Buffer
	if err := ioMain(context.Background(), []string{"release", "-config", cfg}, nil, &out, &out, ioEnv{pins: pins}); err != nil {
		t.Fatalf("io release = %v: %s", err, out.String())
	}
	level := func(n string) gpio.Level { p, _ := pins.Pin(n); return p.Read() }
	for _, n := range []string{"GPIO5", "GPIO6", "GPIO13", "GPIO26", "GPIO21"} {
		if level(n) != gpio.High {
			t.Errorf("%s after io release = Low (energised); want High (inactive)", n)
		}
	}
	if level("GPIO19") != gpio.Low || !strings.Contains(out.String(), "left   out1 open_relay GPIO19: level mode holds the arm up") {
		t.Errorf("out1's level-mode open relay (GPIO19) = %v after io release; want left held, and said:\n%s", level("GPIO19"), out.String())
	}
	out.Reset()
	if err := ioMain(context.Background(), []string{"release", "-config", cfg, "-all"}, nil, &out, &out, ioEnv{pins: pins}); err != nil {
		t.Fatal(err)
	}
	if level("GPIO19") != gpio.High {
		t.Errorf("GPIO19 after io release -all = Low; want released")
	}

	t.Run("refused while laned runs", func(t *testing.T) {
		data := filepath.Join(dir, "data")
		os.MkdirAll(data, 0o750)
		l, err := appliance.LockDataDir(data)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		p, _ := pins.Pin("GPIO5")
		p.Out(gpio.Low)
		for _, args := range [][]string{{"release", "-config", cfg}, {"watch", "-config", cfg}, {"pulse", "-config", cfg, "-yes", "in1", "open"}} {
			err = ioMain(context.Background(), args, nil, &out, &out, ioEnv{pins: pins})
			if !errors.Is(err, appliance.ErrRunning) || !strings.Contains(err.Error(), "io "+args[0]+": refusing") || !strings.Contains(err.Error(), "stop it first") {
				t.Errorf("io %s while laned runs = %v; want refused, saying so", args[0], err)
			}
		}
		if p.Read() != gpio.Low {
			t.Error("io release drove a pin while laned runs")
		}
	})
}

func TestIOBootConfig(t *testing.T) {
	cfg := rpiConfig(t, t.TempDir(), "open_relay = { pin = \"GPIO12\", active_low = false }\n")
	var out bytes.Buffer
	if err := ioMain(context.Background(), []string{"boot-config", "-config", cfg}, nil, &out, &out, ioEnv{}); err != nil {
		t.Fatalf("io boot-config = %v: %s", err, out.String())
	}
	for _, want := range []string{"gpio=5=op,dh", "gpio=6=op,dh", "gpio=13=op,dh", "# out1 open_relay\ngpio=12=op,dl\n", "gpio=26=op,dh", "gpio=21=op,dh"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("io boot-config printed\n%s\nwant %q", out.String(), want)
		}
	}
}

// TestInstallBootLines runs scripts/install-laned into a root with a fake
// laned: config.txt gets the relay block on a Pi, once, with a backup; a
// machine that is not a Pi is left alone.
func TestInstallBootLines(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	script, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "install-laned"))
	fake := filepath.Join(t.TempDir(), "laned")
	os.WriteFile(fake, []byte("#!/bin/sh\ncase \"$1 $2\" in\n\"io boot-config\") printf '# lane1 open_relay\\ngpio=5=op,dh\\n' ;;\nversion*) echo fake ;;\nesac\n"), 0o755)
	setup := func(t *testing.T, model string) (root, cfgtxt string) {
		root = t.TempDir()
		os.MkdirAll(filepath.Join(root, "proc/device-tree"), 0o755)
		os.WriteFile(filepath.Join(root, "proc/device-tree/model"), []byte(model+"\x00"), 0o644)
		os.MkdirAll(filepath.Join(root, "boot/firmware"), 0o755)
		cfgtxt = filepath.Join(root, "boot/firmware/config.txt")
		os.WriteFile(cfgtxt, []byte("dtparam=audio=on\n[cm4]\notg_mode=1\n"), 0o644)
		return root, cfgtxt
	}
	install := func(t *testing.T, root string) string {
		out, err := exec.Command("/bin/sh", script, fake, root).CombinedOutput()
		if err != nil {
			t.Fatalf("install-laned = %v: %s", err, out)
		}
		return string(out)
	}
	root, cfgtxt := setup(t, "Raspberry Pi 4 Model B Rev 1.4")
	install(t, root)
	want := "dtparam=audio=on\n[cm4]\notg_mode=1\n# >>> laned: relays inactive from boot (written by install-laned; do not edit)\n[all]\n# lane1 open_relay\ngpio=5=op,dh\n# <<< laned\n"
	got, _ := os.ReadFile(cfgtxt)
	if string(got) != want {
		t.Errorf("config.txt after install =\n%s\nwant\n%s", got, want)
	}
	if bak, _ := os.ReadFile(cfgtxt + ".laned-bak"); string(bak) != "dtparam=audio=on\n[cm4]\notg_mode=1\n" {
		t.Errorf("backup = %q; want the file before the change", bak)
	}
	os.Remove(cfgtxt + ".laned-bak")
	out := install(t, root) // again: nothing changes
	if got, _ := os.ReadFile(cfgtxt); string(got) != want || strings.Contains(out, "wrote the relays") {
		t.Errorf("config.txt after a second install =\n%s\n(%s); want unchanged", got, out)
	}
	if _, err := os.Stat(cfgtxt + ".laned-bak"); err == nil {
		t.Error("a backup was made although nothing changed")
	}

	unit, _ := os.ReadFile(filepath.Join(root, "etc/systemd/system/laned.service"))
	if !strings.Contains(string(unit), "\nExecStopPost=-/usr/local/bin/laned io release -config /etc/laned/laned.conf\n") {
		t.Error("laned.service does not release the relays after laned stops (ExecStopPost)")
	}

	root, cfgtxt = setup(t, "Generic ARM board")
	install(t, root)
	if got, _ := os.ReadFile(cfgtxt); strings.Contains(string(got), "laned") {
		t.Errorf("config.txt on a machine that is not a Pi was changed:\n%s", got)
	}
}

// squeeze collapses runs of spaces: the columns' padding is not checked.
func squeeze(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }

func waitOutput(t *testing.T, out *syncbuf.Buffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(squeeze(out.String()), want); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("output after 10s:\n%s\nwant %q", out.String(), want)
		}
	}
}

func TestIOWatch(t *testing.T) {
	cfg := rpiConfig(t, t.TempDir(), "up_limit = { pin = \"GPIO16\", active_low = true }\n")
	pins := boardtest.NewPins(nil)
	clk := clock.NewFake(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- ioMain(ctx, []string{"watch", "-config", cfg}, nil, &out, io.Discard, ioEnv{pins: pins, clock: clk})
	}()
	waitOutput(t, &out, "out1 up_limit GPIO16")
	for _, want := range []string{
		"in1 arming_loop GPIO17 free (at start)",
		"in1 safety_loop GPIO27 occupied (at start)", // nothing connected: a fail-safe loop reads occupied
		"out1 up_limit GPIO16 off limit (at start)",
	} {
		if !strings.Contains(squeeze(out.String()), want) {
			t.Errorf("io watch printed\n%s\nwant %q", out.String(), want)
		}
	}
	arming, _ := pins.Pin("GPIO17")
	arming.(*gpiotest.Pin).EdgesChan <- gpio.Low
	// The edge is in once the debounce timer runs; then the clock moves.
	for clk.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(30 * time.Millisecond)
	waitOutput(t, &out, "2026-11-30T12:00:00.030Z in1 arming_loop GPIO17 occupied")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("io watch = %v; want nil at Ctrl-C", err)
	}
}

func TestIOPulse(t *testing.T) {
	dir := t.TempDir()
	cfg := rpiConfig(t, dir, "")
	type run struct {
		args  []string
		stdin string
		want  string // in the output or the error
		fired bool   // the relay was energised
	}
	tests := []struct {
		name string
		run
	}{
		{"open, confirmed", run{[]string{"in1", "open"}, "y\n", "pulsed in1 open_relay GPIO5 for 500ms", true}},
		{"open, declined", run{[]string{"in1", "open"}, "n\n", "not pulsed", false}},
		{"open, -yes", run{[]string{"-yes", "in1", "open"}, "", "pulsed in1 open_relay GPIO5 for 500ms", true}},
		// Nothing connected: the fail-safe safety loop reads occupied.
		{"close refused on an occupied safety loop", run{[]string{"-yes", "in1", "close"}, "", "safety loop occupied: not closing", false}},
		{"unknown lane", run{[]string{"-yes", "nope", "open"}, "", `no lane "nope"`, false}},
		{"bad op", run{[]string{"in1", "up"}, "", "usage", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := boardtest.NewRecordingPin("GPIO5", 5)
			pins := &relayPins{Pins: boardtest.NewPins(nil), relays: map[string]*boardtest.RecordingPin{"GPIO5": open}}
			clk := clock.NewFake(time.Unix(1700000000, 0))
			var out syncbuf.Buffer
			done := make(chan error, 1)
			go func() {
				done <- ioMain(context.Background(), append([]string{"pulse", "-config", cfg}, tt.args...), strings.NewReader(tt.stdin), &out, &out, ioEnv{pins: pins, clock: clk})
			}()
			var err error
			if tt.fired {
				clk.WaitPending(1) // the pulse's timer
				if got := open.Read(); got != gpio.Low {
					t.Errorf("GPIO5 during the pulse = %v; want Low (energised)", got)
				}
				clk.Advance(500 * time.Millisecond)
			}
			err = <-done
			text := out.String()
			if err != nil {
				text += err.Error()
			}
			if !strings.Contains(text, tt.want) {
				t.Errorf("io pulse %q = %v:\n%s\nwant %q", tt.args, err, out.String(), tt.want)
			}
			levels := open.Take()
			if tt.fired && fmt.Sprint(levels) != "[High Low High]" {
				t.Errorf("GPIO5 levels = %v; want [High Low High]: inactive, a pulse, inactive", levels)
			}
			if !tt.fired && slices.Contains(levels, gpio.Low) {
				t.Errorf("GPIO5 energised (%v) although not pulsed", levels)
			}
		})
	}
}

// relayPins hands out recording pins for some names.
type relayPins struct {
	*boardtest.Pins
	relays map[string]*boardtest.RecordingPin
}

func (r *relayPins) Pin(name string) (gpio.PinIO, error) {
	if p, ok := r.relays[name]; ok {
		return p, nil
	}
	return r.Pins.Pin(name)
}
