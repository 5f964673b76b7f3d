// Package cmbsim is a simulator of the China Merchants Bank parking open
// platform, for commissioning a lane without the bank and for end-to-end
// tests. A Sim serves the eight /api/* uplinks with signature checks and
// the platform's behaviour (contactless agreements, AutoPay charged at most
// once per request_order, guaranteed and non-guaranteed modes, order
// status), records every uplink it receives, injects faults per endpoint
// (down, delay, answer-then-cut, malformed answer, status ≠ 0), and drives
// the lane's callbacks (calc, pay, autoPayBind, autoPayUnbind, NoVpln).
//
// Everything a test or a technician can do is available twice: as Go
// methods for in-process tests, and as a JSON admin API under /_sim/ on the
// same handler. The protocol itself (signing, message decoding, sending
// downlinks) comes from package cmb; this package holds the platform's
// state and rules only. It is a test and commissioning tool, not a model of
// the bank's settlement: no money moves anywhere.
package cmbsim
