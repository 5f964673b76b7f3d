package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"laned/edge/console"
)

// TestSerialConsoleLockoutSurvivesRestart: the daemon's serial console
// over a pseudo-terminal locks after five wrong PINs, and a restarted
// daemon (same data directory) still refuses the right PIN.
func TestSerialConsoleLockoutSurvivesRestart(t *testing.T) {
	p := openConsolePTY(t)
	dir := t.TempDir()
	h, err := console.HashPIN("1234", bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	path := minimalConfig(t, dir, fmt.Sprintf("[console]\nserial_port = %q\npin_hash = %q\n", p.slave, h))
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		d := startDaemon(ctx, t, path, nil, runOptions{})
		return func() {
			cancel()
			if err := <-d.done; err != nil {
				t.Errorf("daemon stop = %v", err)
			}
		}
	}
	stop := start()
	p.expect("laned technician console")
	p.expect("PIN: ")
	p.typ("\r\r") // empty lines are not tries
	for i := 1; i <= 4; i++ {
		p.typ("0000\r")
		p.expect(fmt.Sprintf("wrong PIN: %d tries left", 5-i))
	}
	p.typ("0000\r")
	p.expect("locked for 300 more seconds")
	stop()

	stop = start()
	defer stop()
	p.expect("laned technician console") // the new daemon's greeting: its port is open
	p.expect("PIN: ")
	p.typ("1234\r")
	p.expect("locked for ")
	p.expect("PIN: ")
}
