package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
