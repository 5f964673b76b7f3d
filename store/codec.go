package store

import (
	"encoding/json"

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
