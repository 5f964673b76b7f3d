package demo

import (
	"context"
	"fmt"

	"laned/edge/console"
	"laned/store"
)

// contactlessPlate has a contactless binding; it enters at a while c is
// cut off and leaves at c's exit: an exit without a visible entry
// (issue 18, item 7).
const contactlessPlate = "沪K66666"

// heldNoEntry is box b's no-entry record of contactlessPlate, closed with
// its AutoPay held; an error when there is none.
func (s *siteDemo) heldNoEntry(b *box) (string, error) {
	recs, err := b.db.Records(contactlessPlate, 100)
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if r.NoEntry.Pending() && r.NoEntry.Held && r.State == store.StateClosed {
			return r.ID, nil
		}
	}
	return "", fmt.Errorf("demo: box %s holds no no-entry record of %s with its AutoPay held", b.name, contactlessPlate)
}

// matched waits until every box holds the no-entry record ne matched to
// its entry and that entry closed and paid by the held AutoPay, and
// says so.
func (s *siteDemo) matched(ctx context.Context, ne string) error {
	var real string
	var paid int64
	if err := s.eventually(ctx, "the no-entry exit matched and its AutoPay charged everywhere", func() bool {
		for _, b := range s.boxes {
			n, err := b.db.RecordByID(ne)
			if err != nil || n.NoEntry == nil || n.NoEntry.Matched == "" {
				return false
			}
			real = n.NoEntry.Matched
			r, err := b.db.RecordByID(real)
			if err != nil || r.State != store.StateClosed {
				return false
			}
			ps, err := b.db.Payments(real)
			if err != nil || len(ps) == 0 {
				return false
			}
			paid = 0
			for _, p := range ps {
				paid += p.Amount
			}
		}
		return true
	}); err != nil {
		return err
	}
	s.say("box c matched its no-entry exit %s to a's entry %s: the held AutoPay charged %s yuan, the Outdata sent", ne, real, console.FormatFen(paid))
	return nil
}
