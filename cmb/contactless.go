package cmb

import (
	"context"
	"math"
	"net/url"
)

// ContactlessState is what an Indata or AutoPayStatus answer says about a
// plate's contactless agreement. The data is optional (§3.4: absent when
// there is nothing to return; Indata's status is optional since rev 1.5),
// so silence is not "not contactless": Known is true only when uid was
// present.
type ContactlessState struct {
	Known bool  // uid present in the answer
	UID   int   // UIDContactless or UIDNotContactless (meaningful only when Known)
	Limit int64 // fen
}

// Contactless reports uid present and UIDContactless.
func (s ContactlessState) Contactless() bool { return s.Known && s.UID == UIDContactless }

// NotContactless reports uid present and UIDNotContactless: the only
// answer that ends a binding.
func (s ContactlessState) NotContactless() bool { return s.Known && s.UID == UIDNotContactless }

// DecodeContactlessState reads an Indata or AutoPayStatus answer's data
// (possibly absent) leniently.
func DecodeContactlessState(data []byte) (ContactlessState, error) {
	o, fe := dataObj(data)
	if fe != nil {
		return ContactlessState{}, fe
	}
	_, known, e := jsonInt(o.m["uid"], o.path+"uid")
	if e != nil {
		return ContactlessState{}, e
	}
	s := ContactlessState{Known: known}
	if fe := contactlessTable.decodeObj(o, &s); fe != nil {
		return s, fe
	}
	return s, nil
}

var contactlessTable = &table[ContactlessState]{fields: []field[ContactlessState]{
	num(intRule("uid", false, math.MinInt32, math.MaxInt32), func(s *ContactlessState) *int { return &s.UID }),
	num(intRule("limit", false, 0, math.MaxInt64), func(s *ContactlessState) *int64 { return &s.Limit }),
}}

// CheckPostURL checks a binding's post_url (§4.3): an absolute https URL
// (the document asks for HTTPS between the parties, §2), no user info. An
// empty one is fine: the platform's own AutoPay address is used.
func CheckPostURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fieldErr(fPostURL, "not a URL")
	case u.Scheme != "https":
		return fieldErr(fPostURL, "must be an https URL, not %q", u.Scheme)
	case u.Host == "" || u.User != nil || u.Fragment != "":
		return fieldErr(fPostURL, "must be https://host/path without user or fragment")
	}
	return nil
}

// SendTo is Send to an address of its own instead of {BaseURL}/api/<name>:
// an AutoPay to its binding's post_url. The URL must pass CheckPostURL.
func (c *Client) SendTo(ctx context.Context, rawURL, name string, params url.Values) (Envelope, error) {
	if rawURL == "" {
		return c.Send(ctx, name, params)
	}
	if err := CheckPostURL(rawURL); err != nil {
		return Envelope{}, errorf("cmb: %s: %w: %w", name, ErrNotDelivered, err)
	}
	return c.x.exchange(ctx, name, rawURL, c.signed(name, params))
}

// StatusReplayed refuses an autoPayBind that repeats a bind a later unbind
// of the plate undid (the callbacks carry no nonce). An http post_url is
// refused with StatusMalformed, naming the field.
const StatusReplayed = 409
