package display

import "errors"

var (
	// ErrConfig wraps every configuration error.
	ErrConfig = errors.New("display: bad configuration")
	// ErrUnsupported is returned by a codec for a command its family has
	// no frame for (a QR code on AA55).
	ErrUnsupported = errors.New("display: not supported by this board family")
	// ErrText wraps a text the board cannot take: a character GBK cannot
	// encode, or too long.
	ErrText = errors.New("display: bad text")
	// ErrHalted is returned after Halt.
	ErrHalted = errors.New("display: halted")
	// ErrNotConnected is returned while the port is not open.
	ErrNotConnected = errors.New("display: port not connected")
)
