package appliance

import (
	"errors"
	"fmt"
	"laned/appliance/config"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the daemon's lock in data_dir: laned run holds an exclusive
// flock on it (with its pid inside) for as long as it runs, so that the
// field tools that drive the same pins and ports (laned io, laned camera
// listen) can tell it is running and refuse. The kernel drops the lock
// when the process ends, however it ends.
const LockFile = "laned.lock"

// ErrRunning is wrapped when laned is running and holds the pins.
var ErrRunning = errors.New("laned is running")

// DataDirLock is a held lock file.
type DataDirLock struct{ f *os.File }

// LockDataDir takes the data directory's lock without waiting and writes
// this process's pid into it. A lock held by another process is an error
// wrapping ErrRunning that names its pid.
func LockDataDir(dataDir string) (*DataDirLock, error) {
	path := filepath.Join(dataDir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(b))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "?"
			}
			return nil, fmt.Errorf("%w (pid %s holds %s)", ErrRunning, pid, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &DataDirLock{f: f}, nil
}

// Release drops the lock; nil-safe and idempotent.
func (l *DataDirLock) Release() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// RefuseWhileRunning returns an error when a laned run holds cfg's data
// directory: tool must not drive the pins or the port the daemon drives.
// Otherwise it returns the lock, held so that a daemon starting meanwhile
// refuses in turn; the caller releases it when done. A data directory
// that does not exist yet has no daemon (and no lock is taken).
func RefuseWhileRunning(cfg *config.Config, tool string) (*DataDirLock, error) {
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	l, err := LockDataDir(cfg.DataDir)
	if errors.Is(err, ErrRunning) {
		return nil, fmt.Errorf("%s: refusing: %w and holds the pins and the camera port; stop it first (systemctl stop laned)", tool, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	return l, nil
}
