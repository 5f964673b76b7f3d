package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	bindingV = 1
	vehicleV = 1
)

// PutBinding stores (or replaces) the contactless binding of b.Plate with
// msgs in one transaction.
func (db *DB) PutBinding(b Binding, msgs ...Message) error {
	return db.update("put binding", func(tx *bolt.Tx) error {
		if err := checkBinding(b); err != nil {
			return err
		}
		if err := db.saveBinding(tx, b); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
}

func checkBinding(b Binding) error {
	if !validKey(b.Plate, 64) {
		return fmt.Errorf("%w: plate %q", ErrInvalid, b.Plate)
	}
	if b.Limit < 0 {
		return fmt.Errorf("%w: limit %d", ErrInvalid, b.Limit)
	}
	return nil
}

func putBinding(tx *bolt.Tx, b Binding) error {
	b.V = bindingV
	return putJSON(tx.Bucket(bucketBindings), []byte(b.Plate), b)
}

// saveBinding is putBinding of a domain change: logged with a Box.
func (db *DB) saveBinding(tx *bolt.Tx, b Binding) error {
	if err := putBinding(tx, b); err != nil {
		return err
	}
	b.V = bindingV
	return db.logLWW(tx, ReplBinding, b.Plate, bindStamp(b.Plate), b)
}

// dropBinding deletes plate's binding (logged with a Box, absent or not:
// an unbind is a change of its own) and says whether there was one.
func (db *DB) dropBinding(tx *bolt.Tx, plate string) (existed bool, err error) {
	b := tx.Bucket(bucketBindings)
	existed = b.Get([]byte(plate)) != nil
	if err := b.Delete([]byte(plate)); err != nil {
		return existed, err
	}
	return existed, db.logLWW(tx, ReplUnbind, plate, bindStamp(plate), nil)
}

// DeleteBinding removes the binding of plate (autoPayUnbind, or an Indata
// answer without contactless). Deleting an absent binding is not an error
// (an unbind may repeat); existed says whether there was one.
func (db *DB) DeleteBinding(plate string, msgs ...Message) (existed bool, err error) {
	err = db.update("delete binding", func(tx *bolt.Tx) error {
		var err error
		if existed, err = db.dropBinding(tx, plate); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	return existed, err
}

// Binding returns the binding of plate, or ErrNotFound.
func (db *DB) Binding(plate string) (Binding, error) {
	var b Binding
	err := db.view("binding", func(tx *bolt.Tx) error {
		return getJSON(tx.Bucket(bucketBindings), []byte(plate), &b, "binding of "+plate)
	})
	return b, err
}

// Bindings lists every binding, by plate.
func (db *DB) Bindings() ([]Binding, error) {
	return viewEach[Binding](db, "bindings", bucketBindings)
}

func vehicleKey(plate string, l List) []byte { return payKey(plate, string(l)) }

// PutVehicle stores (or replaces) the entry of v.Plate on v.List: one
// entry per plate and list.
func (db *DB) PutVehicle(v Vehicle, msgs ...Message) error {
	return db.update("put vehicle", func(tx *bolt.Tx) error {
		if err := validVehicle(v); err != nil {
			return err
		}
		if err := db.saveVehicle(tx, v); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
}

// DeleteVehicle removes the entry of plate on list; ErrNotFound if none.
func (db *DB) DeleteVehicle(plate string, l List, msgs ...Message) error {
	return db.update("delete vehicle", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVehicles)
		k := vehicleKey(plate, l)
		if b.Get(k) == nil {
			return fmt.Errorf("vehicle %s on %s: %w", plate, l, ErrNotFound)
		}
		if err := db.dropVehicle(tx, k, plate, l); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
}

// saveVehicle stores v (logged with a Box).
func (db *DB) saveVehicle(tx *bolt.Tx, v Vehicle) error {
	v.V = vehicleV
	if err := putJSON(tx.Bucket(bucketVehicles), vehicleKey(v.Plate, v.List), v); err != nil {
		return err
	}
	return db.logLWW(tx, ReplVehicle, v.Plate, vehicleStamp(v.Plate, v.List), v)
}

// dropVehicle deletes the entry at k, plate's on l (logged with a Box).
func (db *DB) dropVehicle(tx *bolt.Tx, k []byte, plate string, l List) error {
	if err := tx.Bucket(bucketVehicles).Delete(k); err != nil {
		return err
	}
	return db.logLWW(tx, ReplVehicleDel, plate, vehicleStamp(plate, l), Vehicle{Plate: plate, List: l})
}

// LookupVehicle returns the entry of plate valid at `at`, blacklist
// first, then VIP, then monthly; ErrNotFound if none is valid.
func (db *DB) LookupVehicle(plate string, at time.Time) (Vehicle, error) {
	var out Vehicle
	err := db.view("lookup vehicle", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketVehicles)
		for _, l := range []List{ListBlack, ListVIP, ListMonthly} {
			j := b.Get(vehicleKey(plate, l))
			if j == nil {
				continue
			}
			var v Vehicle
			if err := json.Unmarshal(j, &v); err != nil {
				return err
			}
			if v.ValidAt(at) {
				out = v
				return nil
			}
		}
		return fmt.Errorf("vehicle %s at %v: %w", plate, at.Unix(), ErrNotFound)
	})
	return out, err
}

// ListVehicles lists every entry, by plate then list.
func (db *DB) ListVehicles() ([]Vehicle, error) {
	return viewEach[Vehicle](db, "list vehicles", bucketVehicles)
}
