package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ConsoleLockout is the serial console's PIN lock-out, kept so that a
// restart (or a power cut) neither resets the count of wrong PINs nor
// lifts a lock.
type ConsoleLockout struct {
	Failures int   `json:"failures"`          // wrong PINs in a row since the last lock or success
	Locks    int   `json:"locks"`             // locks since the last right PIN; each is longer
	LockedAt int64 `json:"locked_at"`         // UNIX seconds the current lock began; 0: none
	Until    int64 `json:"until"`             // UNIX seconds it ends
	Seconds  int64 `json:"seconds,omitempty"` // its length, for a clock that went back
}

// ConsoleLockout returns the stored lock-out (the zero value when none).
func (db *DB) ConsoleLockout() (ConsoleLockout, error) {
	var c ConsoleLockout
	err := db.view("console lockout", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta).Get(metaConsole)
		if b == nil {
			return nil
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("%v: %w", err, ErrInconsistent)
		}
		return nil
	})
	return c, err
}

// PutConsoleLockout stores c in one transaction.
func (db *DB) PutConsoleLockout(c ConsoleLockout) error {
	if c.Failures < 0 || c.Locks < 0 || c.Until < 0 || c.LockedAt < 0 || c.Seconds < 0 {
		return fmt.Errorf("store: put console lockout: negative field in %+v: %w", c, ErrInvalid)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: put console lockout: %w", err)
	}
	return db.update("put console lockout", func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaConsole, b)
	})
}
