//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile is a no-op where flock does not exist; bbolt's own lock still
// applies once the file is opened.
func lockFile(*os.File, time.Duration) error { return nil }

func unlockFile(*os.File) {}

// transient: no error opening the file is known to be transient here.
func transient(error) bool { return false }
