package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// decodeEach decodes every value of b, a bucket of JSON values, in key
// order.
func decodeEach[T any](b *bolt.Bucket) ([]T, error) {
	var out []T
	err := b.ForEach(func(_, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// getJSON decodes the value of key in b into v: ErrNotFound, named what,
// when b has none.
func getJSON(b *bolt.Bucket, key []byte, v any, what string) error {
	j := b.Get(key)
	if j == nil {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return json.Unmarshal(j, v)
}

// viewEach is decodeEach of bucket in a read transaction named op.
func viewEach[T any](db *DB, op string, bucket []byte) ([]T, error) {
	var out []T
	err := db.view(op, func(tx *bolt.Tx) (err error) {
		out, err = decodeEach[T](tx.Bucket(bucket))
		return err
	})
	return out, err
}

// decodeEnds decodes up to n values of b, a bucket of JSON values, from
// its first key forwards, or from its last backwards.
func decodeEnds[T any](b *bolt.Bucket, n int, newestFirst bool) ([]T, error) {
	var out []T
	c := b.Cursor()
	first, next := c.First, c.Next
	if newestFirst {
		first, next = c.Last, c.Prev
	}
	for k, v := first(); k != nil && len(out) < n; k, v = next() {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// putJSON stores v as JSON under key in b.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, j)
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func getU64(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putU64(b *bolt.Bucket, key []byte, v uint64) error { return b.Put(key, u64(v)) }

// addU64 adds d (may be negative) to a counter, never below zero.
func addU64(b *bolt.Bucket, key []byte, d int64) error {
	v := int64(getU64(b, key)) + d
	if v < 0 {
		v = 0
	}
	return putU64(b, key, uint64(v))
}

func u64be(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
