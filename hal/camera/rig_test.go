package camera_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera/cameratest"

	"laned/internal/progress"
)

// The setup the Port, Bus and Turn tests share: fixtures, a logger, a hang
// guard, a pty behind a device path, and reading a camera's events.

var t0 = time.Unix(1700000000, 0)

var (
	jingA = hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Colour: hal.ColourBlue, Conf: 96,
		Trigger: hal.TriggerIO, CameraTime: t0}
	yueB = hal.PlateEvent{Kind: hal.KindPlate, Plate: "粤B7788D", Colour: hal.ColourGreen, Conf: 88,
		Trigger: hal.TriggerAuto, CameraTime: t0}
)

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// hangGuard returns a context that ends after progress.Stall: a guard
// against a hung test, not a timing assertion.
func hangGuard(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), progress.Stall)
	t.Cleanup(cancel)
	return ctx
}

// ptyAt opens a pty and points link (a path in a fresh temporary
// directory when "") at its slave, as a device path a config names. It
// returns the master, where the test plays the cameras, and link.
func ptyAt(t *testing.T, link string) (*os.File, string) {
	t.Helper()
	master, slave := cameratest.OpenPTY(t)
	if link == "" {
		link = filepath.Join(t.TempDir(), "serial0")
	}
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	return master, link
}

// nextEvent returns the next event of ch (camera who's), failing the
// test when ch closes or nothing comes before ctx ends.
func nextEvent(t *testing.T, ctx context.Context, who string, ch <-chan hal.PlateEvent) hal.PlateEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("%s: Events() closed early", who)
		}
		return ev
	case <-ctx.Done():
		t.Fatalf("%s: no event", who)
	}
	return hal.PlateEvent{}
}
