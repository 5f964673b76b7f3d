package store

// Bucket names, all top-level, in one place. Keys sort the way they are
// scanned: sequence numbers and times are big-endian, record IDs sort by
// time (see NewRecordID).
var (
	// bucketMeta holds the schema version, counters and the newest time.
	bucketMeta = []byte("meta")
	// bucketRecords: record_id → Record (JSON).
	bucketRecords = []byte("records")
	// bucketOpenPlate: PlateForm(plate) + 0x00 + plate → record_id of its
	// open record (inside/leaving); see plates.go. The only record index: a lane's open records are found through it
	// (OpenRecordsByLane filters them), and retention walks the records
	// bucket itself (Prune).
	bucketOpenPlate = []byte("open_plate")
	// bucketPayments: record_id + 0x00 + order → Payment (JSON).
	bucketPayments = []byte("payments")
	// bucketOrders: order → record_id; makes payment notices idempotent.
	bucketOrders = []byte("orders")
	// bucketBindings: plate → Binding (JSON).
	bucketBindings = []byte("bindings")
	// bucketVehicles: plate + 0x00 + list → Vehicle (JSON).
	bucketVehicles = []byte("vehicles")
	// bucketOutbox: seq (uint64 BE, from NextSequence) → due (int64 BE unix
	// ns) + Message (JSON).
	bucketOutbox = []byte("outbox")
	// bucketOutRecord: record_id + 0x00 + seq → nothing, for the messages
	// that hold their record's order (kinds that are never dropped).
	bucketOutRecord = []byte("outbox_record")
	// bucketOutKind: kind + 0x00 + seq → nothing, for the droppable kinds
	// only (eviction and expiry); the per-kind counts are meta counters.
	bucketOutKind = []byte("outbox_kind")
	// bucketDead: seq → Message (JSON): dead-lettered messages, bounded.
	bucketDead = []byte("outbox_dead")
	// bucketAudit: seq (uint64 BE) → AuditEvent (JSON), a bounded ring.
	bucketAudit = []byte("audit")
	// bucketArrears: plate + 0x00 + record_id → Arrear (JSON): contactless
	// fees refused after an offline release, until collected.
	bucketArrears = []byte("arrears")
	// bucketBindHistory: plate + 0x00 + seq (uint64 BE) → BindEvent (JSON):
	// the plate's binds and unbinds, the newest bindHistoryMax kept.
	bucketBindHistory = []byte("bind_history")
)

// allBuckets lists every bucket of the current schema.
var allBuckets = [][]byte{
	bucketMeta, bucketRecords, bucketOpenPlate, bucketPayments, bucketOrders, bucketBindings, bucketVehicles,
	bucketOutbox, bucketOutRecord, bucketOutKind, bucketDead, bucketAudit,
	bucketArrears, bucketBindHistory,
}

// Buckets of schema 1 that schema 2 dropped: an open-record index by lane
// (in_code + record_id) and a retention index (out_time + record_id). Each
// cost every entry and exit commit its own dirty pages.
var (
	bucketOpenLaneV1 = []byte("open_lane")
	bucketClosedV1   = []byte("closed")
)

// Keys of bucketMeta.
var (
	metaSchema    = []byte("schema")     // uint64 BE
	metaNewest    = []byte("newest")     // int64 BE unix seconds
	metaIDSeq     = []byte("id_seq")     // uint64 BE: highest record sequence handed out
	metaOpenN     = []byte("open_n")     // uint64 BE: open records
	metaOpenVIP   = []byte("open_vip")   // uint64 BE: open records with auth_type VIP
	metaOutN      = []byte("out_n")      // uint64 BE: messages in the outbox
	metaOutBytes  = []byte("out_bytes")  // uint64 BE: their encoded size
	metaEvicted   = []byte("out_evict")  // uint64 BE: messages evicted for space
	metaOverfull  = []byte("out_over")   // uint64 BE: enqueues beyond the bound with nothing left to evict
	metaDeadTotal = []byte("dead_total") // uint64 BE: messages ever dead-lettered
	metaLastError = []byte("last_error") // text of the last Retry error
	metaConsole   = []byte("console")    // ConsoleLockout (JSON): the serial console's PIN lock-out
	// metaKindN + kind: uint64 BE, messages of that kind in the outbox
	// (absent when none). The meta bucket is small enough to stay inline,
	// so these counters cost a commit no page of its own.
	metaKindN = []byte("kind_n/")
)
