package cmb

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on field values.
const (
	MinUnixTime = 1_000_000_000 // 10-digit UNIX seconds (2001-09-09)
	MaxUnixTime = 9_999_999_999
	maxPlateLen = 64                // bytes; the longest virtual plate is 30 characters
	maxIDLen    = 128               // bytes: record_id, bill_id, orders, serial_no
	maxTextLen  = 512               // bytes: logo, owner, names, post_url
	maxPicLen   = 16 << 20          // bytes: pic_con
	maxFen      = math.MaxInt64 / 4 // generous, but no overflow when summed
	maxCount    = math.MaxInt32     // spaces
	maxSeconds  = math.MaxInt32     // reserved_out_time
)

// Common parameter names.
const (
	fParkCode     = "park_code"
	fInCode       = "in_code"
	fOutCode      = "out_code"
	fVplNumber    = "vpl_number"
	fRecordID     = "record_id"
	fBillID       = "bill_id"
	fInTime       = "in_time"
	fOutTime      = "out_time"
	fCarType      = "car_type"
	fPowerType    = "power_type"
	fBodyColor    = "body_color"
	fPlateColor   = "plate_color"
	fLogo         = "logo"
	fAuthType     = "auth_type"
	fModel        = "model"
	fOwner        = "owner"
	fChargeItems  = "charge_items"
	fAmount       = "amount"
	fRequestOrder = "request_order"
	fTotalEmpty   = "total_empty"
	fVipEmpty     = "vip_empty"
	fTmpEmpty     = "tmp_empty"
	fInOutFlag    = "in_out_flag"
	fPicCon       = paramPicCon
	fConfigItems  = "config_items"
	fPayTime      = "pay_time"
	fPayList      = "pay_list"
	fAutoPayType  = "auto_pay_type"
	fLimiter      = "limiter" // §4.3's name for the bind limit
	fLimit        = "limit"   // accepted as an alias of limiter
	fSerialNo     = "serial_no"
	fPostURL      = "post_url"
)

// form reads the typed fields of a received parameter set. The first
// problem is kept in err and later reads are no-ops, so a decoder reads all
// its fields and checks err once. Names read are remembered so that the rest
// can be kept as Extra.
type form struct {
	v    url.Values
	seen map[string]bool
	err  *FieldError
}

func newForm(v url.Values) *form {
	return &form{v: v, seen: map[string]bool{ParamAppID: true, ParamSign: true}}
}

func (f *form) fail(e *FieldError) {
	if f.err == nil && e != nil {
		f.err = e
	}
}

// raw returns the value of name and whether it is present and non-empty.
func (f *form) raw(name string) (string, bool) {
	f.seen[name] = true
	vs := f.v[name]
	if len(vs) > 1 {
		f.fail(fieldErr(name, "repeated %d times", len(vs)))
		return "", false
	}
	if len(vs) == 0 || vs[0] == "" {
		return "", false
	}
	return vs[0], true
}

// integer reads name as a decimal integer.
func (f *form) integer(name string) (n int64, present bool, e *FieldError) {
	s, ok := f.raw(name)
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fieldErr(name, "not an integer: %q", clip(s))
	}
	return n, true, nil
}

// text reads name as it came.
func (f *form) text(name string) (s string, present bool, e *FieldError) {
	s, ok := f.raw(name)
	return s, ok, nil
}

// extra returns the parameters not read, except appid and sign.
func (f *form) extra() url.Values {
	var x url.Values
	for k, vs := range f.v {
		if f.seen[k] {
			continue
		}
		if len(vs) > 1 {
			f.fail(fieldErr(k, "repeated %d times", len(vs)))
		}
		if x == nil {
			x = url.Values{}
		}
		x[k] = append([]string(nil), vs...)
	}
	return x
}

// params builds a parameter set to send, or only checks one (v nil). The
// first problem is kept in err.
type params struct {
	v    url.Values
	path string // prefix of names in errors, e.g. "pay_list[0]."
	err  *FieldError
}

func newParams() *params { return &params{v: url.Values{}} }

func (p *params) fail(e *FieldError) {
	if p.err == nil && e != nil {
		p.err = e
	}
}

// bad records a problem with field name, named with p's path.
func (p *params) bad(name string, e *FieldError) {
	if e != nil {
		e.Field = p.path + name
		p.fail(e)
	}
}

func (p *params) int64(name string, n, lo, hi int64) {
	if e := checkRange(name, n, lo, hi); e != nil {
		p.bad(name, e)
		return
	}
	if p.v != nil {
		p.v.Set(name, strconv.FormatInt(n, 10))
	}
}

func (p *params) enum(name string, n int64, valid bool) {
	if !valid {
		p.bad(name, fieldErr(name, "unknown value %d", n))
		return
	}
	if p.v != nil {
		p.v.Set(name, strconv.FormatInt(n, 10))
	}
}

func (p *params) str(name, s string, required bool, max int) {
	if s == "" {
		if required {
			p.bad(name, fieldErr(name, "missing"))
		}
		return
	}
	if e := checkText(name, s, max); e != nil {
		p.bad(name, e)
		return
	}
	if p.v != nil {
		p.v.Set(name, s)
	}
}

// extra copies the unknown fields that do not collide with a known one.
func (p *params) extra(x url.Values) {
	for k, vs := range x {
		if k == ParamAppID || k == ParamSign || len(vs) == 0 {
			continue
		}
		if _, known := p.v[k]; known {
			continue
		}
		p.v[k] = append([]string(nil), vs...)
	}
}

// done returns the parameters, or the first problem.
func (p *params) done() (url.Values, error) {
	if p.err != nil {
		return nil, p.err
	}
	return p.v, nil
}

// checkRange requires lo ≤ n ≤ hi.
func checkRange(name string, n, lo, hi int64) *FieldError {
	if n < lo || n > hi {
		return fieldErr(name, "must be %d..%d, got %d", lo, hi, n)
	}
	return nil
}

// checkText requires valid UTF-8 without control characters, at most max
// bytes.
func checkText(name, s string, max int) *FieldError {
	if len(s) > max {
		return fieldErr(name, "longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return fieldErr(name, "not valid UTF-8")
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		return fieldErr(name, "control character at byte %d", i)
	}
	return nil
}

// The longest plates accepted from outside, in characters: a licensed
// plate (a Chinese plate has 7 or 8), and a plate that may be an
// unlicensed vehicle's virtual plate, which the spec (§4.5 NoVpln) lets a
// car park make 16 to 30 characters long.
const (
	maxPlateRunes        = 16
	maxVirtualPlateRunes = 30
)

// checkPlate is checkText for a plate: text, not terminal commands — no
// control or format characters (C0, C1, DEL, bidi overrides, zero-width
// characters), no line or paragraph separators, at most maxRunes.
func checkPlate(name, s string, maxRunes int) *FieldError {
	if e := checkText(name, s, maxPlateLen); e != nil {
		return e
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return fieldErr(name, "plate of %d characters, at most %d", n, maxRunes)
	}
	for i, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return fieldErr(name, "control or format character %U at byte %d", r, i)
		}
	}
	return nil
}

// clip shortens a value quoted in an error message.
func clip(s string) string { return clipN(s, 32) }

// clipN shortens s to at most n bytes (plus "…") on a rune boundary.
func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return ""
}

// where names a form's field in errors: as is.
func (f *form) where(name string) string { return name }

// err0 returns the first problem as an error (nil when none: a nil
// *FieldError must not become a non-nil error).
func (f *form) err0() error {
	if f.err == nil {
		return nil
	}
	return f.err
}
