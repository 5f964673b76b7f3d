package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// The open-plate index is keyed by a plate's look-alike form, then the
// plate itself (form + 0x00 + plate → record_id), so that one index serves
// both the exact lookup of a read plate (one Get, as before) and the
// look-alike one (a prefix seek per form): no second index, no page more
// per commit, nothing in memory.

// formASCII maps each ASCII character to its look-alike form: a
// confusable one (0/O/D/Q, 8/B, 1/I, 2/Z, 5/S, 6/G) to its class's
// representative, a lower-case letter as its upper-case one.
var formASCII = func() (m [utf8.RuneSelf]byte) {
	for i := range m {
		m[i] = byte(i)
		if i >= 'a' && i <= 'z' {
			m[i] = byte(i) - ('a' - 'A')
		}
	}
	for _, g := range []string{"0ODQ", "8B", "1I", "2Z", "5S", "6G"} {
		for j := range len(g) {
			m[g[j]] = g[0]
			if g[j] >= 'A' && g[j] <= 'Z' {
				m[g[j]+('a'-'A')] = g[0]
			}
		}
	}
	return m
}()

// provinceForm stands for any province character in a look-alike form.
const provinceForm = '*'

// isHan reports whether r is a CJK ideograph (a province or a suffix like
// 警 or 学).
func isHan(r rune) bool { return r >= 0x3400 && r <= 0x9FFF }

// PlateForm is plate's look-alike form: every confusable character
// replaced by its class's representative (0/O/D/Q → 0, 8/B → 8, 1/I → 1,
// 2/Z → 2, 5/S → 5, 6/G → 6), lower-case letters upper-cased, and a
// leading CJK character (the province, which cameras misread most) made
// '*'. Two plates a camera may confuse have the same form.
func PlateForm(plate string) string {
	return string(appendForm(make([]byte, 0, len(plate)), []rune(plate)))
}

// appendForm appends the look-alike form of the plate rs to dst.
func appendForm(dst []byte, rs []rune) []byte {
	for i, r := range rs {
		switch {
		case r < utf8.RuneSelf:
			dst = append(dst, formASCII[r])
		case i == 0 && isHan(r):
			dst = append(dst, provinceForm)
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// openPlateKey is plate's key in the open-plate index.
func openPlateKey(plate string) []byte {
	f := PlateForm(plate)
	k := make([]byte, 0, len(f)+1+len(plate))
	k = append(k, f...)
	k = append(k, 0)
	return append(k, plate...)
}

// plateOfKey is the plate of an open-plate index key.
func plateOfKey(k []byte) string {
	_, p, _ := bytes.Cut(k, []byte{0})
	return string(p)
}

// insertAlphabet is what a camera may have dropped from inside a plate,
// one character of each look-alike class; in front it drops a province
// (any CJK character: its form is '*'), at the end a digit, a letter or a
// suffix character.
var insertAlphabet, insertLast = func() (mid, last []rune) {
	seen := map[rune]bool{}
	for _, r := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		f := []rune(PlateForm(string(r)))[0]
		if !seen[f] {
			seen[f] = true
			mid = append(mid, r)
		}
	}
	return mid, append(slices.Clone(mid), []rune("警学挂港澳领使")...)
}()

// lookalikePrefixes lists the index key prefixes (form + 0x00) of the
// plates read may stand for, mostly ascending, maybe repeated: read's own form,
// read with one character dropped (the camera saw one too many), and read
// with one character added (it missed one).
func lookalikePrefixes(read string) [][]byte {
	rs := []rune(read)
	n := 2 + len(rs) + len(rs)*len(insertAlphabet) + len(insertLast)
	arena := make([]byte, 0, n*(len(read)+4))
	out := make([][]byte, 0, n)
	buf := make([]rune, 0, len(rs)+1)
	add := func(rs []rune) {
		if len(rs) > 0 {
			start := len(arena)
			arena = append(appendForm(arena, rs), 0)
			out = append(out, arena[start:len(arena):len(arena)])
		}
	}
	add(rs)
	for i := range rs {
		add(append(append(buf[:0], rs[:i]...), rs[i+1:]...))
	}
	add(append(append(buf[:0], '粤'), rs...))
	for i := 1; i <= len(rs); i++ {
		alpha := insertAlphabet
		if i == len(rs) {
			alpha = insertLast
		}
		for _, c := range alpha {
			add(append(append(append(buf[:0], rs[:i]...), c), rs[i:]...))
		}
	}
	return out
}

// maxLookalikes bounds how many look-alike records OpenLookalikes
// returns: more than a few means the read cannot decide anything.
const maxLookalikes = 8

// OpenLookalikes returns the open records whose plate a camera may have
// read as read: the same look-alike form (any confusable characters, a
// misread province), or one character more or fewer on top of that, at
// most 8, by plate. It uses the open-plate index only (one prefix seek per
// form, a few hundred at most): microseconds, however many are open. An
// exact match is among them; choosing one is the caller's business.
func (db *DB) OpenLookalikes(read string) ([]Record, error) {
	if !validKey(read, 64) {
		return nil, fmt.Errorf("store: open look-alikes: %w: plate %q", ErrInvalid, read)
	}
	var out []Record
	err := db.view("open look-alikes", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOpenPlate).Cursor()
		var seen map[string]bool
		// The prefixes mostly ascend: after one, a few steps forward often
		// reach the next without a seek from the root.
		var k, id, prev []byte
		for _, prefix := range lookalikePrefixes(read) {
			if k != nil && bytes.Compare(prev, prefix) < 0 {
				for step := 0; k != nil && bytes.Compare(k, prefix) < 0; step++ {
					if step == 4 {
						k = nil
						break
					}
					k, id = c.Next()
				}
			} else {
				k = nil
			}
			if k == nil {
				k, id = c.Seek(prefix)
			}
			prev = prefix
			for ; k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
				if seen[string(id)] {
					continue
				}
				if seen == nil {
					seen = map[string]bool{}
				}
				seen[string(id)] = true
				r, err := getRecord(tx, string(id))
				if err != nil {
					return err
				}
				out = append(out, *r)
				if len(out) >= maxLookalikes {
					return nil
				}
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Plate, b.Plate) })
	return out, err
}

// migrateV3 re-keys the open-plate index by look-alike form (schema 2
// keyed it by the plate alone).
func migrateV3(tx *bolt.Tx) error {
	old := tx.Bucket(bucketOpenPlate)
	type entry struct{ plate, id []byte }
	var all []entry
	if err := old.ForEach(func(k, v []byte) error {
		all = append(all, entry{slices.Clone(k), slices.Clone(v)})
		return nil
	}); err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketOpenPlate); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketOpenPlate)
	if err != nil {
		return err
	}
	for _, e := range all {
		if err := b.Put(openPlateKey(string(e.plate)), e.id); err != nil {
			return err
		}
	}
	return nil
}
