// Package store keeps every parking record, payment, contactless binding,
// vehicle list entry, queued uplink and audit event in one bbolt file that
// must survive power loss at any instant. Each domain operation is one
// transaction. It knows nothing of hardware, the CMB wire format or lanes.
package store
