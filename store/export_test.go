package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// OpenMany opens recs in one transaction: benchmarks fill 100k records
// without 100k fsyncs.
func (db *DB) OpenMany(recs []Record) error {
	return db.update("open many", func(tx *bolt.Tx) error {
		for i := range recs {
			if err := db.openRecord(tx, &recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Bolt exposes the bbolt handle for the bare-commit baseline.
func (db *DB) Bolt() *bolt.DB { return db.bolt }

// CloseMany closes recs with exit in one transaction (benchmark set-up).
func (db *DB) CloseMany(recs []Record, exit Exit) error {
	return db.update("close many", func(tx *bolt.Tx) error {
		for i := range recs {
			old, err := getRecord(tx, recs[i].ID)
			if err != nil {
				return err
			}
			if _, err := closeRecord(tx, old, exit); err != nil {
				return err
			}
		}
		return nil
	})
}

// FillAudit appends n audit events in one transaction (benchmark set-up:
// a full ring).
func (db *DB) FillAudit(n int) error {
	return db.update("fill audit", func(tx *bolt.Tx) error {
		for i := 0; i < n; i++ {
			if err := db.audit(tx, AuditEvent{Kind: "barrier", Lane: 1, Detail: fmt.Sprintf("exit1: open for exit of 京A%05d: paid", i)}); err != nil {
				return err
			}
		}
		return nil
	})
}
