package cmb

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels callers branch on, with errors.Is.
var (
	// ErrMalformed: a message or one of its fields is malformed (decode) or
	// invalid (encode). The concrete error is a *FieldError naming the field.
	ErrMalformed = errors.New("cmb: malformed message")
	// ErrBadSign: the sign parameter is missing or does not match.
	ErrBadSign = errors.New("cmb: bad sign")

	// The three classes of a failed exchange (Client, CallDownlink). Every
	// failure after the request was built belongs to exactly one of them.

	// ErrNotDelivered: the request was surely not processed (connection
	// refused, DNS, dial or TLS failure, nothing written, HTTP 503/429/408,
	// other 4xx and 3xx without an envelope). Safe to send again.
	ErrNotDelivered = errors.New("cmb: not delivered")
	// ErrRejected: the peer answered with status ≠ 0; the concrete error is
	// a *RejectedError carrying the status and message.
	ErrRejected = errors.New("cmb: rejected")
	// ErrOutcomeUnknown: the request was written but no usable answer came
	// back (timeout after sending, connection cut mid-answer, a 2xx whose body
	// does not decode, an answer over the size cap, 500/502/504 without an
	// envelope). The peer may or may not have acted on it: resolve before
	// re-sending anything with money attached (AutoPay → PayOrderStatus).
	ErrOutcomeUnknown = errors.New("cmb: outcome unknown")
)

// FieldError names the field of a message that is malformed and why. It
// matches ErrMalformed with errors.Is.
type FieldError struct {
	Field   string // wire name, e.g. "in_code" or "pay_list[0].amount"
	Problem string // e.g. "must be 1..255, got 0"
}

// Error is "cmb: field <field>: <problem>".
func (e *FieldError) Error() string { return "cmb: field " + e.Field + ": " + e.Problem }

// Is reports ErrMalformed.
func (e *FieldError) Is(target error) bool { return target == ErrMalformed }

// fieldErr returns a *FieldError for field, its problem formatted.
func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// RejectedError is an answer with status ≠ 0. It matches ErrRejected.
type RejectedError struct {
	Endpoint string // e.g. "AutoPay" or "calc"
	Status   int
	Message  string
	// Data is the answer's data, if any (calc's "no order" carries the plate).
	Data []byte
}

// Error is "cmb: <endpoint>: rejected: status <n>: <message>".
func (e *RejectedError) Error() string {
	return fmt.Sprintf("cmb: %s: rejected: status %d: %s", e.Endpoint, e.Status, e.Message)
}

// Is reports ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// AnswerError is what a Handler returns to answer a callback with a non-zero
// status and a message (e.g. calc status 2 "no record"). When a Handler
// returns a non-zero answer together with an *AnswerError, the answer is sent
// as data too (calc's "no order" case carries data.vpl_number).
type AnswerError struct {
	Status  int // must be ≠ 0; 0 is answered as StatusInternal
	Message string
}

// Error is "cmb: answer status <n>: <message>".
func (e *AnswerError) Error() string {
	return fmt.Sprintf("cmb: answer status %d: %s", e.Status, e.Message)
}

// prefix starts the text of every error of this package.
const prefix = "cmb: "

// errorf is fmt.Errorf for an error that wraps others of this package: the
// text carries the "cmb: " prefix once ("cmb: AutoPay: not delivered: dial
// tcp …", not "cmb: AutoPay: cmb: not delivered: …"), and errors.Is and
// errors.As see every %w operand as fmt.Errorf's would.
func errorf(format string, args ...any) error {
	wrapped := fmt.Errorf(format, args...)
	text := make([]any, len(args))
	for i, a := range args {
		if e, ok := a.(error); ok {
			a = strings.TrimPrefix(e.Error(), prefix)
		}
		text[i] = a
	}
	return &prefixed{msg: fmt.Sprintf(strings.ReplaceAll(format, "%w", "%v"), text...), err: wrapped}
}

// prefixed is an error with its own text over a fmt.Errorf error.
type prefixed struct {
	msg string
	err error
}

// Error is the text with one prefix.
func (e *prefixed) Error() string { return e.msg }

// Unwrap returns what the fmt.Errorf error wraps.
func (e *prefixed) Unwrap() []error {
	switch u := e.err.(type) {
	case interface{ Unwrap() []error }:
		return u.Unwrap()
	case interface{ Unwrap() error }:
		return []error{u.Unwrap()}
	}
	return nil
}
