package cmbsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"laned/cmb"
)

// The bank's own ways, as the original document and the field describe
// them: how fast AutoPay answers in each mode (§6.12), Indata and
// AutoPayStatus answers that carry no contactless status (§3.4: data is
// absent when there is nothing to return; returning it in Indata is
// optional since rev 1.5), a pay notice of its own for a contactless
// payment (§4.2: "扫码支付、车牌支付与无感支付都会下发"), and AutoPay served at
// a binding's post_url (§4.3).

// ContactlessAnswers is how Indata and AutoPayStatus answers carry a
// plate's agreement.
type ContactlessAnswers string

// The ways of answering.
const (
	// ContactlessFull answers data {uid, limit} (uid 0 without an agreement).
	ContactlessFull ContactlessAnswers = ""
	// ContactlessNoData answers cmb.StatusOK without data.
	ContactlessNoData ContactlessAnswers = "no-data"
	// ContactlessNoUID answers data without uid (only the limit, if any).
	ContactlessNoUID ContactlessAnswers = "no-uid"
	// ContactlessIndataNoData answers Indata without data and
	// AutoPayStatus in full (Indata's status is optional, §5.3).
	ContactlessIndataNoData ContactlessAnswers = "indata-no-data"
)

// Valid reports a known way.
func (c ContactlessAnswers) Valid() bool {
	return c == ContactlessFull || c == ContactlessNoData || c == ContactlessNoUID || c == ContactlessIndataNoData
}

// NoticeTiming is when the bank sends its pay notice for a contactless
// payment.
type NoticeTiming string

// The timings.
const (
	NoticeNone   NoticeTiming = ""       // no notice
	NoticeBefore NoticeTiming = "before" // while the AutoPay answer is still to go
	NoticeAfter  NoticeTiming = "after"  // once the AutoPay answer went
)

// Valid reports a known timing.
func (n NoticeTiming) Valid() bool { return n == NoticeNone || n == NoticeBefore || n == NoticeAfter }

// PostPath is where the simulator also serves AutoPay, for bindings whose
// post_url names it: {sim}/pay/AutoPay.
const PostPath = "/pay/AutoPay"

type bankState struct {
	chargeDelay time.Duration
	contactless ContactlessAnswers
	notice      NoticeTiming
	held        chan struct{} // closed by ReleaseHeld; replaced then
}

// SetChargeDelay sets how long a non-guaranteed AutoPay takes before its
// answer.
func (s *Sim) SetChargeDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bank.chargeDelay = max(d, 0)
}

// SetContactlessAnswers sets how Indata and AutoPayStatus answers carry
// the agreement.
func (s *Sim) SetContactlessAnswers(c ContactlessAnswers) error {
	if !c.Valid() {
		return fmt.Errorf("cmbsim: contactless answers %q: want %q, %q, %q or %q", c, ContactlessFull, ContactlessNoData, ContactlessNoUID, ContactlessIndataNoData)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bank.contactless = c
	return nil
}

// SetPayNotice sets when the bank sends a pay notice for a contactless
// payment.
func (s *Sim) SetPayNotice(n NoticeTiming) error {
	if !n.Valid() {
		return fmt.Errorf("cmbsim: pay notice %q: want %q, %q or %q", n, NoticeNone, NoticeBefore, NoticeAfter)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bank.notice = n
	return nil
}

// AddAgreementURL is AddAgreement with the post_url the plate's AutoPay is
// to be sent to.
func (s *Sim) AddAgreementURL(plate string, limit int64, postURL string) error {
	if err := s.AddAgreement(plate, limit); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agreements[plate]
	a.PostURL = postURL
	s.agreements[plate] = a
	return nil
}

// ReleaseHeld lets every answer held by a Hold fault go.
func (s *Sim) ReleaseHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bank.held != nil {
		close(s.bank.held)
		s.bank.held = nil
	}
}

// heldLocked is the channel a Hold fault waits on.
func (s *Sim) heldLocked() chan struct{} {
	if s.bank.held == nil {
		s.bank.held = make(chan struct{})
	}
	return s.bank.held
}

// contactlessAnswerLocked is the data of an Indata or AutoPayStatus answer
// for plate: nil (absent) or a JSON object.
func (s *Sim) contactlessAnswerLocked(ep, plate string) any {
	a := s.contactlessLocked(plate)
	switch s.bank.contactless {
	case ContactlessIndataNoData:
		if ep == cmb.EpIndata {
			return nil
		}
	case ContactlessNoData:
		return nil
	case ContactlessNoUID:
		out := map[string]int64{}
		if a.Contactless() {
			out["limit"] = a.Limit
		}
		return out
	}
	return a
}

// notice is a pay notice the bank owes the lane after an AutoPay answer.
type notice struct {
	timing NoticeTiming
	pay    PayNotice
}

// contactlessNoticeLocked is the notice for a newly charged, collected
// order, if the bank sends one.
func (s *Sim) contactlessNoticeLocked(o *Order) *notice {
	if s.bank.notice == NoticeNone || !o.Charged || !o.Collected {
		return nil
	}
	return &notice{timing: s.bank.notice, pay: PayNotice{
		Plate: o.Plate, RecordID: o.RecordID, Amount: o.Amount, PayType: int(cmb.PayCMB),
		PayTime: o.PayTime, Order: s.newIDLocked("NTC"),
	}}
}

// sendNotice sends a contactless payment's pay notice; a failure is the
// lane's answer, recorded in Sent.
func (s *Sim) sendNotice(ctx context.Context, n *notice) {
	if n == nil || s.cfg.LaneURL == "" {
		return
	}
	_, _ = s.Pay(ctx, n.pay)
}

// flush pushes a written answer to the client before the handler goes on.
func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

// checkPostURLLocked notes an AutoPay that did not go where the plate's
// binding said (post_url), as an order violation.
func (s *Sim) checkPostURLLocked(u Uplink) {
	a, ok := s.agreements[u.Plate]
	if !ok || a.PostURL == "" {
		return
	}
	want := a.PostURL
	if pu, err := url.Parse(a.PostURL); err == nil {
		want = pu.Path
	}
	if u.Path != want {
		s.violateLocked(u.Seq, cmb.EpAutoPay, u.RecordID, "AutoPay sent to "+u.Path+"; the plate's post_url is "+a.PostURL)
	}
}

// bankJSON is the bank's ways on the admin API.
type bankJSON struct {
	ChargeDelayMS *float64            `json:"charge_delay_ms,omitempty"`
	Contactless   *ContactlessAnswers `json:"contactless,omitempty"`
	PayNotice     *NoticeTiming       `json:"pay_notice,omitempty"`
}

func (s *Sim) bankJSON() bankJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := float64(s.bank.chargeDelay) / float64(time.Millisecond)
	c, n := s.bank.contactless, s.bank.notice
	return bankJSON{ChargeDelayMS: &ms, Contactless: &c, PayNotice: &n}
}

func (s *Sim) adminSetBank(w http.ResponseWriter, r *http.Request) {
	var in bankJSON
	if !readJSON(w, r, &in) {
		return
	}
	if in.ChargeDelayMS != nil && *in.ChargeDelayMS < 0 {
		writeError(w, http.StatusBadRequest, errors.New("charge_delay_ms must be ≥ 0"))
		return
	}
	if in.Contactless != nil {
		if err := s.SetContactlessAnswers(*in.Contactless); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	if in.PayNotice != nil {
		if err := s.SetPayNotice(*in.PayNotice); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
	}
	if in.ChargeDelayMS != nil {
		s.SetChargeDelay(time.Duration(*in.ChargeDelayMS * float64(time.Millisecond)))
	}
	writeJSON(w, http.StatusOK, s.bankJSON())
}
