package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"laned/internal/atomicfile"
)

// Pictures keeps the network cameras' pictures as files, outside bbolt:
// dir/YYYYMMDD/{record_id}-{in|out}-{full|plate}.jpg. A file is written
// whole and durable (write, fsync, rename, fsync of its directory)
// before a record or an uplink names it, so that a name in the store
// never points at half a picture. A budget bounds them: Prune deletes the
// oldest beyond MaxBytes or MaxAge, never one its caller says to keep (a
// PicUpload still queued).
type Pictures struct {
	dir string
	opt PictureOptions

	mu    sync.Mutex
	total int64 // bytes of the pictures on disk, as far as this process knows
}

// PictureOptions bound the pictures. Zero values take the defaults.
type PictureOptions struct {
	MaxBytes int64         // default 2 GiB
	MaxAge   time.Duration // default 30 days
}

// PicFileParam is the queued PicUpload's parameter naming its picture
// (a name Pictures.Read takes); the dispatcher replaces it by pic_con at
// send time, so that the outbox holds no picture.
const PicFileParam = "laned_pic_file"

// OpenPictures opens (creating) the picture directory and counts what it
// holds.
func OpenPictures(dir string, opt PictureOptions) (*Pictures, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 2 << 30
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = 30 * 24 * time.Hour
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: pictures: %w", err)
	}
	p := &Pictures{dir: dir, opt: opt}
	files, err := p.list()
	if err != nil {
		return nil, fmt.Errorf("store: pictures: %w", err)
	}
	for _, f := range files {
		p.total += f.size
	}
	return p, nil
}

// Dir is the pictures' directory.
func (p *Pictures) Dir() string { return p.dir }

// Usage returns the bytes the pictures take.
func (p *Pictures) Usage() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// Over reports whether the pictures exceed their byte budget.
func (p *Pictures) Over() bool { return p.Usage() > p.opt.MaxBytes }

// PictureName is the name (relative to the directory) of a record's
// picture taken at `at` (in the car park's zone): inOut "in" or "out",
// kind "full" or "plate".
func PictureName(at time.Time, recordID, inOut, kind string) string {
	return at.Format("20060102") + "/" + recordID + "-" + inOut + "-" + kind + ".jpg"
}

// Save writes data durably under name (see PictureName), its modification
// time set to at, and returns name.
func (p *Pictures) Save(at time.Time, recordID, inOut, kind string, data []byte) (string, error) {
	if !validKey(recordID, MaxRecordID) || strings.ContainsAny(recordID, `/\`) || (inOut != "in" && inOut != "out") || (kind != "full" && kind != "plate") {
		return "", fmt.Errorf("store: save picture %q %s %s: %w", recordID, inOut, kind, ErrInvalid)
	}
	name := PictureName(at, recordID, inOut, kind)
	path := filepath.Join(p.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("store: save picture: %w", err)
	}
	old, _ := os.Stat(path)
	if err := writeDurable(path, data, at); err != nil {
		return "", fmt.Errorf("store: save picture %s: %w", name, err)
	}
	p.mu.Lock()
	p.total += int64(len(data))
	if old != nil {
		p.total -= old.Size()
	}
	p.mu.Unlock()
	return name, nil
}

// Read returns the picture called name.
func (p *Pictures) Read(name string) ([]byte, error) {
	if !validPictureName(name) {
		return nil, fmt.Errorf("store: picture %q: %w", name, ErrInvalid)
	}
	b, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: picture %s: %w", name, ErrNotFound)
	}
	return b, err
}

func validPictureName(name string) bool {
	day, file, ok := strings.Cut(name, "/")
	return ok && len(day) == 8 && strings.Trim(day, "0123456789") == "" && file != "" &&
		!strings.ContainsAny(file, `/\`) && file != "." && file != ".." && strings.HasSuffix(file, ".jpg")
}

// Prune deletes pictures older than MaxAge, then the oldest while the
// rest exceed MaxBytes, skipping those keep names; it returns how many it
// deleted and their bytes.
func (p *Pictures) Prune(now time.Time, keep func(name string) bool) (n int, freed int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	files, err := p.list()
	if err != nil {
		return 0, 0, fmt.Errorf("store: prune pictures: %w", err)
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	cutoff := now.Add(-p.opt.MaxAge)
	dirs := map[string]bool{}
	for _, f := range files { // oldest first
		if !f.mod.Before(cutoff) && total <= p.opt.MaxBytes {
			break
		}
		if keep != nil && keep(f.name) {
			continue
		}
		if err := os.Remove(filepath.Join(p.dir, filepath.FromSlash(f.name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.total = total
			return n, freed, fmt.Errorf("store: prune pictures: %w", err)
		}
		total -= f.size
		n, freed = n+1, freed+f.size
		dirs[f.name[:8]] = true
	}
	p.total = total
	for d := range dirs {
		dir := filepath.Join(p.dir, d)
		_ = os.Remove(dir) // only when empty
	}
	if n > 0 {
		_ = atomicfile.SyncDir(p.dir) // best effort: a removal a power cut undoes is redone by the next Prune
	}
	return n, freed, nil
}

type pictureFile struct {
	name string
	size int64
	mod  time.Time
}

// list returns the pictures, oldest first (by modification time, then
// name).
func (p *Pictures) list() ([]pictureFile, error) {
	days, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	var out []pictureFile
	for _, d := range days {
		if !d.IsDir() || !validPictureName(d.Name()+"/x.jpg") {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(p.dir, d.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			name := d.Name() + "/" + e.Name()
			if !e.Type().IsRegular() || !validPictureName(name) {
				continue // temp files of an interrupted write are left to the next Save of that name
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, pictureFile{name: name, size: fi.Size(), mod: fi.ModTime()})
		}
	}
	slices.SortFunc(out, func(a, b pictureFile) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out, nil
}

// writeDurable replaces path with data, its modification time set to mod
// (unless zero), whole and durable.
func writeDurable(path string, data []byte, mod time.Time) error {
	return atomicfile.WriteFunc(path, 0o640, func(f *os.File) error {
		if _, err := f.Write(data); err != nil {
			return err
		}
		if mod.IsZero() {
			return nil
		}
		return os.Chtimes(f.Name(), mod, mod)
	})
}

// QueuedPictures returns the pictures named by queued PicUpload messages:
// they must be kept until the message is delivered or dropped.
func (db *DB) QueuedPictures() (map[string]bool, error) {
	out := map[string]bool{}
	err := db.view("queued pictures", func(tx *bolt.Tx) error {
		prefix := kindKey(KindPicUpload, 0)[:len(KindPicUpload)+1]
		ob := tx.Bucket(bucketOutbox)
		c := tx.Bucket(bucketOutKind).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := ob.Get(u64(binary.BigEndian.Uint64(k[len(prefix):])))
			if v == nil {
				continue
			}
			m, err := decodeMsg(v)
			if err != nil {
				return err
			}
			if f := m.Params[PicFileParam]; f != "" {
				out[f] = true
			}
		}
		return nil
	})
	return out, err
}

// PictureUsage returns the bytes the pictures under dir take, without
// creating or changing anything (for check tools); 0 when dir is absent.
func PictureUsage(dir string) (int64, error) {
	files, err := (&Pictures{dir: dir}).list()
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	var n int64
	for _, f := range files {
		n += f.size
	}
	return n, err
}
