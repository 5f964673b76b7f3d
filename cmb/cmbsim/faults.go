package cmbsim

import (
	"fmt"
	"strings"
	"time"

	"laned/cmb"
)

// Faults: what the simulator does wrong on an endpoint, set by tests and
// the admin API.

// AllEndpoints is the fault key that applies to every uplink endpoint
// without a fault of its own.
const AllEndpoints = "*"

// Fault is what the simulator does wrong on an endpoint. The zero Fault is
// no fault. When several are set: Down wins, then Status; otherwise the
// request is processed, the answer waits Delay, and then Cut or Malformed
// spoil it.
type Fault struct {
	// Down answers HTTP 503 without processing the request.
	Down bool `json:"down,omitempty"`
	// Delay holds the answer this long (real time, cut short when the
	// client goes away). The request is processed before the wait: a
	// client that gives up has an outcome-unknown request that took effect.
	Delay time.Duration `json:"-"`
	// Hold processes the request, then holds the answer until
	// ReleaseHeld (or Close): a test sees the request arrive and acts
	// before the answer goes, without timing anything.
	Hold bool `json:"hold,omitempty"`
	// Cut processes the request, then closes the connection without an
	// answer: the outcome-unknown case (an AutoPay IS charged).
	Cut bool `json:"cut,omitempty"`
	// Malformed processes the request, then answers with a body that is
	// not JSON.
	Malformed bool `json:"malformed,omitempty"`
	// Status ≠ cmb.StatusOK refuses the request with this status without
	// processing.
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Times limits the fault to the next Times requests; 0 = until cleared.
	Times int `json:"times,omitempty"`
}

// String lists the fault's parts, e.g. "cut,times=2", or "none".
func (f Fault) String() string {
	var parts []string
	if f.Down {
		parts = append(parts, "down")
	}
	if f.Delay > 0 {
		parts = append(parts, "delay="+f.Delay.String())
	}
	if f.Hold {
		parts = append(parts, "hold")
	}
	if f.Cut {
		parts = append(parts, "cut")
	}
	if f.Malformed {
		parts = append(parts, "malformed")
	}
	if f.Status != cmb.StatusOK {
		parts = append(parts, fmt.Sprintf("status=%d", f.Status))
	}
	if len(parts) == 0 {
		return "none"
	}
	if f.Times > 0 {
		parts = append(parts, fmt.Sprintf("times=%d", f.Times))
	}
	return strings.Join(parts, ",")
}

// isZero reports no fault.
func (f Fault) isZero() bool {
	return !f.Down && f.Delay <= 0 && !f.Hold && !f.Cut && !f.Malformed && f.Status == cmb.StatusOK
}

type faultState struct {
	Fault
	used int
}

// SetFault sets endpoint's fault (AllEndpoints for every uplink without its
// own); a zero Fault clears it.
func (s *Sim) SetFault(endpoint string, f Fault) error {
	ep, ok := canonicalEndpoint(endpoint)
	if !ok && endpoint != AllEndpoints {
		return fmt.Errorf("cmbsim: set fault %q: %w", endpoint, ErrUnknownEndpoint)
	}
	if endpoint == AllEndpoints {
		ep = AllEndpoints
	}
	if f.Times < 0 {
		return fmt.Errorf("cmbsim: set fault %q: times must be ≥ 0", endpoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.isZero() {
		delete(s.faults, ep)
		return nil
	}
	s.faults[ep] = &faultState{Fault: f}
	return nil
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]*faultState{}
}

// Faults returns the faults in force, by endpoint; Times counts down the
// requests left.
func (s *Sim) Faults() map[string]Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Fault, len(s.faults))
	for ep, f := range s.faults {
		g := f.Fault
		if g.Times > 0 {
			g.Times -= f.used
		}
		out[ep] = g
	}
	return out
}

// takeFault returns the fault for one request to ep and uses it up.
func (s *Sim) takeFaultLocked(ep string) Fault {
	f, ok := s.faults[ep]
	if !ok {
		f, ok = s.faults[AllEndpoints]
		ep = AllEndpoints
	}
	if !ok {
		return Fault{}
	}
	f.used++
	if f.Times > 0 && f.used >= f.Times {
		delete(s.faults, ep)
	}
	return f.Fault
}
