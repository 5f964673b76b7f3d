package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
