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
// with each OpenRecord so IDs are unique across restarts. With
// Options.Box (a site of several boxes) the box id follows the time, so
// IDs are unique across the site.
//
// Plates: the open-plate index is keyed by look-alike form (PlateForm:
// confusable characters and the province folded) + plate, so that an
// exact read costs one Get and OpenLookalikes finds the open records a
// misread plate may stand for (the same form, one character more or
// fewer) with a few hundred prefix seeks, never a scan.
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
// Files: Open checks an existing file's pages before bbolt maps it
// (bounded by Options.CheckTimeout). A damaged file is salvaged: what is
// readable is written through this package's own code into a fresh file
// (indexes and counters rebuilt, outbox sequence numbers kept), and the
// damaged one is renamed with a ".corrupt-<UTC time>" suffix; an empty,
// unreadable or meta-less file is renamed the same way and a fresh one
// started. Both are reported in OpenReport, logged at ERROR and written as
// an audit event. A bbolt panic inside a transaction is ErrCorrupt and
// leaves a marker that makes the next Open salvage. Open refuses a newer
// schema (ErrNewerSchema) and a file locked by another process
// (ErrLocked). CheckFile checks a file read-only; CheckConsistency runs
// bbolt's page check and the store's own invariants on an open DB; Prune
// deletes old closed records in bounded batches; CompactFile rewrites a
// file under its lock.
//
// Sites: with Options.Box, the file is one box's truth in a car park of
// several boxes. Every domain change another box needs (records whole,
// payments, bindings, vehicle-list entries, arrears, record uplinks
// queued and done) is appended, in the transaction of the change, to
// this box's replication log (seq from 1, no gaps, kept across restarts
// and salvage); a transport publishes it (ReplOwn, SetReplPublished) and
// applies the other boxes' logs with ApplyRepl (a cursor per origin,
// idempotent, gaps detected, merge rules documented there), which never
// logs. TakeOver moves a silent box's shadow queue into this box's
// outbox. Without a Box none of it is written: no extra page, no extra
// transaction. The store knows nothing of the transport.
package store
