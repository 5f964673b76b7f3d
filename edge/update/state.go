package update

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"laned/internal/atomicfile"
)

// Bounds of the persisted state.
const (
	maxHistory    = 32
	maxRolledBack = 16
)

// State is update/state.json: what the updater remembers across restarts.
type State struct {
	// Floor is the lowest version accepted without force: the last
	// committed version.
	Floor string `json:"floor,omitempty"`
	// Trial is the install on trial, if any.
	Trial *TrialInfo `json:"trial,omitempty"`
	// Last is the most recent event (install, commit, rollback, refusal).
	Last *Event `json:"last,omitempty"`
	// History holds the last installs, commits, rollbacks and failures,
	// oldest first, at most 32.
	History []Event `json:"history,omitempty"`
	// RolledBack lists the versions rolled back here, for the technician.
	RolledBack []string `json:"rolled_back,omitempty"`
	// RolledBackSHA256 lists the sha256 of every binary rolled back here:
	// the updater refuses these builds whatever version they are signed as.
	RolledBackSHA256 []string `json:"rolled_back_sha256,omitempty"`
}

// TrialInfo describes an install on trial.
type TrialInfo struct {
	Version  string `json:"version"`
	From     string `json:"from"`
	SHA256   string `json:"sha256,omitempty"` // of the binary on trial
	Started  int64  `json:"started"`          // UNIX seconds
	Attempts int    `json:"attempts"`
	Limit    int    `json:"limit"`
}

// Event kinds.
const (
	EventInstall  = "install"  // swapped in, on trial
	EventCommit   = "commit"   // health held for the trial period
	EventFail     = "fail"     // health check failed during a trial
	EventRollback = "rollback" // .prev swapped back
	EventRefused  = "refused"  // an update was refused (verification, version, space, self-test)
)

// Event is one entry of the audit history.
type Event struct {
	At      int64  `json:"at"` // UNIX seconds
	Kind    string `json:"kind"`
	Version string `json:"version,omitempty"`
	From    string `json:"from,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

func (s *State) record(e Event) {
	s.Last = &e
	s.History = append(s.History, e)
	if n := len(s.History) - maxHistory; n > 0 {
		s.History = append([]Event(nil), s.History[n:]...)
	}
}

// markRolledBack remembers a rolled-back build: its sha256 (what the
// updater refuses) and its version (what the technician reads).
func (s *State) markRolledBack(v, sha string) {
	s.RolledBack = appendBounded(s.RolledBack, v)
	if sha != "" {
		s.RolledBackSHA256 = appendBounded(s.RolledBackSHA256, sha)
	}
}

func appendBounded(list []string, x string) []string {
	for _, y := range list {
		if y == x {
			return list
		}
	}
	list = append(list, x)
	if n := len(list) - maxRolledBack; n > 0 {
		list = append([]string(nil), list[n:]...)
	}
	return list
}

// wasRolledBack reports whether the binary of sha256 sha was rolled back
// here; the version it is signed as does not matter.
func (s *State) wasRolledBack(sha string) bool {
	for _, x := range s.RolledBackSHA256 {
		if x == sha {
			return true
		}
	}
	return false
}

// layout names the files in the data directory.
type layout struct{ dir string }

func newLayout(dataDir string) layout { return layout{filepath.Join(dataDir, "update")} }

func (l layout) state() string      { return filepath.Join(l.dir, "state.json") }
func (l layout) marker() string     { return filepath.Join(l.dir, "trial") }
func (l layout) rolledback() string { return filepath.Join(l.dir, "rolledback") }
func (l layout) lock() string       { return filepath.Join(l.dir, "lock") }
func (l layout) dl() string         { return filepath.Join(l.dir, "dl") }

// TrialMarkerPath is the trial marker the guard script is given.
func TrialMarkerPath(dataDir string) string { return newLayout(dataDir).marker() }

// readIfThere reads the file at path, the update's what; ok is false when
// there is none.
func readIfThere(path, what string) (b []byte, ok bool, err error) {
	b, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("update: %s: %w", what, err)
	}
	return b, true, nil
}

func loadState(l layout) (State, error) {
	var s State
	b, ok, err := readIfThere(l.state(), "load state")
	if !ok || err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("update: load state: %w", err)
	}
	return s, nil
}

func saveState(l layout, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("update: save state: %w", err)
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("update: save state: %w", err)
	}
	if err := atomicfile.Write(l.state(), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("update: save state: %w", err)
	}
	return nil
}

// Marker is the trial marker: a key=value text file that the POSIX guard
// script reads and rewrites before every start.
type Marker struct {
	Version  string // the version on trial
	From     string // the version it replaced
	SHA256   string // of the binary on trial; a live binary that differs makes the marker stale
	Attempts int    // starts so far, counted by the guard
	Limit    int    // starts allowed; the start after the limit rolls back
	Started  int64  // UNIX seconds of the install
}

func (m Marker) encode() []byte {
	return fmt.Appendf(nil, "version=%s\nfrom=%s\nsha256=%s\nattempts=%d\nlimit=%d\nstarted=%d\n",
		m.Version, m.From, m.SHA256, m.Attempts, m.Limit, m.Started)
}

// parseKV parses key=value lines, at most 4 KiB, ignoring unknown keys.
func parseKV(b []byte) (map[string]string, error) {
	if len(b) > 4096 {
		return nil, fmt.Errorf("update: parse marker: %d bytes", len(b))
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("update: parse marker: line %q", line)
		}
		kv[k] = v
	}
	return kv, sc.Err()
}

func parseMarker(b []byte) (Marker, error) {
	kv, err := parseKV(b)
	if err != nil {
		return Marker{}, err
	}
	m := Marker{Version: kv["version"], From: kv["from"], SHA256: kv["sha256"]}
	var e1, e2, e3 error
	m.Attempts, e1 = strconv.Atoi(kv["attempts"])
	m.Limit, e2 = strconv.Atoi(kv["limit"])
	m.Started, e3 = strconv.ParseInt(kv["started"], 10, 64)
	if err := errors.Join(e1, e2, e3); err != nil || !ValidVersion(m.Version) || !validSHA(m.SHA256) || m.Attempts < 0 || m.Limit < 1 {
		return Marker{}, fmt.Errorf("update: parse marker: invalid fields")
	}
	return m, nil
}

func readMarker(path string) (*Marker, error) { return readParsed(path, "read marker", parseMarker) }

// readParsed reads the file at path, the update's what, with parse; nil
// when there is none.
func readParsed[T any](path, what string, parse func([]byte) (T, error)) (*T, error) {
	b, ok, err := readIfThere(path, what)
	if !ok || err != nil {
		return nil, err
	}
	v, err := parse(b)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// RollbackRecord is what the guard leaves in update/rolledback when it
// swapped .prev back; the next start absorbs it into the history.
type RollbackRecord struct {
	Version  string // the version rolled back
	From     string // the version restored
	SHA256   string // of the binary rolled back ("" from an older guard)
	Attempts int
	At       int64  // UNIX seconds
	Result   string // "rolledback", or "no-prev" when there was nothing to restore
}

func (r RollbackRecord) encode() []byte {
	return fmt.Appendf(nil, "version=%s\nfrom=%s\nsha256=%s\nattempts=%d\nat=%d\nresult=%s\n", r.Version, r.From, r.SHA256, r.Attempts, r.At, r.Result)
}

func readRollback(path string) (*RollbackRecord, error) {
	return readParsed(path, "read rollback record", parseRollback)
}

func parseRollback(b []byte) (RollbackRecord, error) {
	kv, err := parseKV(b)
	if err != nil {
		return RollbackRecord{}, err
	}
	r := RollbackRecord{Version: kv["version"], From: kv["from"], Result: kv["result"]}
	if validSHA(kv["sha256"]) {
		r.SHA256 = kv["sha256"]
	}
	r.Attempts, _ = strconv.Atoi(kv["attempts"])
	r.At, _ = strconv.ParseInt(kv["at"], 10, 64)
	return r, nil
}

// StatusReport is what `update status` prints.
type StatusReport struct {
	State           State
	Marker          *Marker         // the trial marker, if a trial is running
	PendingRollback *RollbackRecord // a rollback the guard did, not yet absorbed
}

// Status reads the update state of dataDir without changing anything.
func Status(dataDir string) (StatusReport, error) {
	l := newLayout(dataDir)
	s, err := loadState(l)
	if err != nil {
		return StatusReport{}, err
	}
	r := StatusReport{State: s}
	if r.Marker, err = readMarker(l.marker()); err != nil {
		return r, err
	}
	if r.PendingRollback, err = readRollback(l.rolledback()); err != nil {
		return r, err
	}
	return r, nil
}

// WriteTo prints the report for a technician, times in UTC.
func (r StatusReport) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	ts := func(u int64) string { return time.Unix(u, 0).UTC().Format(time.RFC3339) }
	fmt.Fprintf(&b, "floor: %s\n", orNone(r.State.Floor))
	switch {
	case r.Marker != nil:
		fmt.Fprintf(&b, "trial: %s (from %s) since %s, start %d of %d\n", r.Marker.Version, orNone(r.Marker.From), ts(r.Marker.Started), r.Marker.Attempts, r.Marker.Limit)
	case r.State.Trial != nil:
		fmt.Fprintf(&b, "trial: %s (from %s) since %s, not yet reconciled\n", r.State.Trial.Version, orNone(r.State.Trial.From), ts(r.State.Trial.Started))
	default:
		b.WriteString("trial: none\n")
	}
	if p := r.PendingRollback; p != nil {
		fmt.Fprintf(&b, "rollback: %s -> %s at %s after %d starts (%s)\n", p.Version, orNone(p.From), ts(p.At), p.Attempts, p.Result)
	}
	if r.State.Last != nil {
		fmt.Fprintf(&b, "last: %s\n", r.State.Last)
	}
	if len(r.State.RolledBack) > 0 {
		fmt.Fprintf(&b, "rolled back versions: %s\n", strings.Join(r.State.RolledBack, ", "))
	}
	for _, sha := range r.State.RolledBackSHA256 {
		fmt.Fprintf(&b, "refused build: sha256 %s\n", sha)
	}
	if len(r.State.History) > 0 {
		b.WriteString("history:\n")
		for _, e := range r.State.History {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (e Event) String() string {
	s := fmt.Sprintf("%s %s %s", time.Unix(e.At, 0).UTC().Format(time.RFC3339), e.Kind, orNone(e.Version))
	if e.From != "" {
		s += " (from " + e.From + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
