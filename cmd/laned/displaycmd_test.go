package main

import (
	"bytes"
	"context"
	"laned/appliance/appliancetest"
	"log/slog"
	"strings"
	"testing"

	"laned/appliance"
	"laned/appliance/config"
	"laned/hal/camera/cameratest"
	"laned/hal/display"
)

// TestDisplaySendOnPTY: the bench tool writes the AA55 frames of a text and
// its voice to a port; the far end decodes them.
func TestDisplaySendOnPTY(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	got := make(chan []byte, 1)
	go func() {
		var all []byte
		buf := make([]byte, 256)
		dec := display.AA55{}.NewDecoder()
		frames := 0
		for frames < 2 {
			n, err := master.Read(buf)
			all = append(all, buf[:n]...)
			for _, r := range dec.Feed(buf[:n]) {
				if r.Frame != nil {
					frames++
				}
			}
			if err != nil {
				break
			}
		}
		got <- all
	}()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"display", "send", "-port", slave, "-addr", "101", "-line", "2", "-colour", "green", "-say", "京A12345 请缴费"}, nil, &out, &errb)
	if err != nil {
		t.Fatalf("display send = %v\n%s", err, errb.String())
	}
	wire := <-got
	var cmds []display.Command
	for _, r := range (display.AA55{}).NewDecoder().Feed(wire) {
		if r.Frame == nil {
			t.Fatalf("garbage on the wire: % X (%s)", r.Rejected, r.Reason)
		}
		if r.Frame.Addr != 101 {
			t.Errorf("frame to address %d; want 101", r.Frame.Addr)
		}
		c, err := display.AA55{}.Parse(r.Frame)
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	if len(cmds) != 2 || cmds[0].Op != display.OpShow || cmds[0].Line != 2 || cmds[0].Text != "京A12345 请缴费" || cmds[0].Colour != 2 {
		t.Fatalf("commands = %+v; want show on line 2 in green, then say", cmds)
	}
	if said := display.DefaultVoices().Said(cmds[1].Speech); cmds[1].Op != display.OpSay || said != "京A12345请缴费" {
		t.Errorf("voice = %q; want 京A12345请缴费", said)
	}
	if !strings.Contains(out.String(), "sent AA 55 00 65 00 27") {
		t.Errorf("output = %q; want the frames sent", out.String())
	}
}

func TestDisplayDecode(t *testing.T) {
	frame, _ := display.AA55{}.Encode(1, 100, display.Command{Op: display.OpShow, Line: 1, Text: "车位已满"})
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"display", "decode"}, bytes.NewReader(append(frame, 0x00)), &out, &errb); err != nil {
		t.Fatalf("display decode = %v\n%s", err, errb.String())
	}
	for _, want := range []string{`"op":"show","line":1,"colour":"red","text":"车位已满"`, `"rejected":"00"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("decode printed %s; want %s", out.String(), want)
		}
	}
}

// TestDaemonWritesDisplayPort: a sim-profile daemon with [lanes.display]
// path on a pty (a USB adapter on the bench) writes the exit's board: the
// clock and the idle text, read back from the far end of the wire.
func TestDaemonWritesDisplayPort(t *testing.T) {
	master, slave := cameratest.OpenPTY(t)
	dir := t.TempDir()
	p := minimalConfig(t, dir, "[lanes.display]\npath = \""+slave+"\"\naddr = 101\nlines = 2\nvolume = 3\n[display]\npark = \"台架\"\n")
	cfg, err := config.LoadValid(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serveDaemon(ctx, cfg, slog.New(slog.NewTextHandler(&tlog{t: t}, nil)), appliance.Options{Getenv: appliancetest.Env(nil)})
	}()
	// Read until the idle text of both lines has arrived.
	dec := display.AA55{}.NewDecoder()
	var ops []string
	idle := map[int]string{}
	buf := make([]byte, 512)
	for len(idle) < 2 {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("read the display port: %v (got %v)", err, ops)
		}
		for _, r := range dec.Feed(buf[:n]) {
			if r.Frame == nil {
				t.Fatalf("garbage on the display port: % X", r.Rejected)
			}
			if r.Frame.Addr != 101 {
				t.Fatalf("frame to address %d; want 101", r.Frame.Addr)
			}
			c, err := display.AA55{}.Parse(r.Frame)
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, c.Op.String())
			if c.Op == display.OpIdle {
				idle[c.Line] = c.Text
			}
		}
	}
	if ops[0] != "volume" || ops[1] != "clock" {
		t.Errorf("first commands = %v; want volume, clock, then the idle text", ops)
	}
	if idle[1] != "一路平安 台架" || !strings.HasPrefix(idle[2], "扫码缴费 ") {
		t.Errorf("idle lines = %v; want the exit's 4 lines folded onto 2", idle)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("daemon = %v", err)
	}
}
