package cmbsim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The bank's side of contactless pay: agreements per plate, the AutoPay
// mode, payments made to fail.

// Answer statuses of the simulated platform's own refusals. The bank does
// not publish its codes; these are stable for tests. Protocol refusals
// (bad sign, wrong park, malformed field) use cmb's Status* codes.
const (
	StatusNoAgreement   = 1 // AutoPay: the plate has no contactless agreement
	StatusOverLimit     = 2 // AutoPay: amount above the agreement's limit
	StatusPaymentFailed = 3 // AutoPay, non-guaranteed: the driver's payment failed
	StatusNoSuchOrder   = 4 // PayOrderStatus: no such (charged) order
)

// Agreement is a contactless (无感) agreement: the plate may be charged by
// AutoPay up to Limit fen per payment.
type Agreement struct {
	Plate string `json:"plate"`
	Limit int64  `json:"limit"`
	Since int64  `json:"since"` // UNIX seconds
	// PostURL is where this plate's AutoPay is to be sent (autoPayBind's
	// post_url); empty: the platform's own /api/AutoPay.
	PostURL string `json:"post_url,omitempty"`
}

// AddAgreement creates or replaces the plate's contactless agreement.
func (s *Sim) AddAgreement(plate string, limit int64) error {
	if plate == "" {
		return errors.New("cmbsim: add agreement: empty plate")
	}
	if limit < 0 {
		return fmt.Errorf("cmbsim: add agreement: %w", ErrBadLimit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agreements[plate] = Agreement{Plate: plate, Limit: limit, Since: s.now().Unix()}
	return nil
}

// RemoveAgreement ends the plate's agreement; it reports whether there was
// one.
func (s *Sim) RemoveAgreement(plate string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.agreements[plate]
	delete(s.agreements, plate)
	return ok
}

// Agreements lists the agreements by plate.
func (s *Sim) Agreements() []Agreement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Agreement, 0, len(s.agreements))
	for _, a := range s.agreements {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Agreement) int { return strings.Compare(a.Plate, b.Plate) })
	return out
}

// SetGuaranteed switches between guaranteed (true) and non-guaranteed
// AutoPay.
func (s *Sim) SetGuaranteed(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guaranteed = on
}

// Guaranteed reports the AutoPay mode.
func (s *Sim) Guaranteed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.guaranteed
}

// FailPayments makes every later AutoPay for plate fail to collect (on) or
// succeed (off). In non-guaranteed mode the AutoPay is refused; in
// guaranteed mode it is still answered with success.
func (s *Sim) FailPayments(plate string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.failPay[plate] = true
	} else {
		delete(s.failPay, plate)
	}
}
