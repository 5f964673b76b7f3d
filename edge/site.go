package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"laned/cmb"
)

// A box of a site (issue 18). The bank calls one box, the gateway; what
// only a lane's live state can answer (calc by out_code, NoVpln) is asked
// of the box that owns the lane, over the site's request/reply; the rest
// (calc by plate, pay notices, bindings) is answered from the gateway's
// own store, which holds every box's records. edge knows the site only
// through SiteRequester and the handlers it serves: the transport is the
// appliance's business.

// ExitCalcSubject is the subject the owner of exit outCode serves calc on.
func ExitCalcSubject(outCode int) string { return "laned.exit." + strconv.Itoa(outCode) + ".calc" }

// EntryNoVplnSubject is the subject the owner of entry inCode serves
// NoVpln on.
func EntryNoVplnSubject(inCode int) string {
	return "laned.entry." + strconv.Itoa(inCode) + ".novpln"
}

// SiteRequester asks the box that serves subject. Any error means no
// answer came (no box serves it, it is cut off, the budget ran out).
type SiteRequester interface {
	Request(ctx context.Context, subject string, req []byte) ([]byte, error)
}

// SiteHandler answers another box's request.
type SiteHandler func(ctx context.Context, req []byte) ([]byte, error)

// Answers when the lane's box does not answer: both ask the bank to try
// again (calc's status 1 is "cannot be reached"; NoVpln's 1 is failure).
const (
	siteUnreachable = "lane's box unreachable: try again"
	// maxSiteMessage bounds a remote answer's message.
	maxSiteMessage = 256
	// maxSiteBody bounds a request or reply on the wire, as the callback
	// server bounds a callback's body.
	maxSiteBody = cmb.DefaultMaxBody
)

// DefaultSiteTimeout is the budget of a request to a lane's box.
const DefaultSiteTimeout = 300 * time.Millisecond

// siteReply is an answer on the wire: the callback's status, message
// and data as the owner's Controller gave them.
type siteReply struct {
	Status  int             `json:"status"`
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Router is the cmb.Handler of a box of a site: calc by plate, pay
// notices and bindings are answered by this box's Controller (its store
// holds the site's records); calc by out_code and NoVpln of a lane of
// this box too, and of another box's lane by a request to that box.
type Router struct {
	c       *Controller
	node    SiteRequester
	timeout time.Duration
}

var _ cmb.Handler = (*Router)(nil)

// SiteRouter returns the Router of c asking other boxes through node,
// each request within timeout (0: DefaultSiteTimeout).
func (c *Controller) SiteRouter(node SiteRequester, timeout time.Duration) *Router {
	if timeout <= 0 {
		timeout = DefaultSiteTimeout
	}
	return &Router{c: c, node: node, timeout: timeout}
}

// Calc answers by plate locally and by out_code where the exit is.
func (r *Router) Calc(ctx context.Context, req cmb.CalcRequest) (cmb.CalcAnswer, error) {
	if req.OutCode == nil || r.c.laneByCode(Exit, *req.OutCode) != nil {
		return r.c.Calc(ctx, req)
	}
	v, err := req.Values()
	if err != nil {
		return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.StatusMalformed, Message: err.Error()}
	}
	subject := ExitCalcSubject(*req.OutCode)
	rep, ok := r.ask(ctx, subject, v)
	if !ok {
		return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcUnavailable, Message: siteUnreachable}
	}
	var a cmb.CalcAnswer
	if len(rep.Data) > 0 {
		if a, err = cmb.DecodeCalcAnswer(rep.Data); err != nil {
			r.c.log.Error("site: calc: the lane's box answered garbage", "subject", subject, "err", err)
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcUnavailable, Message: siteUnreachable}
		}
	}
	if rep.Status != cmb.StatusOK {
		return a, &cmb.AnswerError{Status: rep.Status, Message: rep.Message}
	}
	return a, nil
}

// Pay records the notice in this box's store: the replication carries
// the payment to the box whose exit the vehicle waits at.
func (r *Router) Pay(ctx context.Context, req cmb.PayRequest) error { return r.c.Pay(ctx, req) }

// AutoPayBind records the binding here; it replicates.
func (r *Router) AutoPayBind(ctx context.Context, req cmb.AutoPayBindRequest) error {
	return r.c.AutoPayBind(ctx, req)
}

// AutoPayUnbind records the unbinding here; it replicates.
func (r *Router) AutoPayUnbind(ctx context.Context, req cmb.AutoPayUnbindRequest) error {
	return r.c.AutoPayUnbind(ctx, req)
}

// NoVpln admits at an entry of this box, or asks the entry's box.
func (r *Router) NoVpln(ctx context.Context, req cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
	if r.c.laneByCode(Entry, req.InCode) != nil {
		return r.c.NoVpln(ctx, req)
	}
	v, err := req.Values()
	if err != nil {
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: cmb.StatusMalformed, Message: err.Error()}
	}
	subject := EntryNoVplnSubject(req.InCode)
	rep, ok := r.ask(ctx, subject, v)
	if !ok {
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: cmb.StatusFailed, Message: siteUnreachable}
	}
	if rep.Status != cmb.StatusOK {
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: rep.Status, Message: rep.Message}
	}
	a, err := cmb.DecodeNoVplnAnswer(rep.Data)
	if err != nil {
		// The entry may have admitted the vehicle: the bank's retry is
		// answered by the record the admission made.
		r.c.log.Error("site: NoVpln: the lane's box answered garbage", "subject", subject, "err", err)
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: cmb.StatusFailed, Message: siteUnreachable}
	}
	return a, nil
}

// ask sends the form v to subject within the budget and decodes the
// reply; false when no usable reply came.
func (r *Router) ask(ctx context.Context, subject string, v url.Values) (siteReply, bool) {
	body, err := json.Marshal(v)
	if err != nil {
		r.c.log.Error("site: encode", "subject", subject, "err", err)
		return siteReply{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, err := r.node.Request(ctx, subject, body)
	if err != nil {
		r.c.log.Warn("site: the lane's box did not answer", "subject", subject, "err", err)
		return siteReply{}, false
	}
	rep, err := decodeSiteReply(b)
	if err != nil {
		r.c.log.Error("site: the lane's box answered garbage", "subject", subject, "err", err)
		return siteReply{}, false
	}
	return rep, true
}

// decodeSiteReply reads and checks a reply.
func decodeSiteReply(b []byte) (siteReply, error) {
	if len(b) > maxSiteBody {
		return siteReply{}, fmt.Errorf("reply of %d bytes: more than %d", len(b), maxSiteBody)
	}
	var rep siteReply
	if err := json.Unmarshal(b, &rep); err != nil {
		return siteReply{}, fmt.Errorf("reply: %w", err)
	}
	switch {
	case rep.Status < 0 || rep.Status > 999:
		return siteReply{}, fmt.Errorf("reply: status %d out of range", rep.Status)
	case len(rep.Message) > maxSiteMessage || !utf8.ValidString(rep.Message):
		return siteReply{}, errors.New("reply: message too long or not UTF-8")
	case rep.Status == cmb.StatusOK && len(rep.Data) == 0:
		return siteReply{}, errors.New("reply: success without data")
	case rep.Status != cmb.StatusOK && rep.Message == "":
		return siteReply{}, fmt.Errorf("reply: status %d without a message", rep.Status)
	}
	return rep, nil
}

// decodeSiteForm reads a request's form.
func decodeSiteForm(b []byte) (url.Values, error) {
	if len(b) > maxSiteBody {
		return nil, fmt.Errorf("request of %d bytes: more than %d", len(b), maxSiteBody)
	}
	var v url.Values
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	return v, nil
}

// SiteHandlers returns what this box serves to the others: calc of each
// of its exits and NoVpln of each of its entries, by subject. Every
// request is checked as the callback server checks a callback's form
// (and its park and lane against the subject's) before the Controller
// sees it; a refusal is a reply with the callback's status, never a
// change.
func (c *Controller) SiteHandlers() map[string]SiteHandler {
	hs := map[string]SiteHandler{}
	for _, l := range c.lanes {
		code := l.cfg.Code
		if l.cfg.Kind == Exit {
			hs[ExitCalcSubject(code)] = func(ctx context.Context, b []byte) ([]byte, error) {
				return c.serveCalc(ctx, code, b), nil
			}
			continue
		}
		hs[EntryNoVplnSubject(code)] = func(ctx context.Context, b []byte) ([]byte, error) {
			return c.serveNoVpln(ctx, code, b), nil
		}
	}
	return hs
}

func (c *Controller) serveCalc(ctx context.Context, code int, b []byte) []byte {
	v, err := decodeSiteForm(b)
	if err != nil {
		return c.siteRefusal("calc", cmb.StatusMalformed, err)
	}
	req, err := cmb.DecodeCalcRequest(v)
	switch {
	case err != nil:
		return c.siteRefusal("calc", cmb.StatusMalformed, err)
	case req.ParkCode != c.cfg.ParkCode:
		return c.siteRefusal("calc", cmb.StatusWrongPark, fmt.Errorf("park_code %d is not this car park's", req.ParkCode))
	case req.OutCode == nil || *req.OutCode != code:
		return c.siteRefusal("calc", cmb.StatusMalformed, fmt.Errorf("asked for exit %d with another out_code", code))
	}
	a, err := c.Calc(ctx, req)
	var ae *cmb.AnswerError
	noOrder := errors.As(err, &ae) && ae.Status == cmb.CalcNoRecord
	var data []byte
	if !a.IsZero() || noOrder {
		data, _ = a.MarshalJSON()
	}
	return c.siteReply("calc", data, err)
}

func (c *Controller) serveNoVpln(ctx context.Context, code int, b []byte) []byte {
	v, err := decodeSiteForm(b)
	if err != nil {
		return c.siteRefusal("NoVpln", cmb.StatusMalformed, err)
	}
	req, err := cmb.DecodeNoVplnRequest(v)
	switch {
	case err != nil:
		return c.siteRefusal("NoVpln", cmb.StatusMalformed, err)
	case req.ParkCode != c.cfg.ParkCode:
		return c.siteRefusal("NoVpln", cmb.StatusWrongPark, fmt.Errorf("park_code %d is not this car park's", req.ParkCode))
	case req.InCode != code:
		return c.siteRefusal("NoVpln", cmb.StatusMalformed, fmt.Errorf("asked for entry %d with another in_code", code))
	}
	a, err := c.NoVpln(ctx, req)
	var data []byte
	if err == nil {
		data, _ = a.MarshalJSON()
	}
	return c.siteReply("NoVpln", data, err)
}

// siteRefusal answers a request that never reached the Controller.
func (c *Controller) siteRefusal(what string, status int, err error) []byte {
	c.log.Warn("site: request refused", "endpoint", what, "status", status, "err", err)
	return mustJSON(siteReply{Status: status, Message: truncUTF8(err.Error())})
}

// siteReply encodes the Controller's answer as the callback server would.
func (c *Controller) siteReply(what string, data []byte, err error) []byte {
	rep := siteReply{Data: data}
	var ae *cmb.AnswerError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Status != cmb.StatusOK:
		rep.Status, rep.Message = ae.Status, truncUTF8(ae.Message)
	default:
		c.log.Error("site: handler failed", "endpoint", what, "err", err)
		rep = siteReply{Status: cmb.StatusInternal, Message: "internal error"}
	}
	return mustJSON(rep)
}

// truncUTF8 cuts s to maxSiteMessage bytes on a rune boundary.
func truncUTF8(s string) string {
	if len(s) <= maxSiteMessage {
		return s
	}
	s = s[:maxSiteMessage]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // siteReply always encodes
	}
	return b
}

// LaneCodes returns this box's entries' in_codes and exits' out_codes
// (the site's heartbeat announces them).
func (c *Controller) LaneCodes() (entries, exits []int) {
	for _, l := range c.lanes {
		if l.cfg.Kind == Exit {
			exits = append(exits, l.cfg.Code)
		} else {
			entries = append(entries, l.cfg.Code)
		}
	}
	return entries, exits
}

// SiteApplied is told what another box's changes, just applied to this
// box's store, touched: records inserted or changed, and records that got
// a new payment. A payment for a record waiting at one of this box's
// exits lets it out exactly as a local pay notice does; a changed record
// that is the entry of one of this box's no-entry exits is matched to it
// (MatchEntries); otherwise it needs nothing more (every lookup reads the
// store) than a recount of the free spaces. A dispatcher holding an uplink
// behind another box's (dispatch_site.go) looks again: the batch may hold
// that box's uplink_done. Safe to call from any goroutine.
func (c *Controller) SiteApplied(records, paid []string) {
	c.out.replApplied()
	for _, id := range paid {
		c.wakePaid(id)
	}
	c.MatchEntries(records) // this box's exits whose entry just arrived (noentry.go)
	if len(records) > 0 || len(paid) > 0 {
		c.markSpaces()
	}
}
