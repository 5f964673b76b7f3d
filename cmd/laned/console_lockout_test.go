package main

import (
	"bytes"
	"context"
	"fmt"
	"laned/appliance/appliancetest"
	"log/slog"
	"net"
	"testing"

	"laned/appliance"
	"laned/appliance/config"
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
		cfg, err := config.LoadValid(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		serving := make(chan net.Addr, 1)
		done := make(chan error, 1)
		go func() {
			done <- serveDaemon(ctx, cfg, slog.New(slog.NewTextHandler(&tlog{t: t}, nil)), appliance.Options{OnServing: func(a net.Addr) { serving <- a }})
		}()
		select {
		case <-serving:
		case err := <-done:
			t.Fatalf("daemon stopped before serving: %v", err)
		}
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
