// Package store keeps every parking record, payment, contactless binding,
// vehicle list entry, queued uplink and audit event in one bbolt file that
// must survive power loss at any instant. Each domain operation is one
// transaction, fsynced before it returns. It knows nothing of hardware,
// the CMB wire format or lanes.
//
// Every mutating operation takes optional outbox messages (msgs
// ...Message) and writes them in its own transaction: an exit closes its
// record and queues its AutoPay and Outdata atomically, or none of it
// happens. Audited(ev) passed among msgs writes an audit event instead.
//
// Record IDs: NewRecordID gives "YYYYMMDDhhmmss" (UTC) + 3-digit lane +
// 9-digit sequence, 26 digits, sorting by time; the sequence is persisted
// with each OpenRecord so IDs are unique across restarts.
//
// Outbox: keyed by NextSequence; the undroppable messages of one record
// (Indata, Outdata, AutoPay, PayOrderStatus, any unknown kind) go strictly
// in order; droppable kinds (PicUpload, SpaceInfo, ConfigUpload,
// AutoPayStatus) may be dead-lettered by age and evicted for space
// (pictures first). Undroppable messages are never dropped for age or
// space: past Options.OutboxMax / OutboxMaxBytes with nothing left to
// evict, an enqueue still succeeds and OutboxStats.Overfull counts it.
// Any message the platform refuses again and again with the same answer
// is dead-lettered by Refused, audited, so that its record's later
// messages go on.
//
// Files: Open moves a file that is not a valid bbolt file aside (renamed
// with a ".corrupt-<UTC time>" suffix, reported in OpenReport) and starts
// a fresh one; it refuses a newer schema (ErrNewerSchema) and a file
// locked by another process (ErrLocked). CheckConsistency runs bbolt's
// page check and the store's own invariants; Prune deletes old closed
// records in bounded batches; Compact copies a file offline.
package store
