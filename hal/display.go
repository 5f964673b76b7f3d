package hal

import (
	"context"
	"time"
)

// DisplayColour is the colour of a line of text on a lane's LED board.
type DisplayColour int

const (
	DisplayDefault DisplayColour = 0 // the board's own default
	DisplayRed     DisplayColour = 1
	DisplayGreen   DisplayColour = 2
	DisplayYellow  DisplayColour = 3
)

func (c DisplayColour) String() string {
	switch c {
	case DisplayRed:
		return "red"
	case DisplayGreen:
		return "green"
	case DisplayYellow:
		return "yellow"
	}
	return "default"
}

// Phrase is one piece of what a board says: a voice burned into the board
// (Indexed, Index) whose meaning is Text, or Text alone for the board to
// speak itself (text-to-speech boards). Text is UTF-8.
type Phrase struct {
	Text    string
	Index   byte
	Indexed bool
}

// Display is a lane's LED board with its voice announcer. Lines count
// from 1. A board that never answers is not an error: a write that left
// the controller has succeeded.
type Display interface {
	Device
	// Show puts text on line for secs seconds (0: until replaced or
	// cancelled), over the line's idle text.
	Show(ctx context.Context, line int, text string, secs int, c DisplayColour) error
	// Cancel removes the temporary text of the given lines (none: all),
	// so that their idle text shows again.
	Cancel(ctx context.Context, lines ...int) error
	// SetIdle sets the text a line shows when nothing temporary is.
	SetIdle(ctx context.Context, line int, text string, c DisplayColour) error
	// Say plays the phrases in order.
	Say(ctx context.Context, phrases ...Phrase) error
	// SetVolume sets the voice volume, 0 (mute) to 9.
	SetVolume(ctx context.Context, v int) error
	// SetClock sets the board's clock to t in t's location.
	SetClock(ctx context.Context, t time.Time) error
}

// QRDisplay is what a Display that can also show a QR code (some boards
// and LCD lane screens) adds: the exit's dynamic pay URL with the fee. The
// lane asks its Display for it with a type assertion.
type QRDisplay interface {
	// ShowQR shows the QR code of url with caption (e.g. the fee) for
	// secs seconds (0: until replaced).
	ShowQR(ctx context.Context, url, caption string, secs int) error
	// CanShowQR reports whether the board has a QR command at all.
	CanShowQR() bool
}
