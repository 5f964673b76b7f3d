package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

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
			if _, err := db.closeRecord(tx, old, exit); err != nil {
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

// PageMap tells, for a sound closed file, on which pages each entry lies:
// Paths[bucket][key] lists the pages from the bucket's root down to the
// leaf holding the key (empty for an inline bucket). Tree lists every page
// of every bucket's tree (overflow pages too).
type PageMap struct {
	PageSize int64
	Root     uint64 // the page of the tree of buckets
	Paths    map[string]map[string][]uint64
	Tree     []uint64
}

func Pages(path string) (PageMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return PageMap{}, err
	}
	defer f.Close()
	pf, err := openPages(f)
	if err != nil {
		return PageMap{}, err
	}
	pm := PageMap{PageSize: pf.ps(), Root: pf.meta.root, Paths: map[string]map[string][]uint64{}}
	var walk func(id uint64, stack []uint64, fn func(e leafElem, stack []uint64)) error
	walk = func(id uint64, stack []uint64, fn func(e leafElem, stack []uint64)) error {
		p, err := pf.page(id)
		if err != nil {
			return err
		}
		for i := uint64(0); i <= pageOver(p); i++ {
			pm.Tree = append(pm.Tree, id+i)
		}
		stack = append(slices.Clone(stack), id)
		if pageFlags(p)&flagBranch != 0 {
			els, err := parseBranch(id, p)
			if err != nil {
				return err
			}
			for _, e := range els {
				if err := walk(e.page, stack, fn); err != nil {
					return err
				}
			}
			return nil
		}
		els, err := parseLeaf(id, p)
		if err != nil {
			return err
		}
		for _, e := range els {
			fn(e, stack)
		}
		return nil
	}
	var errs []error
	err = walk(pf.meta.root, nil, func(b leafElem, _ []uint64) {
		name := string(b.k)
		keys := map[string][]uint64{}
		pm.Paths[name] = keys
		root := binary.NativeEndian.Uint64(b.v)
		if root == 0 {
			els, err := parseLeaf(0, b.v[bucketHeader:])
			errs = append(errs, err)
			for _, e := range els {
				keys[string(e.k)] = nil
			}
			return
		}
		errs = append(errs, walk(root, nil, func(e leafElem, stack []uint64) { keys[string(e.k)] = stack }))
	})
	return pm, errors.Join(append(errs, err)...)
}

// CheckPages runs the page check Open runs, without a time limit.
func CheckPages(path string) (FileCheck, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileCheck{}, err
	}
	defer f.Close()
	return checkPages(f, time.Time{}, time.Now), nil
}

// WithCompactHook sets a function CompactFile runs between its copy and
// its swap, under the lock.
func WithCompactHook(o Options, fn func()) Options {
	o.compactHook = fn
	return o
}
