package site

import "errors"

var (
	// ErrUnreachable is returned by Request when no box serves the
	// subject or none answered within the budget: the caller answers
	// "try again".
	ErrUnreachable = errors.New("site: unreachable")
	// ErrClosed is returned by a Node's methods after Close.
	ErrClosed = errors.New("site: closed")
	// ErrConfig wraps every configuration error of Start.
	ErrConfig = errors.New("site: bad config")
)
