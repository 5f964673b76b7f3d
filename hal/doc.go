// Package hal defines the lane hardware as interfaces and plain event
// types: inductive loops, barriers, ANPR cameras and the lane's LED board
// with its voice. It holds no driver code and no periph.io or serial types;
// the implementations live in hal/gpio (periph.io), hal/camera (RS-485
// over go.bug.st/serial), hal/display (the board's codecs and driver) and
// hal/sim (an in-memory lane for the demo and tests). Decisions about what
// to do with an event belong to edge, never here.
package hal
