package consoletest

import (
	"strings"
	"testing"
	"time"

	"laned/edge/console"
	"laned/hal/clock"
)

// T0 is the fake's moment: 2025-03-01 14:03:22 in Shanghai.
var T0 = time.Date(2025, 3, 1, 6, 3, 22, 0, time.UTC)

// NewConsole returns a console over a fake Backend at T0 and the fake:
// opts as given, with the fake's roles when opts has no Backend, a fake
// clock at T0 when it has no Clock and the car park's zone (UTC+8) when
// it has no Location.
func NewConsole(t testing.TB, opts console.Options) (*console.Console, *Backend) {
	t.Helper()
	b := New(T0)
	if opts.Backend.Lanes == nil {
		opts.Backend = b.Roles()
	}
	if opts.Clock == nil {
		opts.Clock = clock.NewFake(T0)
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("CST", 8*3600)
	}
	return console.New(opts), b
}

// WantInOrder fails t unless got, what a console wrote, holds each of
// want in that order.
func WantInOrder(t testing.TB, what, got string, want ...string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%s wrote\n%q\nwant it to contain (in order) %q", what, got, w)
		}
		rest = rest[i+len(w):]
	}
}
