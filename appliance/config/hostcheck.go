package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"laned/board"
)

// HostEnv is what laned check inspects beyond the file; tests replace
// it. Zero fields are the real thing.
type HostEnv struct {
	Root fs.FS           // the box's root file system; nil: os.DirFS("/")
	Pins board.PinSource // nil: the board profile's (host) pins
}

// HostFindings are laned check's findings on the box itself: Problems
// (wiring that cannot work) and Warnings, each tied to a key of the file.
type HostFindings struct {
	Problems, Warnings []Problem
}

// HostCheck looks at the box the configuration is for: the camera
// UARTs behind their paths (symlinks resolved), a kernel console or a
// login prompt on a camera's UART, the mini-UART, and the pins as the
// board's driver resolves them (two names for one line). Things it cannot
// see (not the board) become warnings, with the error as it is.
func HostCheck(cfg *Config, env HostEnv) HostFindings {
	var h HostFindings
	if cfg.Board.Profile == board.ProfileSim {
		return h
	}
	root := env.Root
	if root == nil {
		root = os.DirFS("/")
	}
	data, _ := os.ReadFile(cfg.Path)
	lines := IndexLines(data)
	mk := func(key, format string, args ...any) Problem {
		return Problem{File: cfg.Path, Line: lines.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	problem := func(key, format string, args ...any) { h.Problems = append(h.Problems, mk(key, format, args...)) }
	warn := func(key, format string, args ...any) { h.Warnings = append(h.Warnings, mk(key, format, args...)) }
	hw := cfg.Board.WithDefaults().Lanes

	// The UART behind each camera path.
	devs := make([]string, len(hw))
	first := map[string]int{} // device → first lane on it
	for i, l := range hw {
		if i >= len(cfg.Lanes) {
			break
		}
		devs[i] = resolveDev(root, l.Camera.Path)
		key := fmt.Sprintf("lanes[%d].camera.path", i)
		if j, ok := first[devs[i]]; ok && hw[j].Camera.Path != l.Camera.Path {
			problem(key, "%s is %s, the UART of lanes[%d].camera.path %s: one bus opened twice under two names; give every camera on it the same path",
				l.Camera.Path, devs[i], j, hw[j].Camera.Path)
		} else if !ok {
			first[devs[i]] = i
		}
		if (cfg.Board.Profile == board.ProfileRPi3 || cfg.Board.Profile == board.ProfileRPi4) && devs[i] == "/dev/ttyS0" {
			if l.Camera.Parity != "none" {
				problem(fmt.Sprintf("lanes[%d].camera.parity", i), "%s is the mini-UART (%s), which has no parity: use parity none, or move the PL011 to GPIO14/15 (dtoverlay=disable-bt or miniuart-bt)", l.Camera.Path, devs[i])
			}
			warn(key, "%s is the mini-UART (%s, Bluetooth on): no parity, and its baud rate follows the VPU core clock (set core_freq=250 or use dtoverlay=disable-bt / miniuart-bt for the PL011)", l.Camera.Path, devs[i])
		}
		if l.Camera.DEPin != "" && l.Camera.DEPin != board.None && l.Camera.RS485 != "kernel" && board.IsUSBSerial(l.Camera.Path) {
			warn(fmt.Sprintf("lanes[%d].camera.de_pin", i), "%s on a USB adapter (%s): the adapter switches direction itself; de_pin drives a HAT's pin (set de_pin = \"none\" unless the adapter's transceiver really is wired to it)", l.Camera.DEPin, l.Camera.Path)
		}
		if l.Level && !l.UpLimit.Wired() {
			warn(fmt.Sprintf("lanes[%d].level", i), "level mode without an up limit switch: a restart cannot see that the arm is up and starts with the open relay released")
		}
	}

	// A kernel console or a login prompt on a camera's UART.
	for _, c := range kernelConsoles(root) {
		for i, d := range devs {
			if d != "" && resolveDev(root, "/dev/"+c.tty) == d {
				problem(fmt.Sprintf("lanes[%d].camera.path", i), "the kernel's console is on this UART (console=%s in /%s): remove it from cmdline.txt (raspi-config: Interface Options, Serial Port, login shell: No) and reboot", c.arg, c.file)
			}
		}
	}
	for _, tty := range serialGettys(root) {
		for i, d := range devs {
			if d != "" && resolveDev(root, "/dev/"+tty) == d {
				problem(fmt.Sprintf("lanes[%d].camera.path", i), "a login prompt runs on this UART (serial-getty@%s.service enabled): systemctl disable --now serial-getty@%s.service", tty, tty)
			}
		}
	}

	// The pins as the board's driver resolves them.
	bc := cfg.Board
	bc.Pins = env.Pins
	src, err := bc.PinSource()
	if err != nil {
		warn("board.profile", "pins not checked on this machine: %v", err)
		return h
	}
	type use struct{ key, name string }
	lineOf := map[int]use{}
	for i, l := range hw {
		if i >= len(cfg.Lanes) {
			break
		}
		specs := []struct {
			key  string
			spec board.PinSpec
		}{
			{"arming_loop", l.ArmingLoop}, {"safety_loop", l.SafetyLoop}, {"safety_fault", l.SafetyFault},
			{"open_relay", l.OpenRelay}, {"close_relay", l.CloseRelay}, {"stop_relay", l.StopRelay},
			{"up_limit", l.UpLimit}, {"down_limit", l.DownLimit},
		}
		if l.Camera.RS485 != "kernel" {
			specs = append(specs, struct {
				key  string
				spec board.PinSpec
			}{"camera.de_pin", board.PinSpec{Pin: l.Camera.DEPin}})
		}
		for _, s := range specs {
			if !s.spec.Wired() {
				continue
			}
			key := fmt.Sprintf("lanes[%d].%s", i, s.key)
			if s.key != "camera.de_pin" {
				key += ".pin"
			}
			p, err := src.Pin(s.spec.Pin)
			if err != nil {
				problem(key, "%s: %v", s.spec.Pin, err)
				continue
			}
			n := p.Number()
			if u, ok := lineOf[n]; ok && u.name != s.spec.Pin && !(s.key == "camera.de_pin" && strings.HasSuffix(u.key, "camera.de_pin")) {
				problem(key, "%q is line %d, already used as %q by %s: one line under two names", s.spec.Pin, n, u.name, u.key)
				continue
			}
			if _, ok := lineOf[n]; !ok {
				lineOf[n] = use{key, s.spec.Pin}
			}
		}
	}
	return h
}

// resolveDev follows the symlinks of an absolute device path in root
// (relative links against their directory), at most 16 of them.
func resolveDev(root fs.FS, p string) string {
	if p == "" {
		return ""
	}
	cur := path.Clean(p)
	for range 16 {
		target, err := fs.ReadLink(root, strings.TrimPrefix(cur, "/"))
		if err != nil {
			return cur
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(cur), target)
		}
		cur = path.Clean(target)
	}
	return cur
}

type consoleArg struct{ file, arg, tty string }

// kernelConsoles lists the serial console= arguments of cmdline.txt.
func kernelConsoles(root fs.FS) []consoleArg {
	var out []consoleArg
	for _, f := range []string{"boot/firmware/cmdline.txt", "boot/cmdline.txt"} {
		b, err := fs.ReadFile(root, f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			v, ok := strings.CutPrefix(w, "console=")
			if !ok {
				continue
			}
			tty, _, _ := strings.Cut(v, ",")
			if strings.HasPrefix(tty, "tty") && len(tty) > 3 && tty[3] >= '0' && tty[3] <= '9' {
				continue // a virtual terminal (tty1), not a UART
			}
			out = append(out, consoleArg{file: f, arg: v, tty: tty})
		}
		return out // the first cmdline.txt found is the one booted
	}
	return out
}

// serialGettys lists the ttys of the enabled serial-getty@ units.
func serialGettys(root fs.FS) []string {
	var out []string
	ents, err := fs.ReadDir(root, "etc/systemd/system/getty.target.wants")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, e := range ents {
		if tty, ok := strings.CutPrefix(e.Name(), "serial-getty@"); ok {
			out = append(out, strings.TrimSuffix(tty, ".service"))
		}
	}
	return out
}
