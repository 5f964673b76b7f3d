package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"laned/hal/clock"
	"laned/hal/display"
)

// ErrUnplugged is what a write to an unplugged sim display returns.
var ErrUnplugged = errors.New("sim: display unplugged")

// Display is a simulated lane board on the far end of the wire: it takes
// the bytes the real driver (display.Board) writes, decodes them as the
// board family does (frames with a bad CRC are ignored, as a board does)
// and keeps what it shows and says. It is a display.Link: wire a Board to
// it. OnChange hears every change of what a driver sees or hears.
type Display struct {
	name   string
	codec  display.Codec
	addr   int
	lines  int
	voices display.Voices
	clk    clock.Clock

	mu        sync.Mutex
	dec       display.Decoder
	screen    display.Screen
	last      string
	ignored   int
	unplugged bool
	onChange  func(name, shown string)
}

var _ display.Link = (*Display)(nil)

// NewDisplay returns a sim board named name at addr showing lines lines,
// speaking the indexes of voices (nil: the defaults). onChange (may be
// nil) is called, under no lock of the caller's, with each new rendering:
// "line | line | … ♪ voice".
func NewDisplay(name string, codec display.Codec, addr, lines int, voices display.Voices, clk clock.Clock, onChange func(name, shown string)) *Display {
	if voices == nil {
		voices = display.DefaultVoices()
	}
	return &Display{name: name, codec: codec, addr: addr, lines: lines, voices: voices, clk: clock.Or(clk), dec: codec.NewDecoder(), onChange: onChange}
}

// Write takes bytes from the wire.
func (d *Display) Write(_ context.Context, p []byte) error {
	d.mu.Lock()
	if d.unplugged {
		d.mu.Unlock()
		return ErrUnplugged
	}
	var changes []string
	now := d.clk.Now()
	for _, r := range d.dec.Feed(p) {
		if r.Frame == nil || (r.Frame.Addr != d.addr && r.Frame.Addr != 0) {
			d.ignored++
			continue
		}
		c, err := d.codec.Parse(r.Frame)
		if err != nil {
			d.ignored++
			continue
		}
		d.screen.Apply(c, now, d.voices)
		since := now
		if c.Op != display.OpSay {
			since = now.Add(1) // a voice is heard once
		}
		if s := d.screen.Format(now, d.lines, since); s != d.last || c.Op == display.OpSay {
			d.last = s
			changes = append(changes, s)
		}
	}
	f := d.onChange
	d.mu.Unlock()
	if f != nil {
		for _, s := range changes {
			f(d.name, s)
		}
	}
	return nil
}

// Unplug makes writes fail (plugged = false) or work again.
func (d *Display) Unplug(unplugged bool) {
	d.mu.Lock()
	d.unplugged = unplugged
	d.mu.Unlock()
}

// Screen returns what the board shows and last said.
func (d *Display) Screen() display.Screen {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.screen
}

// Shown is what the board shows now, lines joined by " | ".
func (d *Display) Shown() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.screen.Format(d.clk.Now(), d.lines, d.clk.Now().Add(1))
}

// Ignored counts frames the board ignored (bad CRC, another address,
// unknown command).
func (d *Display) Ignored() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ignored
}

func (d *Display) String() string { return fmt.Sprintf("sim display %s", d.name) }
