package main

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

// lockFile is the daemon's lock in data_dir: laned run holds an exclusive
// flock on it (with its pid inside) for as long as it runs, so that the
// field tools that drive the same pins and ports (laned io, laned camera
// listen) can tell it is running and refuse. The kernel drops the lock
// when the process ends, however it ends.
const lockFile = "laned.lock"

// errRunning is wrapped when laned is running and holds the pins.
var errRunning = errors.New("laned is running")

// daemonLock is a held lock file.
type daemonLock struct{ f *os.File }

// lockDaemon takes the data directory's lock without waiting and writes
// this process's pid into it. A lock held by another process is an error
// wrapping errRunning that names its pid.
func lockDaemon(dataDir string) (*daemonLock, error) {
	path := filepath.Join(dataDir, lockFile)
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
			return nil, fmt.Errorf("%w (pid %s holds %s)", errRunning, pid, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &daemonLock{f: f}, nil
}

// release drops the lock; nil-safe and idempotent.
func (l *daemonLock) release() {
	if l == nil || l.f == nil {
		return
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// refuseWhileRunning returns an error when a laned run holds cfg's data
// directory: tool must not drive the pins or the port the daemon drives.
// Otherwise it returns the lock, held so that a daemon starting meanwhile
// refuses in turn; the caller releases it when done. A data directory
// that does not exist yet has no daemon (and no lock is taken).
func refuseWhileRunning(cfg *config.Config, tool string) (*daemonLock, error) {
	if _, err := os.Stat(cfg.DataDir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	l, err := lockDaemon(cfg.DataDir)
	if errors.Is(err, errRunning) {
		return nil, fmt.Errorf("%s: refusing: %w and holds the pins and the camera port; stop it first (systemctl stop laned)", tool, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	return l, nil
}
