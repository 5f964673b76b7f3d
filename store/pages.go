package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// A reader of bbolt's on-disk format that reads pages with ReadAt instead
// of mapping the file: a damaged page id, count or offset is an error
// here, never a fault. The consistency check at Open and the salvage walk
// the file with it. bbolt's own Tx.Check cannot be trusted with a damaged
// file: it follows page ids into the mapping from a goroutine of its own,
// where a wild id is a SIGSEGV that no recover catches; it runs only on a
// file this walk found sound (CheckFile).
//
// The layout (bbolt internal/common), native byte order: a page starts
// with a 16-byte header (id u64, flags u16, count u16, overflow u32);
// branch elements are (pos u32, ksize u32, pgid u64), leaf elements
// (flags u32, pos u32, ksize u32, vsize u32), pos counted from the
// element itself; a bucket's value is (root u64, sequence u64), followed
// by the bucket's page itself when root is 0 (an inline bucket).

const (
	pageHeader    = 16
	elemSize      = 16
	flagBranch    = 0x01
	flagLeaf      = 0x02
	flagFreelist  = 0x10
	leafBucket    = 0x01
	bucketHeader  = 16
	maxTreeDepth  = 64
	maxPageSpan   = 1 << 16 // pages one element (with its overflow) may span
	freelistLarge = 0xFFFF
)

// pageFile reads the pages of one bbolt file.
type pageFile struct {
	f    *os.File
	size int64
	meta boltMeta // the newest valid meta page
}

// openPages reads the meta pages of f and keeps the newest valid one.
func openPages(f *os.File) (*pageFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf := &pageFile{f: f, size: fi.Size()}
	read := func(off int64) (m boltMeta, ok bool) {
		buf := make([]byte, metaEnd)
		if _, err := f.ReadAt(buf, off); err != nil {
			return m, false
		}
		m, ok = parseMeta(buf)
		return m, ok && m.root >= 2 && m.root < m.pgid
	}
	m0, ok0 := read(0)
	ps := int64(os.Getpagesize())
	if ok0 {
		ps = int64(m0.pageSize)
	}
	m1, ok1 := read(ps)
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		pf.meta = m1
	case ok0:
		pf.meta = m0
	default:
		return nil, fmt.Errorf("no usable meta page (size %d bytes)", pf.size)
	}
	return pf, nil
}

func (pf *pageFile) ps() int64 { return int64(pf.meta.pageSize) }

// page returns page id with its overflow pages.
func (pf *pageFile) page(id uint64) ([]byte, error) {
	if id < 2 || id >= pf.meta.pgid {
		return nil, fmt.Errorf("page %d: out of bounds (high water mark %d)", id, pf.meta.pgid)
	}
	p := make([]byte, pf.ps())
	if _, err := pf.f.ReadAt(p, int64(id)*pf.ps()); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	if got := binary.NativeEndian.Uint64(p); got != id {
		return nil, fmt.Errorf("page %d: header says page %d", id, got)
	}
	over := pageOver(p)
	if over >= maxPageSpan || id+over >= pf.meta.pgid {
		return nil, fmt.Errorf("page %d: overflow %d beyond the file", id, over)
	}
	if over > 0 {
		p = append(p, make([]byte, int64(over)*pf.ps())...)
		if _, err := pf.f.ReadAt(p[pf.ps():], int64(id+1)*pf.ps()); err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
	}
	return p, nil
}

func pageFlags(p []byte) uint16 { return binary.NativeEndian.Uint16(p[8:]) }
func pageCount(p []byte) int    { return int(binary.NativeEndian.Uint16(p[10:])) }
func pageOver(p []byte) uint64  { return uint64(binary.NativeEndian.Uint32(p[12:])) }

// leafElem is one entry of a leaf page; k and v alias the page.
type leafElem struct {
	flags uint32
	k, v  []byte
}

func parseLeaf(id uint64, p []byte) ([]leafElem, error) {
	n := pageCount(p)
	if pageHeader+n*elemSize > len(p) {
		return nil, fmt.Errorf("page %d: %d elements do not fit", id, n)
	}
	ne := binary.NativeEndian
	out := make([]leafElem, n)
	for i := range out {
		e := pageHeader + i*elemSize
		flags, pos := ne.Uint32(p[e:]), uint64(ne.Uint32(p[e+4:]))
		ks, vs := uint64(ne.Uint32(p[e+8:])), uint64(ne.Uint32(p[e+12:]))
		start := uint64(e) + pos
		if pos == 0 || start+ks+vs > uint64(len(p)) {
			return nil, fmt.Errorf("page %d: element %d lies outside the page", id, i)
		}
		out[i] = leafElem{flags: flags, k: p[start : start+ks], v: p[start+ks : start+ks+vs]}
	}
	return out, nil
}

type branchElem struct {
	k    []byte
	page uint64
}

func parseBranch(id uint64, p []byte) ([]branchElem, error) {
	n := pageCount(p)
	if n == 0 || pageHeader+n*elemSize > len(p) {
		return nil, fmt.Errorf("page %d: branch of %d elements", id, n)
	}
	ne := binary.NativeEndian
	out := make([]branchElem, n)
	for i := range out {
		e := pageHeader + i*elemSize
		pos, ks := uint64(ne.Uint32(p[e:])), uint64(ne.Uint32(p[e+4:]))
		start := uint64(e) + pos
		if pos == 0 || start+ks > uint64(len(p)) {
			return nil, fmt.Errorf("page %d: element %d lies outside the page", id, i)
		}
		out[i] = branchElem{k: p[start : start+ks], page: ne.Uint64(p[e+8:])}
	}
	return out, nil
}

// walker walks trees of a pageFile, page by page. A page that cannot be
// read or parsed is recorded in bad, with what lies under it, and the
// walk goes on with its siblings: one bad page loses what is on it (and,
// for a branch page, the pages beneath it).
type walker struct {
	pf       *pageFile
	deadline time.Time // zero: none
	now      func() time.Time
	seen     map[uint64]bool // every page reached, overflow pages too
	// free, when set, lists the pages the file's freelist calls free: a
	// tree that reaches one went through a damaged page id (in a sound
	// file no page is both), and its stale content is not used.
	free     map[uint64]bool
	bad      []pageFault
	problems []string // structural findings that lose nothing (order, freelist…)
	stopped  bool
}

// pageFault is a page the walk could not use.
type pageFault struct {
	bucket string
	page   uint64
	err    error
}

func newWalker(pf *pageFile, deadline time.Time, now func() time.Time) *walker {
	return &walker{pf: pf, deadline: deadline, now: now, seen: map[uint64]bool{0: true, 1: true}}
}

func (w *walker) fault(bucket string, page uint64, err error) {
	w.bad = append(w.bad, pageFault{bucket: bucket, page: page, err: err})
}

// tree visits the entries of the bucket whose value is bv (root and
// sequence, and the inline page when root is 0), in key order.
func (w *walker) bucket(name string, bv []byte, visit func(e leafElem)) {
	if len(bv) < bucketHeader {
		w.fault(name, 0, fmt.Errorf("bucket %q: header of %d bytes", name, len(bv)))
		return
	}
	root := binary.NativeEndian.Uint64(bv)
	if root != 0 {
		w.tree(name, root, nil, nil, 0, visit)
		return
	}
	inline := bv[bucketHeader:]
	if len(inline) < pageHeader || pageFlags(inline)&flagLeaf == 0 {
		w.fault(name, 0, fmt.Errorf("bucket %q: inline page is not a leaf", name))
		return
	}
	els, err := parseLeaf(0, inline)
	if err != nil {
		w.fault(name, 0, fmt.Errorf("bucket %q inline: %w", name, err))
		return
	}
	w.leaf(name, 0, els, nil, nil, visit)
}

// tree walks the subtree at page id, whose keys must lie in [lo, hi).
func (w *walker) tree(name string, id uint64, lo, hi []byte, depth int, visit func(e leafElem)) {
	if w.stopped {
		return
	}
	if !w.deadline.IsZero() && w.now().After(w.deadline) {
		w.stopped = true
		return
	}
	if depth > maxTreeDepth {
		w.fault(name, id, fmt.Errorf("page %d: tree deeper than %d", id, maxTreeDepth))
		return
	}
	if w.seen[id] {
		w.fault(name, id, fmt.Errorf("page %d: multiple references", id))
		return
	}
	if w.free[id] {
		w.fault(name, id, fmt.Errorf("page %d: reachable but free", id))
		return
	}
	p, err := w.pf.page(id)
	if err != nil {
		w.fault(name, id, err)
		return
	}
	for i := uint64(0); i <= pageOver(p); i++ {
		if w.seen[id+i] {
			w.problems = append(w.problems, fmt.Sprintf("page %d: multiple references", id+i))
		}
		w.seen[id+i] = true
	}
	switch f := pageFlags(p); {
	case f&flagBranch != 0 && f&flagLeaf == 0:
		els, err := parseBranch(id, p)
		if err != nil {
			w.fault(name, id, err)
			return
		}
		for i, e := range els {
			if i == 0 && lo != nil && bytes.Compare(e.k, lo) < 0 || i > 0 && bytes.Compare(els[i-1].k, e.k) >= 0 ||
				hi != nil && bytes.Compare(e.k, hi) >= 0 {
				w.problems = append(w.problems, fmt.Sprintf("bucket %s page %d: branch key %d out of order", name, id, i))
			}
			next := hi
			if i+1 < len(els) {
				next = els[i+1].k
			}
			w.tree(name, e.page, e.k, next, depth+1, visit)
		}
	case f&flagLeaf != 0 && f&flagBranch == 0:
		els, err := parseLeaf(id, p)
		if err != nil {
			w.fault(name, id, err)
			return
		}
		w.leaf(name, id, els, lo, hi, visit)
	default:
		w.fault(name, id, fmt.Errorf("page %d: not a branch or leaf page (flags %#x)", id, f))
	}
}

func (w *walker) leaf(name string, id uint64, els []leafElem, lo, hi []byte, visit func(e leafElem)) {
	for i, e := range els {
		if i == 0 && lo != nil && bytes.Compare(e.k, lo) < 0 || i > 0 && bytes.Compare(els[i-1].k, e.k) >= 0 ||
			hi != nil && bytes.Compare(e.k, hi) >= 0 {
			w.problems = append(w.problems, fmt.Sprintf("bucket %s page %d: key %d out of order", name, id, i))
		}
		visit(e)
	}
}

// freelist returns the free pages the file lists (nil when the file keeps
// no freelist) and marks the freelist pages reached.
func (w *walker) freelist() (map[uint64]bool, error) {
	id := w.pf.meta.freelist
	if id == noFreelist {
		return nil, nil
	}
	p, err := w.pf.page(id)
	if err != nil {
		return nil, fmt.Errorf("freelist: %w", err)
	}
	if pageFlags(p)&flagFreelist == 0 {
		return nil, fmt.Errorf("freelist page %d has flags %#x", id, pageFlags(p))
	}
	for i := uint64(0); i <= pageOver(p); i++ {
		w.seen[id+i] = true
	}
	idx, n := 0, pageCount(p)
	ne := binary.NativeEndian
	if n == freelistLarge {
		c := ne.Uint64(p[pageHeader:])
		if c > uint64(len(p)/8) {
			return nil, fmt.Errorf("freelist page %d: count %d does not fit", id, c)
		}
		idx, n = 1, int(c)
	}
	if pageHeader+(idx+n)*8 > len(p) {
		return nil, fmt.Errorf("freelist page %d: count %d does not fit", id, n)
	}
	free := make(map[uint64]bool, n)
	for i := 0; i < n; i++ {
		f := ne.Uint64(p[pageHeader+(idx+i)*8:])
		if f < 2 || f >= w.pf.meta.pgid {
			return nil, fmt.Errorf("freelist: page %d out of bounds", f)
		}
		if free[f] {
			w.problems = append(w.problems, fmt.Sprintf("page %d: already freed", f))
		}
		free[f] = true
	}
	return free, nil
}
