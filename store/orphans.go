package store

import (
	"bytes"
	"encoding/json"
	"time"
)

// Orphan leaves: a damaged branch page cuts every page beneath it off its
// tree. In a sound file each page is either reachable or free, so once
// every tree has been walked, a leaf page that is neither was under a lost
// branch: its entries are recovered into the bucket whose entries they
// look like (the keys' shape and the JSON's exact fields), among the
// buckets that had a bad page. Without a readable freelist there is no
// telling an orphan from a stale free page, and none is used.

// orphanLeaves returns, per bucket, the orphan leaf pages of the file.
func orphanLeaves(pf *pageFile, free map[uint64]bool, roots map[string][]byte) map[string][]uint64 {
	if free == nil {
		return nil
	}
	w := newWalker(pf, time.Time{}, time.Now)
	w.free = free
	w.tree("(root)", pf.meta.root, nil, nil, 0, func(leafElem) {})
	for name, bv := range roots {
		w.bucket(name, bv, func(leafElem) {})
	}
	var cands [][]byte
	for _, b := range w.bad {
		if b.bucket == "(root)" {
			cands = salvageBuckets
			break
		}
		if !containsBucket(cands, b.bucket) {
			cands = append(cands, []byte(b.bucket))
		}
	}
	if len(cands) == 0 {
		return nil
	}
	out := map[string][]uint64{}
	for id := uint64(2); id < pf.meta.pgid; id++ {
		if w.seen[id] || free[id] {
			continue
		}
		p, err := pf.page(id)
		if err != nil || pageFlags(p) != flagLeaf {
			continue
		}
		els, err := parseLeaf(id, p)
		if err != nil || len(els) == 0 {
			continue
		}
		for _, b := range salvageBuckets {
			if containsBucket(cands, string(b)) && looksLike(b, els[0]) {
				out[string(b)] = append(out[string(b)], id)
				break
			}
		}
		id += pageOver(p)
	}
	return out
}

// salvageBuckets: the buckets salvage copies, in the order it tries them
// for an orphan page.
var salvageBuckets = [][]byte{bucketOutbox, bucketDead, bucketAudit, bucketRecords, bucketPayments, bucketVehicles, bucketBindings}

func containsBucket(list [][]byte, name string) bool {
	for _, b := range list {
		if string(b) == name {
			return true
		}
	}
	return false
}

// looksLike reports whether e is shaped like an entry of bucket.
func looksLike(bucket []byte, e leafElem) bool {
	if e.flags&leafBucket != 0 {
		return false
	}
	strict := func(v []byte, x any) bool {
		d := json.NewDecoder(bytes.NewReader(v))
		d.DisallowUnknownFields()
		return d.Decode(x) == nil
	}
	switch string(bucket) {
	case string(bucketOutbox):
		var m Message
		return len(e.k) == 8 && len(e.v) > 8 && strict(e.v[8:], &m) && m.Seq == u64be(e.k) && m.Kind != ""
	case string(bucketDead):
		var m Message
		return len(e.k) == 8 && strict(e.v, &m) && m.Seq == u64be(e.k) && m.Kind != ""
	case string(bucketAudit):
		var ev AuditEvent
		return len(e.k) == 8 && strict(e.v, &ev) && ev.Kind != ""
	case string(bucketRecords):
		var r Record
		return strict(e.v, &r) && r.ID == string(e.k)
	case string(bucketPayments):
		var p Payment
		return strict(e.v, &p) && bytes.Equal(e.k, payKey(p.RecordID, p.Order))
	case string(bucketVehicles):
		var v Vehicle
		return strict(e.v, &v) && bytes.Equal(e.k, vehicleKey(v.Plate, v.List))
	case string(bucketBindings):
		var b Binding
		return strict(e.v, &b) && b.Plate == string(e.k)
	}
	return false
}
