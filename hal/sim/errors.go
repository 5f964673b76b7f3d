package sim

import "errors"

// Errors callers branch on.
var (
	// ErrHalted is returned by commands given to a device after Halt.
	ErrHalted = errors.New("sim: device halted")
	// ErrOffline is returned by Camera.Trigger while the camera is offline.
	ErrOffline = errors.New("sim: camera offline")
)

// eventBuffer is the capacity of every Events channel. Events beyond it
// wait in an unbounded in-memory queue, so a device never blocks and never
// drops an event while its reader is alive.
const eventBuffer = 64
