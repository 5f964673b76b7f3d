package update

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"laned/internal/atomicfile"
)

// GuardAction is what Guard did.
type GuardAction string

const (
	GuardNone       GuardAction = "none"       // no trial running
	GuardCounted    GuardAction = "counted"    // a trial start was counted
	GuardStale      GuardAction = "stale"      // the marker did not match the live binary; removed
	GuardRolledBack GuardAction = "rolledback" // the limit was passed; .prev is live again
	GuardNoPrev     GuardAction = "no-prev"    // the limit was passed but there was no .prev; trial ended
)

// Guard is the Go twin of scripts/laned-guard, run before every start of
// the daemon: with a trial marker present it counts one more start and,
// once the starts pass the marker's limit, renames live+".prev" over live
// (keeping the failed binary as live+".failed"), leaves a rollback record
// beside the marker and removes the marker. A marker whose sha256 does not
// match the live binary (an install interrupted before its rename, or a
// rollback interrupted after it) is removed. It never leaves live missing.
func Guard(live, marker string, now time.Time) (GuardAction, error) {
	m, err := readMarker(marker)
	if err != nil {
		// A marker that does not parse cannot be trusted: drop it.
		return GuardStale, atomicfile.Remove(marker)
	}
	if m == nil {
		return GuardNone, nil
	}
	sum, err := fileSHA256(live)
	if err != nil {
		return GuardNone, fmt.Errorf("update: guard: %w", err)
	}
	if sum != m.SHA256 {
		return GuardStale, atomicfile.Remove(marker)
	}
	m.Attempts++
	if m.Attempts <= m.Limit {
		if err := atomicfile.Write(marker, m.encode(), 0o644); err != nil {
			return GuardNone, fmt.Errorf("update: guard: %w", err)
		}
		return GuardCounted, nil
	}
	rec := RollbackRecord{Version: m.Version, From: m.From, SHA256: m.SHA256, Attempts: m.Attempts - 1, At: now.Unix(), Result: string(GuardRolledBack)}
	prev := live + ".prev"
	if _, err := os.Stat(prev); errors.Is(err, fs.ErrNotExist) {
		rec.Result = string(GuardNoPrev)
	}
	rbPath := filepath.Join(filepath.Dir(marker), "rolledback")
	if err := atomicfile.Write(rbPath, rec.encode(), 0o644); err != nil {
		return GuardNone, fmt.Errorf("update: guard: %w", err)
	}
	if rec.Result == string(GuardRolledBack) {
		_ = os.Remove(live + ".failed")
		_ = os.Link(live, live+".failed") // kept for a post-mortem; best effort
		if err := os.Rename(prev, live); err != nil {
			return GuardNone, fmt.Errorf("update: guard: roll back: %w", err)
		}
		if err := atomicfile.SyncDir(filepath.Dir(live)); err != nil {
			return GuardNone, fmt.Errorf("update: guard: %w", err)
		}
	}
	if err := atomicfile.Remove(marker); err != nil {
		return GuardNone, fmt.Errorf("update: guard: %w", err)
	}
	return GuardAction(rec.Result), nil
}

// SelfSHA256 hashes the running process's own binary: /proc/self/exe,
// which stays the running inode even after an install renamed another
// binary over its path, else os.Executable.
func SelfSHA256() (string, error) {
	if sum, err := fileSHA256("/proc/self/exe"); err == nil {
		return sum, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("update: self sha256: %w", err)
	}
	return fileSHA256(exe)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
