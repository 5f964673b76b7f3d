package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"laned/appliance/config"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// TestCheckLoopPolarity: laned check says, loop by loop, whether a cut
// wire reads occupied.
func TestCheckLoopPolarity(t *testing.T) {
	cfg := rpiConfig(t, t.TempDir(), "safety_loop = { pin = \"GPIO23\", active_low = true }\nsafety_fault = { pin = \"GPIO25\", active_low = true }\n")
	var out bytes.Buffer
	if err := runCheck(context.Background(), []string{"-config", cfg}, nil, &out, &out); err != nil {
		t.Fatalf("check = %v: %s", err, out.String())
	}
	for _, want := range []string{
		"arming loop GPIO17 active-low, pull-up: NOT fail-safe",
		"safety loop GPIO27 active-high, pull-up: fail-safe, a cut wire or a dead detector reads occupied",
		"safety loop GPIO23 active-low, pull-up: NOT fail-safe, a cut wire or a dead detector reads free",
		"safety loop fault input GPIO25 (active-low)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check printed\n%s\nwant %q", out.String(), want)
		}
	}
}

// piConfig is minimalConfig on a Pi profile with extra keys in the
// [board] table and in lanes in1 and out1.
func piConfig(t *testing.T, dir, board, in1, out1 string) string {
	t.Helper()
	p := minimalConfig(t, dir, "")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "profile = \"sim\"\n", board+"\n", 1)
	s = strings.Replace(s, "name = \"in1\"\nkind = \"entry\"\ncode = 1\n", "name = \"in1\"\nkind = \"entry\"\ncode = 1\n"+in1, 1)
	s = strings.Replace(s, "name = \"out1\"\nkind = \"exit\"\ncode = 1\n", "name = \"out1\"\nkind = \"exit\"\ncode = 1\n"+out1, 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// chipPins is a gpiochip's lines by offset and by name ("GPIOn" is line
// n), as periph's gpioioctl resolves them.
type chipLines struct{ pins map[int]*gpiotest.Pin }

func (c *chipLines) Pin(name string) (gpio.PinIO, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "GPIO"))
	if err != nil {
		return nil, fmt.Errorf("line %q not on gpiochip0", name)
	}
	if c.pins[n] == nil {
		c.pins[n] = &gpiotest.Pin{N: fmt.Sprintf("GPIO%d", n), Num: n, EdgesChan: make(chan gpio.Level, 1)}
	}
	return c.pins[n], nil
}

// TestCheckWiringMistakes: one laned check per wiring mistake, each
// reported with its line and key.
func TestCheckWiringMistakes(t *testing.T) {
	const rpi4 = "profile = \"rpi4\""
	link := func(to string) *fstest.MapFile { return &fstest.MapFile{Mode: fs.ModeSymlink, Data: []byte(to)} }
	pi := func() fstest.MapFS {
		return fstest.MapFS{
			"dev/serial0":               link("ttyAMA0"),
			"dev/ttyAMA0":               &fstest.MapFile{},
			"boot/firmware/cmdline.txt": &fstest.MapFile{Data: []byte("console=tty1 root=PARTUUID=1234-02 rootfstype=ext4 fsck.repair=yes rootwait\n")},
		}
	}
	withFile := func(m fstest.MapFS, name string, f *fstest.MapFile) fstest.MapFS { m[name] = f; return m }
	gpiochip := "profile = \"gpiochip\"\nchip = \"gpiochip0\""
	gpiochipLane := func(arming, safety, open, close, port string) string {
		return "arming_loop = { pin = \"" + arming + "\", active_low = true }\nsafety_loop = { pin = \"" + safety + "\" }\n" +
			"open_relay = { pin = \"" + open + "\" }\nclose_relay = { pin = \"" + close + "\" }\ncamera = { path = \"" + port + "\" }\n"
	}
	tests := []struct {
		name           string
		board, in, out string
		root           fstest.MapFS
		want           string // "key|message part"; the line is checked too
		line           int    // the line of the key, 0: the key's own line is found in the file
	}{
		{"HAT EEPROM pins", rpi4, "stop_relay = { pin = \"GPIO0\" }\n", "", pi(),
			"lanes[0].stop_relay.pin|GPIO0 is ID_SD, the HAT ID EEPROM's I²C", 0},
		{"I2C pins", rpi4, "", "up_limit = { pin = \"3\", active_low = true }\n", pi(),
			"lanes[1].up_limit.pin|GPIO3 is SCL1, I²C", 0},
		{"UART pins while the camera uses the PL011", rpi4, "down_limit = { pin = \"GPIO15\" }\n", "", pi(),
			"lanes[0].down_limit.pin|GPIO15 is RXD of the camera's UART (/dev/serial0)", 0},
		{"RTS in kernel mode", rpi4, "camera = { rs485 = \"kernel\" }\n", "camera = { rs485 = \"kernel\" }\n", pi(),
			"lanes[0].arming_loop.pin|GPIO17 is RTS of the camera's UART (/dev/serial0), which drives the transceiver's DE in rs485 kernel mode", 0},
		{"one pin under two names on gpiochip", gpiochip, gpiochipLane("17", "27", "5", "6", "/dev/ttyUSB0"), gpiochipLane("GPIO17", "23", "19", "26", "/dev/ttyUSB1"), pi(),
			"lanes[1].arming_loop.pin|\"GPIO17\" is line 17, already used as \"17\" by lanes[0].arming_loop.pin", 0},
		{"one UART under two paths", rpi4, "", "camera = { path = \"/dev/ttyAMA0\", addr = 2, de_pin = \"none\" }\n", pi(),
			"lanes[1].camera.path|/dev/ttyAMA0 is /dev/ttyAMA0, the UART of lanes[0].camera.path /dev/serial0", 0},
		{"kernel console on the camera's UART", rpi4, "", "",
			withFile(pi(), "boot/firmware/cmdline.txt", &fstest.MapFile{Data: []byte("console=serial0,115200 console=tty1 root=PARTUUID=1234-02 rootwait\n")}),
			"lanes[0].camera.path|the kernel's console is on this UART (console=serial0,115200 in /boot/firmware/cmdline.txt)", 0},
		{"login prompt on the camera's UART", rpi4, "", "",
			withFile(pi(), "etc/systemd/system/getty.target.wants/serial-getty@ttyAMA0.service", link("/lib/systemd/system/serial-getty@.service")),
			"lanes[0].camera.path|a login prompt runs on this UART (serial-getty@ttyAMA0.service enabled)", 0},
		{"parity on the mini-UART", rpi4, "camera = { parity = \"even\" }\n", "camera = { parity = \"even\" }\n",
			fstest.MapFS{"dev/serial0": link("ttyS0"), "dev/ttyS0": &fstest.MapFile{}},
			"lanes[0].camera.parity|/dev/serial0 is the mini-UART (/dev/ttyS0), which has no parity", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := piConfig(t, t.TempDir(), tt.board, tt.in, tt.out)
			var out bytes.Buffer
			err := checkMain([]string{"-config", cfg}, &out, &out, config.HostEnv{Root: tt.root, Pins: &chipLines{pins: map[int]*gpiotest.Pin{}}})
			if err == nil {
				t.Fatalf("check = nil; want a problem:\n%s", out.String())
			}
			key, msg, _ := strings.Cut(tt.want, "|")
			re := regexp.MustCompile(regexp.QuoteMeta(cfg) + `:(\d+): ` + regexp.QuoteMeta(key) + `: ` + regexp.QuoteMeta(msg))
			m := re.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("check printed\n%s\nwant a line %s:N: %s: %s…", out.String(), cfg, key, msg)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 {
				t.Errorf("problem at line %s; want the key's line", m[1])
			}
		})
	}
}

// TestCheckWarnings: what laned check says without failing.
func TestCheckWarnings(t *testing.T) {
	cfg := piConfig(t, t.TempDir(), "profile = \"rpi4\"",
		"camera = { path = \"/dev/serial/by-path/platform-xhci-hcd.0-usb-0:1.1:1.0-port0\" }\n",
		"level = true\ncamera = { path = \"/dev/ttyUSB1\", de_pin = \"GPIO4\" }\n")
	var out bytes.Buffer
	if err := checkMain([]string{"-config", cfg}, &out, &out, config.HostEnv{Root: fstest.MapFS{}, Pins: &chipLines{pins: map[int]*gpiotest.Pin{}}}); err != nil {
		t.Fatalf("check = %v:\n%s", err, out.String())
	}
	for _, want := range []string{
		"lanes[1].camera.de_pin: GPIO4 on a USB adapter (/dev/ttyUSB1): the adapter switches direction itself",
		"lanes[1].level: level mode without an up limit switch",
	} {
		if !strings.Contains(out.String(), "warning: "+cfg) || !strings.Contains(out.String(), want) {
			t.Errorf("check printed\n%s\nwant a warning %q", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "lanes[0].camera.de_pin") {
		t.Errorf("a by-path USB adapter inherited the HAT's DE pin:\n%s", out.String())
	}
	// The USB adapter's DE defaults to none, not the HAT's GPIO4.
	c, err := config.LoadValid(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if de := c.Board.WithDefaults().Lanes[0].Camera.DEPin; de != "none" {
		t.Errorf("DE pin of a USB adapter path = %q; want none", de)
	}
	// Not on the board: the pins are not checked, and the reason is said
	// as it is.
	out.Reset()
	if err := checkMain([]string{"-config", cfg}, &out, &out, config.HostEnv{Root: fstest.MapFS{}}); err != nil {
		t.Fatalf("check = %v:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "board.profile: pins not checked on this machine: board: rpi4:") {
		t.Errorf("check off the board printed\n%s\nwant the host's error as a warning", out.String())
	}
}
