package store

import "errors"

// Sentinel errors: what callers branch on. Every error returned by this
// package wraps one of these or an I/O error, with an operation prefix
// ("store: close record: …"); test with errors.Is.
var (
	// ErrNotFound: no such record, payment, binding, vehicle or message.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyInside: the plate already has an open record. Close it, or
	// open through ReplaceStale.
	ErrAlreadyInside = errors.New("plate already has an open record")
	// ErrExists: a record with this record_id already exists.
	ErrExists = errors.New("already exists")
	// ErrRecordClosed: the record is closed; it can no longer be changed.
	ErrRecordClosed = errors.New("record already closed")
	// ErrAlreadyRecorded: a payment with this order was recorded before. The
	// repeat changed nothing (and enqueued nothing); answer it as a success.
	ErrAlreadyRecorded = errors.New("payment already recorded")
	// ErrInvalid: an argument breaks the store's rules (empty plate, a
	// record_id longer than 32 bytes, a zero sequence…). Nothing changed.
	ErrInvalid = errors.New("invalid argument")
	// ErrNewerSchema: the file was written by a newer laned whose schema this
	// build does not know. The file is left untouched.
	ErrNewerSchema = errors.New("file has a newer schema than this build")
	// ErrLocked: another process holds the file (Options.LockTimeout ran out).
	ErrLocked = errors.New("file is locked by another process")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("store closed")
	// ErrInconsistent: CheckConsistency found a broken invariant or page.
	ErrInconsistent = errors.New("inconsistent file")
	// ErrCorrupt: the file is damaged where this operation went: bbolt
	// panicked or faulted inside its transaction, and the store caught it.
	// A write did not happen; a read has no answer; operations elsewhere
	// in the file go on (if even the rollback panics, every later write
	// fails with ErrCorrupt at once). A marker file beside the store makes
	// the next Open salvage it.
	ErrCorrupt = errors.New("store file damaged")
	// ErrOtherBox: the file was written as another box of a site
	// (Options.Box changed): its log's entries would reach the other boxes
	// under the wrong origin. The file is left untouched.
	ErrOtherBox = errors.New("store file belongs to another box of the site")
)
