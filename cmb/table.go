package cmb

import (
	"math"
	"net/url"
	"strconv"
)

// Every message is coded from one table of its fields: the same rule (wire
// name, kind, required, bounds or length) checks a field when it is sent
// and when it is received, so the two directions cannot drift apart. Where
// the document makes them differ on purpose, the rule says so (sendLo for
// lane codes, runes for plates).

// kind is a field's wire type.
type kind uint8

const (
	kindInt   kind = iota // decimal integer in lo..hi
	kindEnum              // decimal integer in lo..hi that valid accepts
	kindText              // UTF-8 without control characters, at most max bytes
	kindPlate             // kindText; received, also at most runes characters and no format characters
	kindJSON              // JSON text, coded by the field's own functions
)

// rule is the wire contract of one field.
type rule struct {
	name     string
	kind     kind
	required bool  // received: present and non-empty; sent: text non-empty (a number is always sent)
	lo, hi   int64 // kindInt, kindEnum: accepted range (an enum's is checked when received)
	// sendLo, when above lo, is the least value sent: lane codes are sent
	// 1–255 (§6.8) but a received 0 is accepted (the field tables say 0~255).
	sendLo int64
	valid  func(int64) bool // kindEnum: the documented values
	max    int              // kindText, kindPlate: bytes
	// runes bounds a received plate's characters (see checkPlate). A plate
	// sent is checked as text only: the platform simulator must be able to
	// send what the real platform may, so that the lane's refusal is tested.
	runes int
	// alias is a second name a received value may come under when name is
	// absent (autoPayBind's "limit" for "limiter").
	alias string
}

// least returns the least value that may be sent.
func (r rule) least() int64 { return max(r.lo, r.sendLo) }

func intRule(name string, required bool, lo, hi int64) rule {
	return rule{name: name, kind: kindInt, required: required, lo: lo, hi: hi}
}

func textRule(name string, required bool, max int) rule {
	return rule{name: name, kind: kindText, required: required, max: max}
}

func plateRule(name string, required bool, runes int) rule {
	return rule{name: name, kind: kindPlate, required: required, max: maxPlateLen, runes: runes}
}

func timeRule(name string) rule { return intRule(name, true, MinUnixTime, MaxUnixTime) }

// enumRule is a documented value of T, received as any 32-bit integer
// first (so that a huge number reads "must be …", not "unknown value").
func enumRule[T interface {
	~int
	Valid() bool
}](name string, required bool) rule {
	return rule{name: name, kind: kindEnum, required: required, lo: math.MinInt32, hi: math.MaxInt32,
		valid: func(n int64) bool { return T(n).Valid() }}
}

// Rules shared by several messages.
var (
	ruleParkCode     = intRule(fParkCode, true, 1, math.MaxInt64)
	ruleRecordID     = textRule(fRecordID, true, maxIDLen)
	rulePlateSent    = textRule(fVplNumber, true, maxPlateLen) // uplinks: our own plates
	ruleRequestOrder = textRule(fRequestOrder, true, maxIDLen)
)

// laneRule is an uplink's lane code: sent LaneMin–LaneMax, received from
// laneMinDecode.
func laneRule(name string) rule {
	r := intRule(name, true, laneMinDecode, LaneMax)
	r.sendLo = LaneMin
	return r
}

// callbackLaneRule is a callback's lane code: any non-negative int32.
func callbackLaneRule(name string, required bool) rule {
	return intRule(name, required, laneMinDecode, CallbackLaneMax)
}

// field binds a rule to a field of M.
type field[M any] struct {
	rule
	getInt   func(*M) (n int64, present bool)
	setInt   func(*M, int64)
	text     func(*M) *string
	value    func(*M) any                 // kindJSON: what is marshalled
	validate func(*M) *FieldError         // kindJSON: checked before sending
	decode   func(*M, string) *FieldError // kindJSON: the received text
}

// num binds an integer or enumerated field.
func num[M any, T ~int | ~int64](r rule, p func(*M) *T) field[M] {
	return field[M]{rule: r,
		getInt: func(m *M) (int64, bool) { return int64(*p(m)), true },
		setInt: func(m *M, n int64) { *p(m) = T(n) }}
}

// optNum binds an optional integer or enumerated field (nil: absent).
func optNum[M any, T ~int](r rule, p func(*M) **T) field[M] {
	return field[M]{rule: r,
		getInt: func(m *M) (int64, bool) {
			if q := *p(m); q != nil {
				return int64(*q), true
			}
			return 0, false
		},
		setInt: func(m *M, n int64) { *p(m) = new(T(n)) }}
}

// text binds a text or plate field.
func text[M any](r rule, p func(*M) *string) field[M] {
	return field[M]{rule: r, text: p}
}

// jsonField binds a field sent as JSON text: value is marshalled once
// validate passes; decode reads the received text.
func jsonField[M any](name string, value func(*M) any, validate func(*M) *FieldError, decode func(*M, string) *FieldError) field[M] {
	return field[M]{rule: rule{name: name, kind: kindJSON, required: true}, value: value, validate: validate, decode: decode}
}

// table is a message's fields in wire order, check, a rule over several
// fields applied after them (nil: none), and extra, where a form's unknown
// fields are kept (nil for a JSON object).
type table[M any] struct {
	fields []field[M]
	check  func(*M) *FieldError
	extra  func(*M) *url.Values
}

// put checks m's field and, for a form, writes it to p.
func (f *field[M]) put(m *M, p *params) {
	switch f.kind {
	case kindInt:
		if n, ok := f.getInt(m); ok {
			p.int64(f.name, n, f.least(), f.hi)
		}
	case kindEnum:
		if n, ok := f.getInt(m); ok {
			p.enum(f.name, n, f.valid(n))
		}
	case kindText, kindPlate:
		p.str(f.name, *f.text(m), f.required, f.max)
	case kindJSON:
		p.fail(f.validate(m))
		if p.err == nil && p.v != nil {
			b, err := marshalCompact(f.value(m))
			if err != nil {
				p.fail(fieldErr(f.name, "%v", err))
				return
			}
			p.v.Set(f.name, string(b))
		}
	}
}

// get reads m's field from s (a form or a JSON object).
func (f *field[M]) get(m *M, s source) {
	switch f.kind {
	case kindInt, kindEnum:
		n, ok := f.getInt64(s)
		if !ok {
			return
		}
		f.setInt(m, n)
		if f.kind == kindEnum && !f.valid(n) {
			s.fail(fieldErr(s.where(f.name), "unknown value %d", n))
		}
	case kindText, kindPlate:
		*f.text(m) = f.getText(s)
	}
}

// getInt64 reads an integer in lo..hi; ok is false when it is absent or
// refused.
func (r rule) getInt64(s source) (n int64, ok bool) {
	n, present, e := s.integer(r.name)
	switch {
	case e != nil:
		s.fail(e)
		return 0, false
	case !present:
		if r.required {
			s.fail(fieldErr(s.where(r.name), "missing"))
		}
		return 0, false
	}
	if e := checkRange(s.where(r.name), n, r.lo, r.hi); e != nil {
		s.fail(e)
		return 0, false
	}
	return n, true
}

// getText reads text of at most max bytes, and a plate of at most runes
// characters ("" when absent or refused).
func (r rule) getText(s source) string {
	v, present, e := s.text(r.name)
	switch {
	case e != nil:
		s.fail(e)
		return ""
	case !present || v == "":
		if r.required {
			s.fail(fieldErr(s.where(r.name), "missing"))
		}
		return ""
	}
	e = checkText(s.where(r.name), v, r.max)
	if e == nil && r.kind == kindPlate {
		e = checkPlate(s.where(r.name), v, r.runes)
	}
	if e != nil {
		s.fail(e)
		return ""
	}
	return v
}

// values validates m and encodes it as a form, with its unknown fields
// that do not collide with a known one.
func (t *table[M]) values(m *M) (url.Values, error) {
	p := newParams()
	for i := range t.fields {
		t.fields[i].put(m, p)
	}
	if t.check != nil {
		p.fail(t.check(m))
	}
	p.extra(*t.extra(m))
	return p.done()
}

// decodeForm reads a received form: a message and its unknown fields.
func decodeForm[M any](t *table[M], v url.Values) (M, error) {
	var m M
	x, err := t.decode(v, &m)
	*t.extra(&m) = x
	return m, err
}

// valid checks m as values would, naming fields with path first (e.g.
// "pay_list[0]."), without encoding it.
func (t *table[M]) valid(m *M, path string) *FieldError {
	p := &params{path: path}
	for i := range t.fields {
		t.fields[i].put(m, p)
	}
	if t.check != nil {
		p.fail(t.check(m))
	}
	return p.err
}

// decode reads a received form into m and returns its unknown fields.
// Every field is read even after a problem; the first problem is returned.
func (t *table[M]) decode(v url.Values, m *M) (url.Values, error) {
	f := newForm(v)
	for i := range t.fields {
		fd := &t.fields[i]
		switch {
		case fd.kind == kindJSON:
			if s, ok := f.raw(fd.name); !ok {
				f.fail(fieldErr(fd.name, "missing"))
			} else if f.err == nil {
				f.fail(fd.decode(m, s))
			}
		case fd.alias != "":
			getAliased(f, fd, m)
		default:
			fd.get(m, f)
		}
	}
	if t.check != nil && f.err == nil {
		f.fail(t.check(m))
	}
	extra := f.extra()
	return extra, f.err0()
}

// getAliased reads fd under its name or, when that is absent, its alias; a
// stray alias next to the name stays an extra.
func getAliased[M any](f *form, fd *field[M], m *M) {
	if _, ok := f.raw(fd.name); ok {
		fd.get(m, f)
		f.seen[fd.alias] = false
		return
	}
	a := *fd
	a.name = fd.alias
	a.get(m, f)
	if f.err != nil && f.err.Field == fd.alias && f.err.Problem == "missing" {
		f.err = fieldErr(fd.name, "missing")
	}
}

// decodeObj reads a received JSON object into m.
func (t *table[M]) decodeObj(o *jobj, m *M) *FieldError {
	for i := range t.fields {
		t.fields[i].get(m, o)
	}
	if t.check != nil {
		o.fail(t.check(m))
	}
	return o.err
}

// decodeList reads a received JSON array of objects of t, named name in
// errors (e.g. "pay_list" or "data.discount").
func decodeList[M any](t *table[M], v any, name string) ([]M, *FieldError) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fieldErr(name, "not a JSON array")
	}
	items := make([]M, 0, len(arr))
	for i, x := range arr {
		path := name + "[" + strconv.Itoa(i) + "]"
		o, fe := asObj(x, path, path+".")
		if fe != nil {
			return nil, fe
		}
		var it M
		if fe := t.decodeObj(o, &it); fe != nil {
			return nil, fe
		}
		items = append(items, it)
	}
	return items, nil
}

// validList checks each item of a list to send, named name in errors.
func validList[M any](t *table[M], items []M, name string) *FieldError {
	for i := range items {
		if fe := t.valid(&items[i], name+"["+strconv.Itoa(i)+"]."); fe != nil {
			return fe
		}
	}
	return nil
}

// source is what a field is read from: a form or a JSON object. It reads
// a value as it came (present false when absent or empty); the rule checks
// it.
type source interface {
	integer(name string) (n int64, present bool, e *FieldError)
	text(name string) (s string, present bool, e *FieldError)
	fail(e *FieldError)
	where(name string) string // the name as errors give it
}

var (
	_ source = (*form)(nil)
	_ source = (*jobj)(nil)
)
