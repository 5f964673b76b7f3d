package store

import (
	"fmt"
)

// MaxBox is the longest box id (see ValidBox).
const MaxBox = 6

// ValidBox checks a box id: 1–6 characters of [a-z0-9], starting with a
// letter. It goes into record ids and NATS subjects and stream names.
func ValidBox(s string) error {
	if s == "" || len(s) > MaxBox {
		return fmt.Errorf("%w: box %q: 1–%d characters", ErrInvalid, s, MaxBox)
	}
	for i, c := range []byte(s) {
		letter := c >= 'a' && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("%w: box %q: [a-z0-9], starting with a letter", ErrInvalid, s)
		}
	}
	return nil
}
