package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Applying the other boxes' logs (see SITE.md's merge rules).

// ApplyResult says what one ApplyRepl did.
type ApplyResult struct {
	Origin  string
	Cursor  uint64   // the origin's last applied Seq
	Stream  uint64   // its stream sequence (0 if it came from a fetch)
	Gap     bool     // stopped at a gap: fetch after Cursor
	Records []string // ids of records inserted or changed
	Paid    []string // record ids that got a new payment
	Plates  []string // plates whose binding / vehicle-list entry / arrears changed
}

// ReplCursor is how far this box applied an origin's log.
type ReplCursor struct {
	Origin    string
	Seq       uint64    // the last applied entry
	Stream    uint64    // the stream sequence of the last applied entry that came by the stream
	At        time.Time // the origin's time of that entry
	AppliedAt time.Time // this box's time when it was applied
}

// errNoChange rolls back an ApplyRepl that had nothing to apply.
var errNoChange = errors.New("nothing to apply")

// ApplyRepl applies entries of ONE origin in one transaction. They are
// taken in Seq order: an entry at or below the origin's cursor is skipped
// (a repeat changes nothing), the one right after it is applied and the
// cursor advances, and the first one further on stops the batch: the
// result says Gap (fetch after Cursor), err is nil. A bad entry (its
// origin, kind, key or data) is ErrInvalid and nothing of the batch is
// applied. Applying never writes to this box's own log.
//
// Merge rules. A record moves forward only: a change wins if its state is
// later (inside < leaving < closed), or at the same state its Rev is
// higher, or at the same Rev its Writer box is greater. Two open records
// of one plate: the one with the later in_time (then the greater id)
// keeps the plate; the other is closed here with Superseded set, the same
// on every box. Payments are idempotent by order; one AutoPay recorded
// under two orders (its answer at one box, the bank's notice at another)
// keeps the smaller order, the other stays known as an alias; a payment
// whose record has not arrived waits for it. Bindings, vehicle-list
// entries and arrears: the last writer wins, by the entry's time, then
// box. Uplinks feed the origin's shadow queue (TakeOver).
func (db *DB) ApplyRepl(origin string, es []ReplEntry) (ApplyResult, error) {
	res := ApplyResult{Origin: origin}
	ops, err := db.checkEntries(origin, es)
	if err != nil {
		return res, fmt.Errorf("store: apply repl: %w", err)
	}
	var cur ReplCursor
	err = db.update("apply repl", func(tx *bolt.Tx) error {
		db.rtx.applying = true
		res = ApplyResult{Origin: origin}
		var err error
		if cur, err = getCursor(tx, origin); err != nil {
			return err
		}
		applied := false
		for _, op := range ops {
			if op.e.Seq <= cur.Seq {
				continue
			}
			if op.e.Seq > cur.Seq+1 {
				res.Gap = true
				break
			}
			if err := db.applyOp(tx, op, &res); err != nil {
				return fmt.Errorf("entry %d (%s %s): %w", op.e.Seq, op.e.Kind, op.e.Key, err)
			}
			cur.Seq, cur.At = op.e.Seq, op.e.At
			if op.e.Stream != 0 {
				cur.Stream = op.e.Stream
			}
			applied = true
		}
		if !applied {
			return errNoChange
		}
		cur.AppliedAt = db.opt.Now()
		return putJSON(tx.Bucket(bucketReplCursor), []byte(origin), cur)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return ApplyResult{Origin: origin}, err
	}
	res.Cursor, res.Stream = cur.Seq, cur.Stream
	return res, nil
}

func getCursor(tx *bolt.Tx, origin string) (ReplCursor, error) {
	c := ReplCursor{Origin: origin}
	v := tx.Bucket(bucketReplCursor).Get([]byte(origin))
	if v == nil {
		return c, nil
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, fmt.Errorf("decode cursor of %s: %w", origin, err)
	}
	return c, nil
}

// ReplCursors lists the cursors of every origin applied so far, by origin.
func (db *DB) ReplCursors() ([]ReplCursor, error) {
	var out []ReplCursor
	err := db.view("repl cursors", func(tx *bolt.Tx) (err error) {
		if b := tx.Bucket(bucketReplCursor); b != nil {
			out, err = decodeEach[ReplCursor](b)
		}
		return err
	})
	return out, err
}

func addUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func (db *DB) applyOp(tx *bolt.Tx, op replOp, res *ApplyResult) error {
	e := op.e
	switch e.Kind {
	case ReplRecord:
		return db.applyRecord(tx, op.rec, res)
	case ReplPayment:
		return applyPayment(tx, *op.pay, res)
	case ReplBinding, ReplUnbind:
		if !newerStamp(tx, bindStamp(e.Key), e.At, e.Origin) {
			return nil
		}
		res.Plates = addUnique(res.Plates, e.Key)
		if err := putStamp(tx, bindStamp(e.Key), e.At, e.Origin); err != nil {
			return err
		}
		if e.Kind == ReplUnbind {
			return tx.Bucket(bucketBindings).Delete([]byte(e.Key))
		}
		return putBinding(tx, *op.bnd)
	case ReplVehicle, ReplVehicleDel:
		v := *op.veh
		k := vehicleStamp(v.Plate, v.List)
		if !newerStamp(tx, k, e.At, e.Origin) {
			return nil
		}
		res.Plates = addUnique(res.Plates, v.Plate)
		if err := putStamp(tx, k, e.At, e.Origin); err != nil {
			return err
		}
		if e.Kind == ReplVehicleDel {
			return tx.Bucket(bucketVehicles).Delete(vehicleKey(v.Plate, v.List))
		}
		v.V = vehicleV
		return putJSON(tx.Bucket(bucketVehicles), vehicleKey(v.Plate, v.List), v)
	case ReplArrear, ReplArrearDel:
		a := *op.arr
		k := arrearStamp(a.Plate, a.RecordID)
		if !newerStamp(tx, k, e.At, e.Origin) {
			return nil
		}
		res.Plates = addUnique(res.Plates, a.Plate)
		if err := putStamp(tx, k, e.At, e.Origin); err != nil {
			return err
		}
		if e.Kind == ReplArrearDel {
			return tx.Bucket(bucketArrears).Delete(arrearKey(a.Plate, a.RecordID))
		}
		a.V = arrearV
		return putJSON(tx.Bucket(bucketArrears), arrearKey(a.Plate, a.RecordID), a)
	case ReplUplink:
		return putShadow(tx, e.Origin, op.msg)
	case ReplUplinkDone:
		return delShadow(tx, e.Origin, op.msg.Seq)
	case ReplTakeover:
		return db.applyTakeover(tx, e.Origin, *op.tko)
	}
	return fmt.Errorf("%w: kind %q", errBadEntry, e.Kind)
}

// ---- records ----

func stateRank(s State) int { return int(s) } // inside 1 < leaving 2 < closed 3

// recordWins reports whether the version in replaces cur (see ApplyRepl).
func recordWins(in, cur *Record) bool {
	later := func() bool { // the same state: a later change
		return in.Rev > cur.Rev || (in.Rev == cur.Rev && in.Writer > cur.Writer)
	}
	if cur.Superseded != "" {
		// Closed here, not by an exit: a real exit replaces it, and a
		// later open version is superseded again, by the same record.
		return (in.State == StateClosed && in.Superseded == "") || later()
	}
	if a, b := stateRank(in.State), stateRank(cur.State); a != b {
		return a > b
	}
	return later()
}

// keepsPlate reports whether open record a keeps the plate from open
// record b: the later entry, then the greater id.
func keepsPlate(a, b *Record) bool {
	if !a.InTime.Equal(b.InTime) {
		return a.InTime.After(b.InTime)
	}
	return a.ID > b.ID
}

// supersede returns r closed because winner took its plate.
func supersede(r *Record, winner string, at time.Time) *Record {
	c := *r
	c.State, c.Superseded = StateClosed, winner
	if c.OutTime.IsZero() {
		c.OutTime = at
	}
	c.Note = "superseded: record " + winner + " of the same plate entered later"
	return &c
}

func (db *DB) applyRecord(tx *bolt.Tx, in *Record, res *ApplyResult) error {
	cur, err := getRecord(tx, in.ID)
	if errors.Is(err, ErrNotFound) {
		cur, err = nil, nil
	}
	if err != nil {
		return err
	}
	if cur != nil && !recordWins(in, cur) {
		return nil
	}
	if in.State.Open() && cur != nil && cur.Superseded != "" {
		in = supersede(in, cur.Superseded, cur.OutTime)
	}
	if in.State.Open() {
		if other := tx.Bucket(bucketOpenPlate).Get(openPlateKey(in.Plate)); other != nil && string(other) != in.ID {
			o, err := getRecord(tx, string(other))
			if err != nil {
				return err
			}
			if keepsPlate(in, o) {
				if err := putRecord(tx, o, supersede(o, in.ID, in.InTime)); err != nil {
					return err
				}
				res.Records = addUnique(res.Records, o.ID)
			} else {
				in = supersede(in, o.ID, o.InTime)
			}
		}
	}
	if err := putRecord(tx, cur, in); err != nil {
		return err
	}
	res.Records = addUnique(res.Records, in.ID)
	if cur == nil {
		return adoptPending(tx, in.ID, res)
	}
	return nil
}

// ---- payments ----

// adoptPending records the payments that waited for record id.
func adoptPending(tx *bolt.Tx, id string, res *ApplyResult) error {
	b := tx.Bucket(bucketReplPending)
	prefix := payKey(id, "")
	var ps []Payment
	var keys [][]byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var p Payment
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("decode pending payment %q: %w", k, err)
		}
		ps, keys = append(ps, p), append(keys, bytes.Clone(k))
	}
	for i, p := range ps {
		if err := b.Delete(keys[i]); err != nil {
			return err
		}
		if err := applyPayment(tx, p, res); err != nil {
			return err
		}
	}
	return nil
}

// aliasKey: bucketReplAlias's key of an order recorded under another one.
func aliasKey(recordID, order string) []byte { return payKey(recordID, order) }

func applyPayment(tx *bolt.Tx, p Payment, res *ApplyResult) error {
	orders := tx.Bucket(bucketOrders)
	if rid := orders.Get([]byte(p.Order)); rid != nil {
		return noteBankNotice(tx, string(rid), p)
	}
	if tx.Bucket(bucketRecords).Get([]byte(p.RecordID)) == nil {
		p.V = paymentV
		return putJSON(tx.Bucket(bucketReplPending), payKey(p.RecordID, p.Order), p)
	}
	if p.RequestOrder != "" {
		var twin *Payment
		if err := eachPayment(tx, p.RecordID, func(_ []byte, q Payment) error {
			if twin == nil && q.RequestOrder == p.RequestOrder {
				twin = &q
			}
			return nil
		}); err != nil {
			return err
		}
		if twin != nil {
			keep, drop := *twin, p
			if p.Order < twin.Order {
				keep, drop = p, *twin
				if err := tx.Bucket(bucketPayments).Delete(payKey(drop.RecordID, drop.Order)); err != nil {
					return err
				}
				if keep.BankNotice == "" && drop.BankNotice != "" {
					keep.BankNotice = drop.BankNotice
				}
				if err := writePayment(tx, keep); err != nil {
					return err
				}
			}
			// The other order stays known: a repeat of it is a repeat.
			if err := orders.Put([]byte(drop.Order), []byte(drop.RecordID)); err != nil {
				return err
			}
			return tx.Bucket(bucketReplAlias).Put(aliasKey(drop.RecordID, drop.Order), []byte(keep.Order))
		}
	}
	p.V = paymentV
	if err := writePayment(tx, p); err != nil {
		return err
	}
	res.Paid = addUnique(res.Paid, p.RecordID)
	return nil
}

// noteBankNotice fills the empty BankNotice of a payment recorded before
// (as AddAutoPayment does), or of an aliased one's kept payment.
func noteBankNotice(tx *bolt.Tx, rid string, p Payment) error {
	if p.BankNotice == "" {
		return nil
	}
	order := p.Order
	if a := tx.Bucket(bucketReplAlias).Get(aliasKey(rid, p.Order)); a != nil {
		order = string(a)
	}
	var q Payment
	if err := getJSON(tx.Bucket(bucketPayments), payKey(rid, order), &q, "payment "+order); err != nil {
		return err
	}
	if q.BankNotice != "" || p.BankNotice == q.Order {
		return nil
	}
	q.BankNotice = p.BankNotice
	return putJSON(tx.Bucket(bucketPayments), payKey(rid, order), q)
}

// ---- shadow queues ----

func shadowKey(origin string, seq uint64) []byte { return recKey(origin, seq) }

// applyTakeover applies box `by`'s takeover of t.Origin's queue: this box's
// own messages it covers are dropped (the taker sends them); another
// box's shadow entries it covers are dropped (the taker logged them as
// its own uplinks).
func (db *DB) applyTakeover(tx *bolt.Tx, by string, t Takeover) error {
	if t.Origin != db.opt.Box {
		for _, s := range t.Seqs {
			if err := delShadow(tx, t.Origin, s); err != nil {
				return err
			}
		}
		return nil
	}
	var dropped []uint64
	for _, s := range t.Seqs {
		v := tx.Bucket(bucketOutbox).Get(u64(s))
		if v == nil {
			continue // sent meanwhile
		}
		if m, err := decodeMsg(v); err != nil || !ordered(&m) {
			db.log.Warn("store: a takeover names a message that is not a record's uplink; kept", "by", by, "seq", s, "err", err)
			continue
		}
		if _, err := delMsg(tx, s); err != nil {
			return err
		}
		dropped = append(dropped, s)
	}
	db.log.Warn("store: box took over this box's queue; its messages are no longer sent from here",
		"by", by, "upto", t.Upto, "dropped", len(dropped), "named", len(t.Seqs))
	return db.audit(tx, AuditEvent{Time: db.opt.Now(), Kind: "site_takeover",
		Detail: fmt.Sprintf("box %s took over this box's queue up to entry %d: %d of its %d messages dropped here: %v", by, t.Upto, len(dropped), len(t.Seqs), dropped)})
}

// aliased reports whether order is an alias of another payment of rid.
func aliased(tx *bolt.Tx, rid, order string) bool {
	b := tx.Bucket(bucketReplAlias)
	return b != nil && b.Get(aliasKey(rid, order)) != nil
}

// pruneAliases deletes the aliases of record id with their orders.
func pruneAliases(tx *bolt.Tx, id string) error {
	b := tx.Bucket(bucketReplAlias)
	if b == nil {
		return nil
	}
	prefix := payKey(id, "")
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOrders).Delete(k[len(prefix):]); err != nil {
			return err
		}
	}
	return nil
}
