package display

import (
	"fmt"
	"strings"
	"time"

	"laned/hal"
)

// Lines is how many lines a Screen models (the most a board has).
const Lines = 4

// ScreenLine is one line of a board: its idle text and the temporary text
// over it.
type ScreenLine struct {
	Idle       string
	IdleColour hal.DisplayColour
	Temp       string // shown over the idle text while Active (even when empty: a blank line)
	Active     bool
	Colour     hal.DisplayColour
	Until      time.Time // zero: until replaced or cancelled
}

// Screen is what a board shows and last said, as a model of the board's
// own behaviour: temporary text hides the idle text until its seconds run
// out or it is cancelled.
type Screen struct {
	Line   [Lines]ScreenLine
	Said   string // the last voice, as heard
	SaidAt time.Time
	Volume int
	Clock  time.Time // the last clock set
	QR     string    // the last QR URL shown (families with QR)
}

// Apply changes the screen as the board does on c at now; voices name the
// indexes of a voice command.
func (s *Screen) Apply(c Command, now time.Time, voices Voices) {
	switch c.Op {
	case OpShow:
		if c.Line >= 1 && c.Line <= Lines {
			l := &s.Line[c.Line-1]
			l.Temp, l.Active, l.Colour, l.Until = c.Text, true, c.Colour, time.Time{}
			if c.Seconds > 0 {
				l.Until = now.Add(time.Duration(c.Seconds) * time.Second)
			}
		}
	case OpCancel:
		lines := c.Lines
		if len(lines) == 0 {
			lines = []int{1, 2, 3, 4}
		}
		for _, n := range lines {
			if n >= 1 && n <= Lines {
				s.Line[n-1].Temp, s.Line[n-1].Active, s.Line[n-1].Until = "", false, time.Time{}
			}
		}
	case OpIdle:
		if c.Line >= 1 && c.Line <= Lines {
			s.Line[c.Line-1].Idle, s.Line[c.Line-1].IdleColour = c.Text, c.Colour
		}
	case OpSay:
		s.Said, s.SaidAt = voices.Said(c.Speech), now
	case OpVolume:
		s.Volume = c.Volume
	case OpClock:
		s.Clock = c.Time
	case OpQR:
		s.QR = c.URL
	}
}

// Shown returns the text each line shows at now.
func (s *Screen) Shown(now time.Time) [Lines]string {
	var out [Lines]string
	for i, l := range s.Line {
		out[i] = l.Idle
		if l.Active && (l.Until.IsZero() || now.Before(l.Until)) {
			out[i] = l.Temp
		}
	}
	return out
}

// Format is the screen at now on one line: the non-empty lines joined by
// " | " (of the first n lines), then "♪ " and the last voice when it was
// said at or after since.
func (s *Screen) Format(now time.Time, n int, since time.Time) string {
	n = min(max(n, 1), Lines)
	var parts []string
	shown := s.Shown(now)
	for _, t := range shown[:n] {
		if t != "" {
			parts = append(parts, t)
		}
	}
	out := strings.Join(parts, " | ")
	if s.Said != "" && !s.SaidAt.Before(since) {
		out = fmt.Sprintf("%s ♪ %s", out, s.Said)
	}
	return strings.TrimSpace(out)
}
