package store

// The replication log's types (issue 18): the contract shared by store and
// site. This file holds only declarations; the log itself is store's.

import (
	"encoding/json"
	"time"
)

// ReplEntry is one domain change in a box's replication log.
type ReplEntry struct {
	Origin string          `json:"o"`
	Seq    uint64          `json:"s"`   // per origin, from 1, no gaps
	At     time.Time       `json:"t"`   // the origin's clock at commit
	Kind   string          `json:"k"`   // Repl* constants
	Key    string          `json:"key"` // record id, plate, order …
	Data   json.RawMessage `json:"d,omitempty"`
	Stream uint64          `json:"-"` // transport: the NATS stream sequence it came with (0: fetched)
}

// The kinds of ReplEntry.
const (
	ReplRecord     = "record"
	ReplPayment    = "payment"
	ReplBinding    = "binding"
	ReplUnbind     = "unbind"
	ReplVehicle    = "vehicle"
	ReplVehicleDel = "vehicle_del"
	ReplArrear     = "arrear"
	ReplArrearDel  = "arrear_del"
	ReplUplink     = "uplink"
	ReplUplinkDone = "uplink_done"
	ReplTakeover   = "takeover"
)

// ApplyResult tells what one ApplyRepl call did.
type ApplyResult struct {
	Origin  string
	Cursor  uint64   // the origin's last applied Seq
	Stream  uint64   // its stream sequence (0 if it came from a fetch)
	Gap     bool     // stopped at a gap: fetch after Cursor
	Records []string // ids of records inserted or changed
	Paid    []string // record ids that got a new payment
	Plates  []string // plates whose binding / vehicle-list entry / arrears changed
}

// ReplCursor is how far this box applied one origin's log.
type ReplCursor struct {
	Origin        string
	Seq, Stream   uint64
	At, AppliedAt time.Time
}
