package console

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PIN hashing parameters.
const (
	// PINIterations is the PBKDF2-SHA256 iteration count HashPIN uses.
	PINIterations = 100_000
	pinScheme     = "pbkdf2-sha256"
	pinSaltLen    = 16
	pinKeyLen     = 32
	// DefaultMaxFailures is how many wrong PINs in a row lock the console.
	DefaultMaxFailures = 5
	// DefaultLockFor is how long the console stays locked.
	DefaultLockFor = 5 * time.Minute
)

var (
	// ErrBadPIN: a PIN that is not 4 to 12 digits (HashPIN).
	ErrBadPIN = errors.New("pin must be 4 to 12 digits")
	// ErrBadPINHash: a stored PIN hash that does not parse.
	ErrBadPINHash = errors.New(`bad pin hash; want "pbkdf2-sha256$ITER$SALT$HASH" from laned console hash-pin`)
	// ErrWrongPIN: the PIN does not match.
	ErrWrongPIN = errors.New("wrong pin")
	// ErrLocked: too many wrong PINs; see LockedError for how long.
	ErrLocked = errors.New("console locked")
)

// LockedError says how long the console stays locked.
type LockedError struct{ Remaining time.Duration }

func (e *LockedError) Error() string {
	s := int64((e.Remaining + time.Second - 1) / time.Second)
	return fmt.Sprintf("too many wrong pins: locked for %d more seconds; wait, then try again", s)
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// validPIN reports whether pin is 4 to 12 ASCII digits.
func validPIN(pin string) bool {
	if len(pin) < 4 || len(pin) > 12 {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// HashPIN hashes pin with a random salt read from rand, as
// "pbkdf2-sha256$100000$SALT$HASH" (base64, no padding), for the config
// file. The PIN must be 4 to 12 digits.
func HashPIN(pin string, rand io.Reader) (string, error) {
	return hashPIN(pin, rand, PINIterations)
}

func hashPIN(pin string, rand io.Reader, iter int) (string, error) {
	if !validPIN(pin) {
		return "", fmt.Errorf("console: hash pin: %w", ErrBadPIN)
	}
	salt := make([]byte, pinSaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("console: hash pin: salt: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, pin, salt, iter, pinKeyLen)
	if err != nil {
		return "", fmt.Errorf("console: hash pin: %w", err)
	}
	enc := base64.RawStdEncoding
	return pinScheme + "$" + strconv.Itoa(iter) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// PINOptions tune the lock-out; zero values mean the defaults.
type PINOptions struct {
	MaxFailures int           // wrong PINs in a row that lock; default 5
	LockFor     time.Duration // how long; default 5 minutes
}

// PINCheck verifies PINs against a stored hash and locks after too many
// failures in a row. One PINCheck serves every session of a Console, so
// reconnecting does not reset the count. Safe for concurrent use.
type PINCheck struct {
	iter      int
	salt, key []byte
	max       int
	lockFor   time.Duration

	mu       sync.Mutex
	failures int
	lockedAt time.Duration // monotonic reading when the lock began
	locked   bool
}

// NewPINCheck parses a hash made by HashPIN.
func NewPINCheck(hash string, opts PINOptions) (*PINCheck, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != pinScheme {
		return nil, fmt.Errorf("console: pin check: %w", ErrBadPINHash)
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return nil, fmt.Errorf("console: pin check: iterations %q: %w", parts[1], ErrBadPINHash)
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	key, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) != pinKeyLen {
		return nil, fmt.Errorf("console: pin check: %w", ErrBadPINHash)
	}
	p := &PINCheck{iter: iter, salt: salt, key: key, max: opts.MaxFailures, lockFor: opts.LockFor}
	if p.max <= 0 {
		p.max = DefaultMaxFailures
	}
	if p.lockFor <= 0 {
		p.lockFor = DefaultLockFor
	}
	return p, nil
}

// Verify checks pin at the monotonic reading now (clock.Clock.Mono, so
// that setting the wall clock neither lifts nor stretches a lock). It
// returns nil, ErrWrongPIN, or a *LockedError (errors.Is ErrLocked) —
// while locked even the right PIN is refused.
func (p *PINCheck) Verify(pin string, now time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.locked {
		if left := p.lockedAt + p.lockFor - now; left > 0 {
			return &LockedError{Remaining: left}
		}
		p.locked, p.failures = false, 0
	}
	// Hash whatever was typed, so that a malformed PIN costs as long as
	// a wrong one.
	key, err := pbkdf2.Key(sha256.New, pin, p.salt, p.iter, pinKeyLen)
	if err == nil && validPIN(pin) && subtle.ConstantTimeCompare(key, p.key) == 1 {
		p.failures = 0
		return nil
	}
	p.failures++
	if p.failures >= p.max {
		p.locked, p.lockedAt = true, now
		return &LockedError{Remaining: p.lockFor}
	}
	return ErrWrongPIN
}

// Failures reports the wrong PINs in a row so far.
func (p *PINCheck) Failures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failures
}
