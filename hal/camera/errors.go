package camera

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrHalted is returned by Trigger after Halt.
	ErrHalted = errors.New("camera: halted")
	// ErrNotConnected is returned by Trigger while the serial port is not
	// open (adapter unplugged, reopening).
	ErrNotConnected = errors.New("camera: port not connected")
	// ErrUnsupported is returned when the codec cannot express a request
	// (a template camera cannot be triggered) or the platform lacks a
	// feature (kernel RS-485 mode outside Linux).
	ErrUnsupported = errors.New("camera: not supported")
	// ErrConfig wraps every configuration error (bad template file, bad
	// baud rate, …).
	ErrConfig = errors.New("camera: bad configuration")
)
