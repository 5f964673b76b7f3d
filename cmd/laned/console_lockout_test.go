package main

import (
	"bytes"
	"context"
	"fmt"
	"laned/appliance/appliancetest"
	"testing"

	"laned/edge/console"
)

// TestSerialConsoleLockoutSurvivesRestart: the daemon's serial console
// over a pseudo-terminal locks after five wrong PINs, and a restarted
// daemon (same data directory) still refuses the right PIN.
func TestSerialConsoleLockoutSurvivesRestart(t *testing.T) {
	p := appliancetest.OpenPTY(t)
	dir := t.TempDir()
	h, err := console.HashPIN("1234", bytes.NewReader(make([]byte, 16)))
	if err != nil {
		t.Fatal(err)
	}
	path := minimalConfig(t, dir, fmt.Sprintf("[console]\nserial_port = %q\npin_hash = %q\n", p.Slave, h))
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		_, done := startDaemon(ctx, t, path)
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("daemon stop = %v", err)
			}
		}
	}
	stop := start()
	p.Expect("laned technician console")
	p.Expect("PIN: ")
	p.Type("\r\r") // empty lines are not tries
	for i := 1; i <= 4; i++ {
		p.Type("0000\r")
		p.Expect(fmt.Sprintf("wrong PIN: %d tries left", 5-i))
	}
	p.Type("0000\r")
	p.Expect("locked for 300 more seconds")
	stop()

	stop = start()
	defer stop()
	p.Expect("laned technician console") // the new daemon's greeting: its port is open
	p.Expect("PIN: ")
	p.Type("1234\r")
	p.Expect("locked for ")
	p.Expect("PIN: ")
}
