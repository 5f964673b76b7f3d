package console

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// zeros is a deterministic salt source.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestHashPINValidates(t *testing.T) {
	tests := []struct {
		pin     string
		wantErr error
	}{
		{"1234", nil},
		{"123456789012", nil},
		{"123", ErrBadPIN},
		{"1234567890123", ErrBadPIN},
		{"12a4", ErrBadPIN},
		{"", ErrBadPIN},
		{"１２３４", ErrBadPIN}, // full-width digits are not digits here
	}
	for _, tt := range tests {
		t.Run(tt.pin, func(t *testing.T) {
			h, err := hashPIN(tt.pin, zeros{}, 1000)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("hashPIN(%q) = %q, %v; want %v", tt.pin, h, err, tt.wantErr)
			}
			if err == nil && !strings.HasPrefix(h, "pbkdf2-sha256$1000$") {
				t.Errorf("hashPIN(%q) = %q; want pbkdf2-sha256$1000$…", tt.pin, h)
			}
		})
	}
}

func TestHashPINDefaultAndSalt(t *testing.T) {
	h, err := HashPIN("2468", bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "pbkdf2-sha256$100000$BwcHBwcHBwcHBwcHBwcHBw$") {
		t.Errorf("HashPIN = %q; want 100000 iterations and the salt read", h)
	}
	p, err := NewPINCheck(h, PINOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify("2468", 0); err != nil {
		t.Errorf("Verify(right pin) = %v; want nil", err)
	}
	if _, err := HashPIN("2468", bytes.NewReader(nil)); err == nil {
		t.Error("HashPIN with an empty random source = nil error; want one")
	}
}

func TestNewPINCheckRejectsBadHash(t *testing.T) {
	good, _ := hashPIN("1234", zeros{}, 1000)
	parts := strings.Split(good, "$")
	for _, h := range []string{
		"", "1234", "sha1$1000$" + parts[2] + "$" + parts[3],
		"pbkdf2-sha256$0$" + parts[2] + "$" + parts[3],
		"pbkdf2-sha256$x$" + parts[2] + "$" + parts[3],
		"pbkdf2-sha256$1000$!!$" + parts[3],
		"pbkdf2-sha256$1000$" + parts[2] + "$AAAA",
		good + "$extra",
	} {
		if _, err := NewPINCheck(h, PINOptions{}); !errors.Is(err, ErrBadPINHash) {
			t.Errorf("NewPINCheck(%q) = %v; want ErrBadPINHash", h, err)
		}
	}
}

func TestPINLockout(t *testing.T) {
	h, err := hashPIN("1234", zeros{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPINCheck(h, PINOptions{LockFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := 10 * time.Second
	if err := p.Verify("1234", now); err != nil {
		t.Fatalf("Verify(right) = %v; want nil", err)
	}
	for i := 1; i <= 4; i++ {
		if err := p.Verify("0000", now); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("wrong pin %d: Verify = %v; want ErrWrongPIN", i, err)
		}
	}
	// A malformed PIN counts as a failure too: the fifth locks.
	err = p.Verify("not a pin", now)
	var le *LockedError
	if !errors.As(err, &le) || le.Remaining != time.Minute || !errors.Is(err, ErrLocked) {
		t.Fatalf("fifth failure: Verify = %v; want locked for 1m", err)
	}
	now += 20 * time.Second
	err = p.Verify("1234", now)
	if !errors.As(err, &le) || le.Remaining != 40*time.Second {
		t.Fatalf("right pin while locked: Verify = %v; want locked, 40s left", err)
	}
	if got, want := err.Error(), "locked for 40 more seconds"; !strings.Contains(got, want) {
		t.Errorf("locked error = %q; want it to say %q", got, want)
	}
	now += 40 * time.Second
	if err := p.Verify("1234", now); err != nil {
		t.Fatalf("right pin after the lock: Verify = %v; want nil", err)
	}
	if p.Failures() != 0 {
		t.Errorf("Failures after success = %d; want 0", p.Failures())
	}
	// A success resets the count: four more failures do not lock.
	for range 4 {
		p.Verify("0000", now)
	}
	if err := p.Verify("1234", now); err != nil {
		t.Errorf("right pin after 4 failures: Verify = %v; want nil", err)
	}
}

func TestLockedErrorRoundsUp(t *testing.T) {
	e := &LockedError{Remaining: 1500 * time.Millisecond}
	if !strings.Contains(e.Error(), "locked for 2 more seconds") {
		t.Errorf("LockedError{1.5s}.Error() = %q; want 2 more seconds", e.Error())
	}
}

// memPINStore is a PINStore in memory, shared by the PINChecks of
// successive "restarts".
type memPINStore struct{ st PINState }

func (m *memPINStore) LoadPIN() (PINState, error) { return m.st, nil }
func (m *memPINStore) SavePIN(st PINState) error  { m.st = st; return nil }

// TestPINLockoutGrowsAndSurvivesRestart: the locks last 5 min, 15 min,
// 1 h, then 1 h; a restart (a new PINCheck over the same store, a new
// monotonic clock) neither resets the count nor lifts a lock; a right PIN
// resets both.
func TestPINLockoutGrowsAndSurvivesRestart(t *testing.T) {
	h, err := hashPIN("1234", zeros{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Unix(1_700_000_000, 0)
	st := &memPINStore{}
	open := func() *PINCheck {
		p, err := NewPINCheck(h, PINOptions{Store: st, Now: func() time.Time { return wall }})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	mono := time.Duration(0)
	advance := func(d time.Duration) { wall, mono = wall.Add(d), mono+d }
	p := open()
	for i, want := range []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, time.Hour} {
		for range 2 {
			p.Verify("0000", mono)
		}
		p = open() // a restart in the middle of the tries
		mono = 0
		for range 2 {
			p.Verify("0000", mono)
		}
		var le *LockedError
		if err := p.Verify("9999", mono); !errors.As(err, &le) || le.Remaining != want {
			t.Fatalf("lock %d: fifth wrong pin = %v; want locked for %v", i+1, err, want)
		}
		if st.st.Locks != i+1 || st.st.Until != wall.Unix()+int64(want/time.Second) {
			t.Fatalf("lock %d: stored %+v; want lock %d until +%v", i+1, st.st, i+1, want)
		}
		advance(want - time.Minute)
		p = open() // a restart does not lift the lock
		mono = 0
		if err := p.Verify("1234", mono); !errors.As(err, &le) || le.Remaining != time.Minute {
			t.Fatalf("lock %d: right pin after a restart = %v; want locked, 1m left", i+1, err)
		}
		advance(time.Minute)
	}
	if err := p.Verify("1234", mono); err != nil {
		t.Fatalf("right pin after the last lock = %v", err)
	}
	if st.st != (PINState{}) {
		t.Errorf("stored after a right pin = %+v; want reset", st.st)
	}
	for range 5 {
		p.Verify("0000", mono)
	}
	if st.st.Seconds != 300 {
		t.Errorf("first lock after a right pin lasts %ds; want 300", st.st.Seconds)
	}
}

// TestPINLockoutClockSetBack: a wall clock set back (an RTC-less board
// before NTP) restarts a stored lock in full instead of stretching it.
func TestPINLockoutClockSetBack(t *testing.T) {
	h, _ := hashPIN("1234", zeros{}, 1000)
	st := &memPINStore{PINState{Locks: 2, LockedAt: 1_700_000_000, Until: 1_700_000_900, Seconds: 900}}
	p, err := NewPINCheck(h, PINOptions{Store: st, Now: func() time.Time { return time.Unix(86400, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if err := p.Verify("1234", 0); !errors.As(err, &le) || le.Remaining != 15*time.Minute {
		t.Fatalf("Verify with the clock in 1970 = %v; want locked 15m", err)
	}
}

// FuzzNewPINCheck: any stored hash either fails with ErrBadPINHash or
// gives a check that verifies without panicking.
func FuzzNewPINCheck(f *testing.F) {
	good, _ := hashPIN("1234", zeros{}, 1000)
	f.Add(good)
	f.Add("pbkdf2-sha256$0$AAAA$AAAA")
	f.Add("pbkdf2-sha256$1$$")
	f.Fuzz(func(t *testing.T, h string) {
		p, err := NewPINCheck(h, PINOptions{})
		if err != nil {
			if !errors.Is(err, ErrBadPINHash) {
				t.Fatalf("NewPINCheck(%q) = %v; want ErrBadPINHash", h, err)
			}
			return
		}
		if p.iter > 2000 {
			return // a real iteration count: too slow to verify here
		}
		if err := p.Verify("0000", 0); err != nil && !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("Verify on %q = %v", h, err)
		}
	})
}
