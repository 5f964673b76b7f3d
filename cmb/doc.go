// Package cmb implements the China Merchants Bank parking open platform
// protocol (spec: shared/spec/cmb-parking-api.md): signing and verification,
// typed messages for the eight uplinks and five downlinks, a Client for the
// uplinks and a Server (an http.Handler) for the callbacks, and the dynamic
// QR URLs. It is pure protocol: no store, no hardware, no lane logic.
//
// Each message is coded from one table of its fields (table.go: wire name,
// kind, required, bounds or length) used both to send and to receive, so
// the limits of the two directions cannot drift apart; uplink*.go, calc.go
// and downlink.go hold the messages and their tables, fields.go and
// json.go read forms and JSON objects.
package cmb
