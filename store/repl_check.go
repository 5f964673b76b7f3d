package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Decoding and checking the entries of another box before any is applied:
// a bad entry is an error and nothing of its batch changes.

// replOp is a checked entry with its decoded Data.
type replOp struct {
	e   ReplEntry
	rec *Record
	pay *Payment
	bnd *Binding
	veh *Vehicle
	arr *Arrear
	msg *Message
	tko *Takeover
}

// checkEntries checks es, entries of origin, and returns them decoded and
// sorted by Seq.
func (db *DB) checkEntries(origin string, es []ReplEntry) ([]replOp, error) {
	if db.opt.Box == "" {
		return nil, fmt.Errorf("%w: no box: nothing to apply to", ErrInvalid)
	}
	if err := ValidBox(origin); err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	if origin == db.opt.Box {
		return nil, fmt.Errorf("%w: entries of this box itself (%s)", ErrInvalid, origin)
	}
	ops := make([]replOp, 0, len(es))
	for i, e := range es {
		op, err := checkEntry(origin, db.opt.Box, e)
		if err != nil {
			return nil, fmt.Errorf("entry %d (seq %d, %q): %w", i, e.Seq, e.Kind, err)
		}
		ops = append(ops, op)
	}
	slices.SortStableFunc(ops, func(a, b replOp) int {
		switch {
		case a.e.Seq < b.e.Seq:
			return -1
		case a.e.Seq > b.e.Seq:
			return 1
		}
		return 0
	})
	return ops, nil
}

var errBadEntry = fmt.Errorf("%w: replication entry", ErrInvalid)

func checkEntry(origin, self string, e ReplEntry) (replOp, error) {
	op := replOp{e: e}
	switch {
	case e.Origin != origin:
		return op, fmt.Errorf("%w: origin %q, not %q", errBadEntry, e.Origin, origin)
	case e.Seq == 0:
		return op, fmt.Errorf("%w: seq 0", errBadEntry)
	case !validKey(e.Key, 128):
		return op, fmt.Errorf("%w: key %q (1–128 bytes, no NUL)", errBadEntry, e.Key)
	case len(e.Data) > maxReplData:
		return op, fmt.Errorf("%w: data of %d bytes (max %d)", errBadEntry, len(e.Data), maxReplData)
	}
	decode := func(v any) error {
		if len(e.Data) == 0 {
			return fmt.Errorf("%w: no data", errBadEntry)
		}
		if err := json.Unmarshal(e.Data, v); err != nil {
			return fmt.Errorf("%w: data: %v", errBadEntry, err)
		}
		return nil
	}
	var err error
	switch e.Kind {
	case ReplRecord:
		op.rec = new(Record)
		if err = decode(op.rec); err == nil {
			err = checkRecord(op.rec)
		}
		if err == nil && (op.rec.ID != e.Key || op.rec.Rev == 0 || op.rec.Writer == "" || ValidBox(op.rec.Writer) != nil) {
			err = fmt.Errorf("%w: record %q rev %d writer %q under key %q", errBadEntry, op.rec.ID, op.rec.Rev, op.rec.Writer, e.Key)
		}
	case ReplPayment:
		op.pay = new(Payment)
		if err = decode(op.pay); err == nil {
			p := op.pay
			if p.Order != e.Key || !validKey(p.RecordID, MaxRecordID) || p.Amount < 0 || p.Amount > MaxAmount || len(p.RequestOrder) > 128 || len(p.BankNotice) > 128 {
				err = fmt.Errorf("%w: payment %q of %q, %d fen", errBadEntry, p.Order, p.RecordID, p.Amount)
			}
		}
	case ReplBinding:
		op.bnd = new(Binding)
		if err = decode(op.bnd); err == nil {
			if err = checkBinding(*op.bnd); err == nil && op.bnd.Plate != e.Key {
				err = fmt.Errorf("%w: binding of %q under key %q", errBadEntry, op.bnd.Plate, e.Key)
			}
		}
	case ReplUnbind:
		if !validKey(e.Key, 64) {
			err = fmt.Errorf("%w: plate %q", errBadEntry, e.Key)
		}
	case ReplVehicle, ReplVehicleDel:
		op.veh = new(Vehicle)
		if err = decode(op.veh); err == nil {
			if err = validVehicle(*op.veh); err == nil && op.veh.Plate != e.Key {
				err = fmt.Errorf("%w: vehicle %q under key %q", errBadEntry, op.veh.Plate, e.Key)
			}
		}
	case ReplArrear, ReplArrearDel:
		op.arr = new(Arrear)
		if err = decode(op.arr); err == nil {
			a := op.arr
			if a.Plate != e.Key || !validKey(a.Plate, 64) || !validKey(a.RecordID, MaxRecordID) || a.Amount < 0 || a.Amount > MaxAmount {
				err = fmt.Errorf("%w: arrear of %q (record %q) under key %q", errBadEntry, a.Plate, a.RecordID, e.Key)
			}
		}
	case ReplUplink, ReplUplinkDone:
		op.msg = new(Message)
		if err = decode(op.msg); err == nil {
			m := op.msg
			if m.Seq == 0 || !validKey(m.Kind, 64) || m.RecordID != e.Key || !validKey(m.RecordID, MaxRecordID) || !ordered(m) || len(m.RequestOrder) > 128 {
				err = fmt.Errorf("%w: uplink %d %q of %q under key %q", errBadEntry, m.Seq, m.Kind, m.RecordID, e.Key)
			}
		}
	case ReplTakeover:
		op.tko = new(Takeover)
		if err = decode(op.tko); err == nil {
			t := op.tko
			if ValidBox(t.Origin) != nil || t.Origin != e.Key || t.Origin == origin {
				err = fmt.Errorf("%w: takeover of %q by %q under key %q", errBadEntry, t.Origin, origin, e.Key)
			}
		}
	default:
		err = fmt.Errorf("%w: unknown kind %q", errBadEntry, e.Kind)
	}
	if err != nil && !errors.Is(err, ErrInvalid) {
		err = fmt.Errorf("%w: %v", errBadEntry, err)
	}
	return op, err
}
