// Package cameratest holds test helpers for the RS-485 camera link: a
// pseudo-terminal pair standing in for a USB-RS485 adapter, and FakeCamera,
// a camera speaking lane-frame on the pty's master side. It is for tests
// and simulators, never for the daemon.
package cameratest
