// Package camera implements the hal camera over an RS-485 serial link: the
// lane-frame and template codecs of shared/spec/camera-rs485.md and the port
// handling (ACK, trigger, duplicates, heartbeats, reopen) over
// go.bug.st/serial.
package camera
