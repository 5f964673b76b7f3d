package console

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// DefaultLockFor is how long the first lock lasts; the second lasts
	// 3 times as long, the third and every later one 12 times (5 min,
	// 15 min, 1 h, 1 h …) until a right PIN.
	DefaultLockFor = 5 * time.Minute
)

// lockFactors are the lengths of the successive locks in LockFor units.
var lockFactors = []time.Duration{1, 3, 12}

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
	LockFor     time.Duration // the first lock; default 5 minutes
	// Store keeps the lock-out across restarts; nil: memory only.
	Store PINStore
	// Now is the wall clock the stored times are in; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger // a failed save is logged; nil: discard
}

// PINState is the lock-out as a PINStore keeps it, in wall-clock UNIX
// seconds (monotonic readings do not survive a restart).
type PINState struct {
	Failures int   // wrong PINs in a row
	Locks    int   // locks since the last right PIN
	LockedAt int64 // when the current lock began; 0: not locked
	Until    int64 // when it ends
	Seconds  int64 // its length
}

// PINStore persists the lock-out. The daemon's is the store's meta bucket.
type PINStore interface {
	LoadPIN() (PINState, error)
	SavePIN(PINState) error
}

// PINCheck verifies PINs against a stored hash and locks after too many
// failures in a row. One PINCheck serves every session of a Console, so
// reconnecting does not reset the count. Safe for concurrent use.
type PINCheck struct {
	iter      int
	salt, key []byte
	max       int
	lockFor   time.Duration

	store PINStore
	now   func() time.Time
	log   *slog.Logger

	mu       sync.Mutex
	failures int
	locks    int           // locks since the last right PIN
	lockedAt time.Duration // monotonic reading when the lock began
	lockLen  time.Duration // its length
	locked   bool
	restore  *PINState // loaded, applied at the first Verify (it needs a monotonic reading)
	wallAt   int64     // wall clock when the lock began, for saving
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
	p := &PINCheck{iter: iter, salt: salt, key: key, max: opts.MaxFailures, lockFor: opts.LockFor,
		store: opts.Store, now: opts.Now, log: opts.Logger}
	if p.max <= 0 {
		p.max = DefaultMaxFailures
	}
	if p.lockFor <= 0 {
		p.lockFor = DefaultLockFor
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.store != nil {
		st, err := p.store.LoadPIN()
		if err != nil {
			// Fail closed: an unreadable lock-out starts a full lock.
			p.log.Error("console: pin lock-out unreadable; locking", "err", err)
			st = PINState{Locks: 1, LockedAt: p.now().Unix(), Seconds: int64(p.lockFor / time.Second)}
			st.Until = st.LockedAt + st.Seconds
		}
		p.restore = &st
	}
	return p, nil
}

// lockLength is the length of lock number n (1 for the first).
func (p *PINCheck) lockLength(n int) time.Duration {
	return p.lockFor * lockFactors[min(max(n, 1), len(lockFactors))-1]
}

// apply restores a stored state at the monotonic reading now: a lock
// keeps what is left of it by the wall clock, never more than its length
// (a clock set back does not stretch it; one that reads before the lock
// began restarts it in full).
func (p *PINCheck) apply(st PINState, now time.Duration) {
	p.failures, p.locks = max(st.Failures, 0), max(st.Locks, 0)
	wall := p.now().Unix()
	if st.LockedAt <= 0 || st.Seconds <= 0 {
		return
	}
	length := time.Duration(st.Seconds) * time.Second
	left := time.Duration(st.Until-wall) * time.Second
	if wall < st.LockedAt || left > length {
		left = length
	}
	if left <= 0 {
		return
	}
	p.locked, p.lockLen, p.wallAt = true, length, st.LockedAt
	p.lockedAt = now - (length - left)
}

// save stores the state; a failure is logged, the check goes on in memory.
func (p *PINCheck) save() {
	if p.store == nil {
		return
	}
	st := PINState{Failures: p.failures, Locks: p.locks}
	if p.locked {
		st.LockedAt, st.Seconds = p.wallAt, int64(p.lockLen/time.Second)
		st.Until = st.LockedAt + st.Seconds
	}
	if err := p.store.SavePIN(st); err != nil {
		p.log.Error("console: cannot save the pin lock-out", "err", err)
	}
}

// Verify checks pin at the monotonic reading now (clock.Clock.Mono, so
// that setting the wall clock neither lifts nor stretches a lock). It
// returns nil, ErrWrongPIN, or a *LockedError (errors.Is ErrLocked) —
// while locked even the right PIN is refused.
func (p *PINCheck) Verify(pin string, now time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.restore != nil {
		p.apply(*p.restore, now)
		p.restore = nil
	}
	if p.locked {
		if left := p.lockedAt + p.lockLen - now; left > 0 {
			return &LockedError{Remaining: left}
		}
		p.locked, p.failures = false, 0
	}
	// Hash whatever was typed, so that a malformed PIN costs as long as
	// a wrong one.
	key, err := pbkdf2.Key(sha256.New, pin, p.salt, p.iter, pinKeyLen)
	if err == nil && validPIN(pin) && subtle.ConstantTimeCompare(key, p.key) == 1 {
		p.failures, p.locks = 0, 0
		p.save()
		return nil
	}
	p.failures++
	if p.failures >= p.max {
		p.locks++
		p.locked, p.lockedAt, p.lockLen, p.wallAt = true, now, p.lockLength(p.locks), p.now().Unix()
		p.failures = 0
		p.save()
		return &LockedError{Remaining: p.lockLen}
	}
	p.save()
	return ErrWrongPIN
}

// NextLock is how long the next lock would last.
func (p *PINCheck) NextLock() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lockLength(p.locks + 1)
}

// Failures reports the wrong PINs in a row so far.
func (p *PINCheck) Failures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failures
}
