// Package halog holds the hal drivers' one logging habit: a logger given
// as nil discards. It is not a logging framework: drivers log with
// log/slog directly.
package halog

import "log/slog"

// Or returns l, or a logger that discards when l is nil.
func Or(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
