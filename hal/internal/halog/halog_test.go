package halog

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestOr(t *testing.T) {
	Or(nil).Info("dropped") // must not panic
	if Or(nil).Enabled(t.Context(), slog.LevelError) {
		t.Errorf("Or(nil) is enabled at Error; want a logger that discards")
	}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	if got := Or(l); got != l {
		t.Errorf("Or(l) = %p; want l itself (%p)", got, l)
	}
}
