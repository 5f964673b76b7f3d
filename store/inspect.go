package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"

	"laned/internal/atomicfile"
)

// The check of an existing file before bbolt maps it: Open's first step.

// moveAside renames the file at path to path+".corrupt-<UTC time>".
func moveAside(path, reason string, opt Options, rep *OpenReport) error {
	aside := fmt.Sprintf("%s.corrupt-%s", path, opt.Now().UTC().Format("20060102T150405"))
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("move unusable file aside: %w", err)
	}
	_ = atomicfile.SyncDir(filepath.Dir(path))
	rep.MovedAside, rep.Reason = aside, reason
	opt.Logger.Error("store file unusable; kept aside, starting a fresh one", "path", path, "moved_to", aside, "reason", reason)
	return nil
}

// salvageMarker is the file ErrCorrupt leaves beside the store: the next
// Open salvages.
func salvageMarker(path string) string { return path + ".salvage-needed" }

// inspect checks an existing file under its lock before bbolt maps it,
// and moves aside or salvages what is not usable as it is. A non-empty
// force is a reason to salvage found elsewhere (bbolt refused the file).
func inspect(path string, opt Options, rep *OpenReport, force string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		if transient(err) {
			return err // not the file's fault: try again later, keep it
		}
		return moveAside(path, "unreadable: "+err.Error(), opt, rep)
	}
	defer f.Close()
	if err := lockFile(f, opt.LockTimeout); err != nil {
		return err
	}
	defer unlockFile(f)
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return moveAside(path, "empty file (0 bytes)", opt, rep)
	}
	if _, err := openPages(f); err != nil {
		return moveAside(path, err.Error(), opt, rep)
	}
	reason := force
	if reason != "" {
		// Salvage without checking again.
	} else if _, err := os.Stat(salvageMarker(path)); err == nil {
		reason = errSalvageNeeded.Error()
	} else if reason = metaReason(f, fi.Size()); reason == "" && opt.CheckTimeout >= 0 {
		fc := checkPages(f, opt.Now().Add(opt.CheckTimeout), opt.Now)
		rep.Check = &fc
		if fc.TimedOut {
			opt.Logger.Warn("store page check stopped at its time limit; the file was not fully checked",
				"path", path, "limit", opt.CheckTimeout, "pages", fc.Pages)
		}
		if len(fc.Problems) > 0 {
			reason = fmt.Sprintf("damaged: %s (%d problems)", fc.Problems[0], len(fc.Problems))
		}
	}
	if reason == "" {
		return nil
	}
	srep, err := salvage(f, path, reason, opt)
	if errors.Is(err, ErrNewerSchema) {
		return err
	}
	if err != nil {
		// Better a damaged store that answers what it can (ErrCorrupt
		// where it cannot) than no lane at all; the marker asks again.
		opt.Logger.Error("store salvage failed; opening the damaged file as it is", "path", path, "reason", reason, "err", err)
		_ = os.WriteFile(salvageMarker(path), []byte(reason+"\n"), 0o600)
		return nil
	}
	_ = os.Remove(salvageMarker(path))
	rep.Salvage, rep.MovedAside, rep.Reason = &srep, srep.MovedAside, reason
	args := []any{"path", path, "moved_to", srep.MovedAside, "reason", reason, "bad_pages", len(srep.BadPages)}
	for _, k := range salvageKinds {
		args = append(args, "kept_"+k, srep.Kept[k], "lost_"+k, srep.Lost[k])
	}
	opt.Logger.Error("store file damaged: salvaged into a fresh file", append(args, "summary", srep.String())...)
	return nil
}

// metaReason reads the file's meta pages (without mapping it: bbolt
// itself would fault (SIGBUS) on a file truncated below its high-water
// mark, which no recover catches) and returns why the file cannot be
// opened as it is, or "".
func metaReason(f *os.File, size int64) string {
	read := func(off int64) (m boltMeta, ok bool) {
		buf := make([]byte, metaEnd)
		if _, err := f.ReadAt(buf, off); err != nil {
			return m, false
		}
		return parseMeta(buf)
	}
	m0, ok0 := read(0)
	ps := int64(os.Getpagesize())
	if ok0 {
		ps = int64(m0.pageSize)
	}
	m1, ok1 := read(ps)
	var m boltMeta
	switch {
	case ok0 && ok1:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case ok0:
		m = m0
	case ok1:
		m = m1
	default:
		return fmt.Sprintf("no valid meta page (size %d bytes)", size)
	}
	if need := int64(m.pgid) * int64(m.pageSize); size < need {
		return fmt.Sprintf("truncated: %d bytes, meta needs %d", size, need)
	}
	if m.root >= m.pgid || (m.freelist != noFreelist && m.freelist >= m.pgid) {
		return "meta page points beyond the file"
	}
	return ""
}

// The layout of a bbolt meta page (bbolt internal/common: a 16-byte page
// header, then Meta), native byte order.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2
	metaOff     = 16
	metaSumEnd  = metaOff + 56 // checksum covers magic … txid
	metaEnd     = metaSumEnd + 8
	noFreelist  = ^uint64(0)
)

type boltMeta struct {
	pageSize                   uint32
	root, freelist, pgid, txid uint64
}

func parseMeta(b []byte) (boltMeta, bool) {
	ne := binary.NativeEndian
	m := b[metaOff:]
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(b[metaOff:metaSumEnd])
	if h.Sum64() != ne.Uint64(b[metaSumEnd:]) {
		return boltMeta{}, false
	}
	out := boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
	if out.pageSize < 512 || out.pageSize > 1<<20 {
		return boltMeta{}, false
	}
	return out, true
}
