// Package camera implements the hal camera over an RS-485 serial link: the
// lane-frame and template codecs of shared/spec/camera-rs485.md and the line
// handling (ACK, trigger, duplicates, heartbeats, reopen) over
// go.bug.st/serial. A Bus owns one serial line and serves the cameras on it
// at their addresses (several lanes' cameras share a multi-drop bus); Open is
// a Bus with a single camera.
//
// It also implements network ANPR cameras (shared/spec/camera-network.md):
// DecodePush (the 臻识 JSON push) and DecodeISAPI (Hikvision's multipart
// alarm push) turn a body into a Read, a NetCamera turns reads into the
// same hal events (with their pictures), and a Listener is the HTTP
// handler the cameras push to. It decides nothing: what a read means for
// the lane is edge's.
package camera
