// Package camera implements the hal camera over an RS-485 serial link: the
// lane-frame and template codecs of shared/spec/camera-rs485.md and the line
// handling (ACK, trigger, duplicates, heartbeats, reopen) over
// go.bug.st/serial. A Bus owns one serial line and serves the cameras on it
// at their addresses (several lanes' cameras share a multi-drop bus); Open is
// a Bus with a single camera.
package camera
