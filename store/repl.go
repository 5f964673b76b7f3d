package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The replication log. With Options.Box, every domain change another box
// of the site needs is written, in the transaction of the change, as a
// ReplEntry of this box's own log (bucketRepl, keyed by a sequence that
// starts at 1 and has no gaps: the bucket's sequence is rolled back with
// a failed commit). A transport (package site) publishes the entries
// (ReplOwn, SetReplPublished) and applies the other boxes' ones
// (ApplyRepl). Without a Box nothing of this is written.

// MaxBox is the longest box id (see ValidBox).
const MaxBox = 6

// ValidBox checks a box id: 1–6 characters of [a-z0-9], starting with a
// letter. It goes into record ids and NATS subjects and stream names.
func ValidBox(s string) error {
	if s == "" || len(s) > MaxBox {
		return fmt.Errorf("%w: box %q: 1–%d characters", ErrInvalid, s, MaxBox)
	}
	for i, c := range []byte(s) {
		letter := c >= 'a' && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("%w: box %q: [a-z0-9], starting with a letter", ErrInvalid, s)
		}
	}
	return nil
}

// ReplEntry is one change of one box's log.
type ReplEntry struct {
	Origin string          `json:"o"`
	Seq    uint64          `json:"s"`   // per origin, from 1, no gaps
	At     time.Time       `json:"t"`   // the origin's clock at commit
	Kind   string          `json:"k"`   // Repl* constants
	Key    string          `json:"key"` // record id, plate, order …
	Data   json.RawMessage `json:"d,omitempty"`
	Stream uint64          `json:"-"` // transport: the NATS stream sequence it came with (0: fetched)
}

// Kinds of ReplEntry, with what Data holds.
const (
	ReplRecord     = "record"      // Record: the whole record after the change; Key its id
	ReplPayment    = "payment"     // Payment; Key its order
	ReplBinding    = "binding"     // Binding; Key the plate
	ReplUnbind     = "unbind"      // nothing; Key the plate
	ReplVehicle    = "vehicle"     // Vehicle; Key the plate
	ReplVehicleDel = "vehicle_del" // Vehicle (plate and list); Key the plate
	ReplArrear     = "arrear"      // Arrear; Key the plate
	ReplArrearDel  = "arrear_del"  // Arrear (plate and record_id); Key the plate
	ReplUplink     = "uplink"      // Message queued (Seq: the origin's outbox seq); Key its record id
	ReplUplinkDone = "uplink_done" // Message gone from the outbox (acked or dead); Key its record id
	ReplTakeover   = "takeover"    // Takeover; Key the origin taken over
)

// Takeover is the Data of a ReplTakeover entry: the box that wrote it took
// over Origin's queue as applied up to Origin's entry Upto; Seqs are the
// outbox seqs (at Origin) of the messages it took.
type Takeover struct {
	Origin string   `json:"origin"`
	Upto   uint64   `json:"upto"`
	Seqs   []uint64 `json:"seqs,omitempty"`
}

// Buckets of a site (created by Open when Options.Box is set).
var (
	// bucketRepl: seq (uint64 BE) → ReplEntry (JSON): this box's own log.
	bucketRepl = []byte("repl_log")
	// bucketReplCursor: origin → ReplCursor (JSON).
	bucketReplCursor = []byte("repl_cursor")
	// bucketReplShadow: origin + 0x00 + outbox seq (uint64 BE, the
	// origin's) → Message (JSON): the origin's queued record uplinks.
	bucketReplShadow = []byte("repl_shadow")
	// bucketReplStamp: class + 0x00 + key → at (int64 BE unix ns) + box:
	// the last writer of a binding, vehicle-list entry or arrear (deletes
	// too), for last-writer-wins.
	bucketReplStamp = []byte("repl_stamp")
	// bucketReplPending: record_id + 0x00 + order → Payment (JSON): a
	// replicated payment whose record has not arrived yet.
	bucketReplPending = []byte("repl_pending")

	// bucketReplAlias: record_id + 0x00 + order → the order kept: one
	// AutoPay's payment recorded under two orders (at two boxes) keeps the
	// smaller; the other stays in the orders index, aliased here.
	bucketReplAlias = []byte("repl_alias")
)

var replBuckets = [][]byte{bucketRepl, bucketReplCursor, bucketReplShadow, bucketReplStamp, bucketReplPending, bucketReplAlias}

// metaReplPub: uint64 BE, the highest own entry the transport published.
var metaReplPub = []byte("repl_pub")

// maxReplData bounds an entry's Data (a record with its items is ~2 KiB).
const maxReplData = 64 << 10

// metaBox: the box id the file's log was written as.
var metaBox = []byte("box")

// openBox makes the file box's: its log's buckets, and its id noted the
// first time; a file of another box is refused.
func openBox(tx *bolt.Tx, box string) error {
	meta := tx.Bucket(bucketMeta)
	if was := meta.Get(metaBox); was != nil && string(was) != box {
		return fmt.Errorf("%w: file of box %q, opened as %q", ErrOtherBox, was, box)
	}
	if err := meta.Put(metaBox, []byte(box)); err != nil {
		return err
	}
	return createReplBuckets(tx)
}

func createReplBuckets(tx *bolt.Tx) error {
	for _, name := range replBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return ensureShadowIndex(tx)
}

// replTx is the replication state of the write transaction running (bbolt
// runs one at a time: it is only touched under its writer lock).
type replTx struct {
	applying bool // ApplyRepl: changes are not logged
	logged   bool // an entry was logged: wake the publisher after the commit
}

// logs reports whether changes of the running transaction are logged.
func (db *DB) logs() bool { return db.opt.Box != "" && !db.rtx.applying }

// logRepl appends an entry of kind to this box's log in tx and returns its
// time; nothing (a zero time) without a Box or while applying.
func (db *DB) logRepl(tx *bolt.Tx, kind, key string, data any) (time.Time, error) {
	if !db.logs() {
		return time.Time{}, nil
	}
	var raw []byte
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return time.Time{}, err
		}
	}
	b := tx.Bucket(bucketRepl)
	b.FillPercent = appendFill // appends only
	seq, err := b.NextSequence()
	if err != nil {
		return time.Time{}, err
	}
	e := ReplEntry{Origin: db.opt.Box, Seq: seq, At: db.opt.Now(), Kind: kind, Key: key, Data: raw}
	v, err := json.Marshal(e)
	if err != nil {
		return time.Time{}, err
	}
	if err := b.Put(u64(seq), v); err != nil {
		return time.Time{}, err
	}
	db.rtx.logged = true
	return e.At, nil
}

// logLWW logs a change of a last-writer-wins item (binding, vehicle-list
// entry, arrear) and stamps it with the entry's time and this box.
func (db *DB) logLWW(tx *bolt.Tx, kind, key string, stamp []byte, data any) error {
	at, err := db.logRepl(tx, kind, key, data)
	if err != nil || at.IsZero() {
		return err
	}
	return putStamp(tx, stamp, at, db.opt.Box)
}

// Stamp keys.
func stampKey(class byte, parts ...string) []byte {
	k := []byte{class, 0}
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

func bindStamp(plate string) []byte             { return stampKey('b', plate) }
func vehicleStamp(plate string, l List) []byte  { return stampKey('v', plate, string(l)) }
func arrearStamp(plate, recordID string) []byte { return stampKey('a', plate, recordID) }

func putStamp(tx *bolt.Tx, k []byte, at time.Time, box string) error {
	v := binary.BigEndian.AppendUint64(nil, uint64(unixNano(at)))
	return tx.Bucket(bucketReplStamp).Put(k, append(v, box...))
}

// newerStamp reports whether a change at `at` by box wins over the last
// one stamped on k: a later time, or the same time and a greater box.
func newerStamp(tx *bolt.Tx, k []byte, at time.Time, box string) bool {
	v := tx.Bucket(bucketReplStamp).Get(k)
	if len(v) < 8 {
		return true
	}
	cur, ns := int64(binary.BigEndian.Uint64(v)), unixNano(at)
	return ns > cur || (ns == cur && box > string(v[8:]))
}

// ReplOwn returns up to max (≤ 0: 1000) of this box's own entries with
// Seq > after, in order. Entries pruned already (see Prune) are not
// returned: the first one may be later than after+1.
func (db *DB) ReplOwn(after uint64, max int) ([]ReplEntry, error) {
	if max <= 0 || max > 10000 {
		max = min(max, 10000)
		if max <= 0 {
			max = 1000
		}
	}
	var out []ReplEntry
	err := db.view("repl own", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRepl)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < max; k, v = c.Next() {
			var e ReplEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode entry %d: %w", u64be(k), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// ReplHead returns the sequence of this box's newest entry and the
// highest one published (SetReplPublished).
func (db *DB) ReplHead() (head, published uint64, err error) {
	err = db.view("repl head", func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketRepl); b != nil {
			head = b.Sequence()
		}
		published = getU64(tx.Bucket(bucketMeta), metaReplPub)
		return nil
	})
	return head, published, err
}

// SetReplPublished notes that this box's entries up to seq are published
// (acknowledged by the stream). A lower value than the one noted is
// ignored; one beyond the head is ErrInvalid.
func (db *DB) SetReplPublished(seq uint64) error {
	return db.setPublished("set repl published", seq, false)
}

// ResetReplPublished lowers the published mark to seq (the stream lost
// what came after it): the transport publishes again from seq+1.
func (db *DB) ResetReplPublished(seq uint64) error {
	return db.setPublished("reset repl published", seq, true)
}

func (db *DB) setPublished(op string, seq uint64, lower bool) error {
	return db.update(op, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRepl)
		if b == nil {
			return fmt.Errorf("%w: no box: no replication log", ErrInvalid)
		}
		if seq > b.Sequence() {
			return fmt.Errorf("%w: published %d beyond the head %d", ErrInvalid, seq, b.Sequence())
		}
		meta := tx.Bucket(bucketMeta)
		if cur := getU64(meta, metaReplPub); seq == cur || (seq < cur && !lower) || (seq > cur && lower) {
			return nil
		}
		return putU64(meta, metaReplPub, seq)
	})
}

// ReplWake is signalled (capacity 1, never blocking the writer) after each
// commit that logged an entry: the publisher's cue.
func (db *DB) ReplWake() <-chan struct{} { return db.wake }

func (db *DB) signalWake() {
	select {
	case db.wake <- struct{}{}:
	default:
	}
}

// uplinkDone logs that m, a record's uplink, left the outbox for good
// (acknowledged or dead-lettered), for the other boxes' shadow queues.
func (db *DB) uplinkDone(tx *bolt.Tx, m *Message) error {
	if !ordered(m) {
		return nil
	}
	_, err := db.logRepl(tx, ReplUplinkDone, m.RecordID, Message{Seq: m.Seq, Kind: m.Kind, RecordID: m.RecordID, RequestOrder: m.RequestOrder})
	return err
}
