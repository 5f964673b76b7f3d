package update

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"laned/hal/clock"
	"laned/internal/atomicfile"
)

// guardRunner runs one guard implementation: the Go one or the shell script.
type guardRunner struct {
	name string
	run  func(t *testing.T, live, marker string)
}

func guardRunners(t *testing.T) []guardRunner {
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "laned-guard")
	rs := []guardRunner{{"go", func(t *testing.T, live, marker string) {
		t.Helper()
		if _, err := Guard(live, marker, t0); err != nil {
			t.Fatalf("Guard = %v", err)
		}
	}}}
	if _, err := os.Stat("/bin/sh"); err == nil {
		rs = append(rs, guardRunner{"sh", func(t *testing.T, live, marker string) {
			t.Helper()
			out, err := exec.Command("/bin/sh", script, live, marker).CombinedOutput()
			if err != nil {
				t.Fatalf("laned-guard: %v: %s", err, out)
			}
			t.Logf("laned-guard: %s", strings.TrimSpace(string(out)))
		}})
	} else {
		t.Logf("no /bin/sh: the shell guard is not exercised here")
	}
	return rs
}

// trialLayout installs "new" over "old" with a marker allowing limit starts.
func trialLayout(t *testing.T, limit int, withPrev bool) (live, marker, data string) {
	dir := t.TempDir()
	live, data = filepath.Join(dir, "laned"), filepath.Join(dir, "data")
	os.WriteFile(live, []byte("new binary"), 0o755)
	if withPrev {
		os.WriteFile(live+".prev", []byte("old binary"), 0o755)
	}
	marker = TrialMarkerPath(data)
	os.MkdirAll(filepath.Dir(marker), 0o755)
	m := Marker{Version: "v1.1.0", From: "v1.0.0", SHA256: sum([]byte("new binary")), Limit: limit, Started: t0.Unix()}
	if err := atomicfile.Write(marker, m.encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	return live, marker, data
}

func TestGuardRollsBackAfterLimit(t *testing.T) {
	for _, g := range guardRunners(t) {
		t.Run(g.name, func(t *testing.T) {
			live, marker, data := trialLayout(t, 2, true)
			for start := 1; start <= 2; start++ {
				g.run(t, live, marker)
				mk, err := readMarker(marker)
				if err != nil || mk == nil || mk.Attempts != start {
					t.Fatalf("after start %d: marker = %+v, %v; want attempts %d", start, mk, err, start)
				}
				if b, _ := os.ReadFile(live); string(b) != "new binary" {
					t.Fatalf("after start %d: live = %q; want the new binary", start, b)
				}
			}
			g.run(t, live, marker) // the third start: past the limit
			if b, _ := os.ReadFile(live); string(b) != "old binary" {
				t.Fatalf("live = %q; want the old binary back", b)
			}
			if b, _ := os.ReadFile(live + ".failed"); string(b) != "new binary" {
				t.Errorf("live.failed = %q; want the failed binary kept", b)
			}
			if _, err := os.Stat(marker); !os.IsNotExist(err) {
				t.Errorf("marker still there: %v", err)
			}
			rb, err := readRollback(filepath.Join(filepath.Dir(marker), "rolledback"))
			if err != nil || rb == nil || rb.Version != "v1.1.0" || rb.From != "v1.0.0" || rb.Attempts != 2 || rb.Result != "rolledback" {
				t.Fatalf("rollback record = %+v, %v", rb, err)
			}
			// The old binary starts: the guard does nothing, the trial
			// reconciles and audits the rollback.
			g.run(t, live, marker)
			tr, err := OpenTrial(data, selfOf("v1.0.0", "new binary"), clock.NewFake(t0), nil)
			if err != nil || tr.Active() {
				t.Fatalf("OpenTrial = %+v, %v; want inactive", tr, err)
			}
			s := mustState(t, data)
			if s.Last == nil || s.Last.Kind != EventRollback || s.Last.Version != "v1.1.0" || !s.wasRolledBack(sum([]byte("new binary"))) {
				t.Errorf("state = %+v; want the rollback audited", s)
			}
			r, _ := Status(data)
			var out bytes.Buffer
			r.WriteTo(&out)
			if !strings.Contains(out.String(), "rollback v1.1.0 (from v1.0.0)") {
				t.Errorf("Status printed %q; want the rollback", out.String())
			}
		})
	}
}

func TestGuardStaleAndNoPrev(t *testing.T) {
	for _, g := range guardRunners(t) {
		// A marker the guard drops, leaving live as it is.
		for _, tc := range []struct {
			name     string
			spoil    func(live, marker string)
			wantLive string
		}{
			{"stale", func(live, _ string) { os.WriteFile(live, []byte("old binary"), 0o755) }, "old binary"}, // the rename never happened
			{"garbage marker", func(_, marker string) { os.WriteFile(marker, []byte("attempts=x\n"), 0o644) }, "new binary"},
		} {
			t.Run(g.name+"/"+tc.name, func(t *testing.T) {
				live, marker, _ := trialLayout(t, 1, true)
				tc.spoil(live, marker)
				g.run(t, live, marker)
				if _, err := os.Stat(marker); !os.IsNotExist(err) {
					t.Errorf("%s: marker kept: %v", tc.name, err)
				}
				if b, _ := os.ReadFile(live); string(b) != tc.wantLive {
					t.Errorf("live = %q; want untouched", b)
				}
			})
		}
		t.Run(g.name+"/no prev", func(t *testing.T) {
			live, marker, _ := trialLayout(t, 1, false)
			g.run(t, live, marker)
			g.run(t, live, marker)
			if b, _ := os.ReadFile(live); string(b) != "new binary" {
				t.Errorf("live = %q; want the only binary kept", b)
			}
			rb, _ := readRollback(filepath.Join(filepath.Dir(marker), "rolledback"))
			if rb == nil || rb.Result != "no-prev" {
				t.Errorf("rollback record = %+v; want no-prev", rb)
			}
		})
		t.Run(g.name+"/no marker", func(t *testing.T) {
			live, marker, _ := trialLayout(t, 1, true)
			os.Remove(marker)
			g.run(t, live, marker)
			if b, _ := os.ReadFile(live); string(b) != "new binary" {
				t.Errorf("live = %q; want untouched", b)
			}
		})
	}
}

func TestTrialHold(t *testing.T) {
	tests := []struct {
		name      string
		failAt    int // health fails at this call (0: never)
		wantErr   error
		wantFloor string
	}{
		{"holds", 0, nil, "v1.1.0"},
		{"fails at once", 1, ErrHealth, ""},
		{"fails later", 3, ErrHealth, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, marker, data := trialLayout(t, 3, true)
			Guard(live, marker, t0)
			fake := clock.NewFake(t0)
			tr, err := OpenTrial(data, selfOf("v1.1.0", "new binary"), fake, nil)
			if err != nil || !tr.Active() || tr.Version() != "v1.1.0" {
				t.Fatalf("OpenTrial = %v, %v; want active v1.1.0", tr, err)
			}
			calls := 0
			health := func(context.Context) error {
				calls++
				if calls == tt.failAt {
					return errors.New("lane 1 down")
				}
				return nil
			}
			done := make(chan error)
			go func() { done <- tr.Hold(context.Background(), health, time.Minute, 10*time.Second) }()
			var herr error
		loop:
			for {
				select {
				case herr = <-done:
					break loop
				default:
				}
				if fake.Pending() > 0 {
					fake.Advance(10 * time.Second)
				} else {
					time.Sleep(time.Millisecond)
				}
			}
			if !errors.Is(herr, tt.wantErr) && !(herr == nil && tt.wantErr == nil) {
				t.Fatalf("Hold = %v; want %v", herr, tt.wantErr)
			}
			s := mustState(t, data)
			if s.Floor != tt.wantFloor {
				t.Errorf("floor = %q; want %q", s.Floor, tt.wantFloor)
			}
			_, mErr := os.Stat(marker)
			if tt.wantErr == nil {
				if calls != 7 {
					t.Errorf("health called %d times over 1m every 10s; want 7", calls)
				}
				if !os.IsNotExist(mErr) || s.Last.Kind != EventCommit {
					t.Errorf("after commit: marker err %v, last %+v", mErr, s.Last)
				}
				return
			}
			if mErr != nil || s.Last.Kind != EventFail || !strings.Contains(s.Last.Detail, "lane 1 down") {
				t.Errorf("after failure: marker err %v, last %+v; want marker kept and failure audited", mErr, s.Last)
			}
		})
	}
}

func TestOpenTrialReconciles(t *testing.T) {
	t.Run("marker of another binary is stale", func(t *testing.T) {
		_, marker, data := trialLayout(t, 3, true)
		tr, err := OpenTrial(data, selfOf("v1.0.0", "old binary"), clock.NewFake(t0), nil)
		if err != nil || tr.Active() {
			t.Fatalf("OpenTrial = %v; want inactive", err)
		}
		if _, err := os.Stat(marker); !os.IsNotExist(err) {
			t.Errorf("stale marker kept")
		}
	})
	t.Run("the binary on trial is recognised by sha256, not version", func(t *testing.T) {
		// A binary stamped v2.0.0 installed as v1.1.0 is still on trial:
		// its marker is kept, so the guard counts its starts.
		_, marker, data := trialLayout(t, 3, true)
		tr, err := OpenTrial(data, selfOf("v2.0.0", "new binary"), clock.NewFake(t0), nil)
		if err != nil || !tr.Active() {
			t.Fatalf("OpenTrial = %v, active %v; want the trial active", err, tr != nil && tr.Active())
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("marker of the running binary removed: %v", err)
		}
	})
	t.Run("a rollback record from an older guard takes the trial's sha256", func(t *testing.T) {
		_, _, data := trialLayout(t, 3, true)
		l := newLayout(data)
		saveState(l, State{Trial: &TrialInfo{Version: "v1.1.0", From: "v1.0.0", SHA256: sum([]byte("new binary"))}})
		os.WriteFile(l.rolledback(), []byte("version=v1.1.0\nfrom=v1.0.0\nattempts=3\nat=1\nresult=rolledback\n"), 0o644)
		os.Remove(l.marker())
		if _, err := OpenTrial(data, selfOf("v1.0.0", "old binary"), clock.NewFake(t0), nil); err != nil {
			t.Fatal(err)
		}
		if s := mustState(t, data); !s.wasRolledBack(sum([]byte("new binary"))) {
			t.Errorf("state = %+v; want the build's sha256 refused", s)
		}
	})
	t.Run("commit that did not reach the state", func(t *testing.T) {
		_, marker, data := trialLayout(t, 3, true)
		saveState(newLayout(data), State{Floor: "v1.0.0", Trial: &TrialInfo{Version: "v1.1.0", From: "v1.0.0"}})
		os.Remove(marker)
		if _, err := OpenTrial(data, selfOf("v1.1.0", "new binary"), clock.NewFake(t0), nil); err != nil {
			t.Fatal(err)
		}
		if s := mustState(t, data); s.Floor != "v1.1.0" || s.Trial != nil {
			t.Errorf("state = %+v; want committed v1.1.0", s)
		}
	})
}

func TestStateHistoryBounded(t *testing.T) {
	var s State
	for i := range 100 {
		s.record(Event{At: int64(i), Kind: EventRefused})
		v := string(rune('a'+i%26)) + "x" + string(rune('a'+i/26))
		s.markRolledBack(v, sum([]byte(v)))
	}
	if len(s.History) != maxHistory || s.History[maxHistory-1].At != 99 {
		t.Errorf("history len %d last %+v; want %d ending at 99", len(s.History), s.History[len(s.History)-1], maxHistory)
	}
	if len(s.RolledBack) != maxRolledBack || len(s.RolledBackSHA256) != maxRolledBack {
		t.Errorf("rolled back len %d, %d; want %d", len(s.RolledBack), len(s.RolledBackSHA256), maxRolledBack)
	}
}

// selfOf is a running build whose binary holds content.
func selfOf(version, content string) Self {
	return Self{Version: version, SHA256: func() (string, error) { return sum([]byte(content)), nil }}
}
