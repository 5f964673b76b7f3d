// Package edge is the appliance: lane state machines, the CMB callback
// handler, the outbox dispatcher and the space and config reporting. It
// depends on hal interfaces, cmb and store, never on drivers, and reads
// time only from an injected clock.
package edge
