package update

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func (u *Updater) fetchSmall(ctx context.Context, url string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := u.o.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrDownload)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %w", url, resp.StatusCode, ErrDownload)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrDownload)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: over %d bytes: %w", url, max, ErrDownload)
	}
	return b, nil
}

// checkSpace makes sure the rest of the download (beyond what part already
// holds) and the staged copy beside the live binary leave Reserved free.
func (u *Updater) checkSpace(m Manifest, part string) error {
	if err := os.MkdirAll(u.l.dl(), 0o755); err != nil {
		return fmt.Errorf("update: space: %w", err)
	}
	have := int64(0)
	if part != "" {
		if fi, err := os.Stat(part); err == nil && fi.Size() <= m.Size {
			have = fi.Size()
		}
	}
	needData := uint64(m.Size - have)
	needLive := uint64(m.Size)
	liveDir := filepath.Dir(u.o.LivePath)
	if sameFS(u.l.dl(), liveDir) {
		needData += needLive
		needLive = needData
	}
	for _, c := range []struct {
		dir  string
		need uint64
	}{{u.l.dl(), needData}, {liveDir, needLive}} {
		free, err := u.o.FreeSpace(c.dir)
		if err != nil {
			return fmt.Errorf("update: space: %w", err)
		}
		if free < c.need || free-c.need < uint64(max(u.o.Reserved, 0)) {
			return fmt.Errorf("update: space: %s has %d bytes free, needs %d plus %d reserved: %w", c.dir, free, c.need, u.o.Reserved, ErrNoSpace)
		}
	}
	return nil
}

func sameFS(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	if err1 != nil || err2 != nil {
		return true // assume the worst
	}
	sa, ok1 := fa.Sys().(*syscall.Stat_t)
	sb, ok2 := fb.Sys().(*syscall.Stat_t)
	return !ok1 || !ok2 || sa.Dev == sb.Dev
}

func statfsFree(path string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// download fetches url into part, resuming with a Range request from what
// part already holds. It writes at most m.Size bytes.
func (u *Updater) download(ctx context.Context, url string, m Manifest, part string) error {
	cleanDownloads(u.l.dl(), m.SHA256)
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	have := fi.Size()
	if have > m.Size {
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		have = 0
	}
	if have == m.Size {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := u.o.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("download: %v: %w", err, ErrDownload)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		have = 0
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have || (total >= 0 && total != m.Size) {
			f.Truncate(0)
			return fmt.Errorf("download: Content-Range %q for %d bytes held: %w", resp.Header.Get("Content-Range"), have, ErrDownload)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// The server's file is not longer than what we hold, yet ours is
		// short: start over at the next check.
		f.Truncate(0)
		return fmt.Errorf("download: HTTP 416 at %d of %d bytes: %w", have, m.Size, ErrDownload)
	default:
		return fmt.Errorf("download: %s: HTTP %d: %w", url, resp.StatusCode, ErrDownload)
	}
	if err := f.Truncate(have); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	want := m.Size - have
	body := io.LimitReader(resp.Body, want+1)
	buf := make([]byte, 64<<10)
	var got int64
	first := true
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if got+int64(n) > want {
				f.Truncate(0)
				return fmt.Errorf("download: server sent more than %d bytes: %w", m.Size, ErrMismatch)
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return fmt.Errorf("download: %w", err)
			}
			got += int64(n)
			if first {
				first = false
				u.o.Step(StepDownload)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Sync()
			return fmt.Errorf("download: after %d of %d bytes: %v: %w", have+got, m.Size, rerr, ErrDownload)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if got < want {
		// Kept: the next check resumes from here.
		return fmt.Errorf("download: short: %d of %d bytes: %w", have+got, m.Size, ErrDownload)
	}
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL"; total is -1 for "*".
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return 0, 0, false
		}
	}
	return start, total, true
}

// cleanDownloads removes downloads of other releases.
func cleanDownloads(dir, keep string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), keep) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// verifyFile checks part's size and sha256 against m and renames it to
// .bin: only a verified file has that name.
func verifyFile(part string, m Manifest) (string, error) {
	fi, err := os.Stat(part)
	if err != nil {
		return "", fmt.Errorf("update: verify binary: %w", err)
	}
	if fi.Size() != m.Size {
		return "", fmt.Errorf("update: verify binary: %d bytes, want %d: %w", fi.Size(), m.Size, ErrMismatch)
	}
	sum, err := fileSHA256(part)
	if err != nil {
		return "", fmt.Errorf("update: verify binary: %w", err)
	}
	if sum != m.SHA256 {
		return "", fmt.Errorf("update: verify binary: sha256 %s, want %s: %w", sum, m.SHA256, ErrMismatch)
	}
	bin := strings.TrimSuffix(part, ".part") + ".bin"
	if err := os.Rename(part, bin); err != nil {
		return "", fmt.Errorf("update: verify binary: %w", err)
	}
	return bin, nil
}
