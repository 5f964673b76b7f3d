// Package cmb implements the China Merchants Bank parking open platform
// protocol (spec: shared/spec/cmb-parking-api.md): signing and verification,
// typed messages for the eight uplinks and five downlinks, a Client for the
// uplinks and a Server (an http.Handler) for the callbacks, and the dynamic
// QR URLs. It is pure protocol: no store, no hardware, no lane logic.
package cmb
