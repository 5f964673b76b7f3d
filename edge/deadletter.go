package edge

import (
	"errors"
	"fmt"
	"time"

	"laned/cmb"
	"laned/store"
)

// refused records a refusal by the platform (an answer with status ≠ 0).
// The same refusal MaxRefusals times in a row dead-letters the message
// (the store audits it in the same transaction): a message the platform
// will never take must not hold back its record's later uplinks forever.
func (c *Controller) refused(m store.Message, started time.Time, cause error) {
	text := cause.Error()
	var re *cmb.RejectedError
	if errors.As(cause, &re) {
		text = fmt.Sprintf("status %d: %s", re.Status, re.Message)
	}
	dead, err := c.db.Refused(m.Seq, started.Add(c.backoff(m.Attempts)), text, c.cfg.MaxRefusals, c.now())
	if err != nil {
		c.log.Error("outbox: refused", "seq", m.Seq, "err", err)
		return
	}
	if dead {
		c.log.Warn("uplink dead-lettered after repeated refusals", "kind", m.Kind, "record", m.RecordID, "seq", m.Seq, "refusal", text)
		c.kick() // the record's next uplink may go now
	}
}
