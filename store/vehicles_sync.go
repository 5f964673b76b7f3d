package store

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SyncVehicles makes the entries that mine claims those of want, in one
// transaction: each entry of want is put when it is new or changed (an
// unchanged one is left as it is), and every entry mine claims that want
// no longer has is deleted. Entries mine does not claim (made at the
// console) stay. An entry that is not valid (ErrInvalid) is skipped and
// reported in err; the others are synced all the same. The store's
// vehicle lists are never seen half synced.
func (db *DB) SyncVehicles(want []Vehicle, mine func(Vehicle) bool) (put, deleted int, err error) {
	var errs []error
	txErr := db.update("sync vehicles", func(tx *bolt.Tx) error {
		put, deleted, errs = 0, 0, nil
		b := tx.Bucket(bucketVehicles)
		keep := map[string]bool{}
		for _, v := range want {
			k := vehicleKey(v.Plate, v.List)
			keep[string(k)] = true
			if err := validVehicle(v); err != nil {
				errs = append(errs, fmt.Errorf("put %s on %s: %w", v.Plate, v.List, err))
				continue
			}
			v.V = vehicleV
			if old := b.Get(k); old != nil {
				var o Vehicle
				if json.Unmarshal(old, &o) == nil && o.Note == v.Note && o.From.Equal(v.From) && o.Until.Equal(v.Until) {
					continue
				}
			}
			if err := db.saveVehicle(tx, v); err != nil {
				return err
			}
			put++
		}
		var drop [][]byte
		var dropV []Vehicle
		err := b.ForEach(func(k, j []byte) error {
			var v Vehicle
			if err := json.Unmarshal(j, &v); err != nil {
				return err
			}
			if !keep[string(k)] && mine(v) {
				drop, dropV = append(drop, append([]byte(nil), k...)), append(dropV, v)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range drop {
			if err := db.dropVehicle(tx, k, dropV[i].Plate, dropV[i].List); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if txErr != nil {
		return 0, 0, txErr
	}
	return put, deleted, errors.Join(errs...)
}

// validVehicle checks an entry as PutVehicle does.
func validVehicle(v Vehicle) error {
	if !validKey(v.Plate, 64) {
		return fmt.Errorf("%w: plate %q", ErrInvalid, v.Plate)
	}
	if v.List != ListBlack && v.List != ListVIP && v.List != ListMonthly {
		return fmt.Errorf("%w: list %q", ErrInvalid, v.List)
	}
	if !v.From.IsZero() && !v.Until.IsZero() && !v.From.Before(v.Until) {
		return fmt.Errorf("%w: from %v not before until %v", ErrInvalid, v.From, v.Until)
	}
	return nil
}
