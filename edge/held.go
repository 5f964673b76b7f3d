package edge

import (
	"context"
	"fmt"
	"time"

	"laned/hal/clock"
	"laned/store"
)

// Held commits: a person's decision (a manual open) moves the barrier even
// when the store cannot commit (a full disk, a damaged file) — a fire drill
// must work. What the decision should have written (the record's close with
// its Outdata, the audit event) is kept here, in memory, and retried until
// the store takes it; the console shows it as pending on the lane. A
// restart before the store heals loses it (the log's ERROR lines remain).

// heldPeriod is how often held commits are retried.
const heldPeriod = 5 * time.Second

type heldCommit struct {
	lane    string
	what    string       // for the console: "close of record R", "audit: …"
	commit  func() error // nil: done
	since   time.Time
	tries   int
	lastErr string
}

// holdCommit keeps commit for retry; it is first tried at the next period.
func (c *Controller) holdCommit(lane, what string, cause error, commit func() error) {
	c.heldMu.Lock()
	c.held = append(c.held, &heldCommit{lane: lane, what: what, commit: commit, since: c.now(), tries: 1, lastErr: cause.Error()})
	n := len(c.held)
	c.heldMu.Unlock()
	c.log.Error("store refused a commit: kept in memory, retried", "lane", lane, "what", what, "err", cause, "held", n)
}

// auditOrHold writes an audit event, holding it for retry when the store
// refuses.
func (c *Controller) auditOrHold(lane, kind string, laneCode int, format string, args ...any) {
	ev := store.AuditEvent{Time: c.now(), Kind: kind, Lane: laneCode, Detail: fmt.Sprintf(format, args...)}
	if err := c.db.Audit(ev); err != nil {
		c.holdCommit(lane, "audit "+kind+": "+ev.Detail, err, func() error { return c.db.Audit(ev) })
	}
}

// retryHeld commits what is held, in order, until none is left; a failure
// stops the pass (the store is still unwell) until the next period.
func (c *Controller) retryHeld(ctx context.Context) {
	clock.Every(ctx, c.clk, heldPeriod, heldPeriod, func() { c.flushHeld() })
}

// flushHeld tries the held commits once, in order, and returns how many
// are left.
func (c *Controller) flushHeld() int {
	for {
		c.heldMu.Lock()
		if len(c.held) == 0 {
			c.heldMu.Unlock()
			return 0
		}
		h := c.held[0]
		c.heldMu.Unlock()
		err := h.commit()
		c.heldMu.Lock()
		if err != nil {
			h.tries++
			h.lastErr = err.Error()
			n := len(c.held)
			c.heldMu.Unlock()
			c.log.Warn("held commit still refused", "lane", h.lane, "what", h.what, "tries", h.tries, "err", err)
			return n
		}
		c.held = c.held[1:]
		c.heldMu.Unlock()
		c.log.Info("held commit committed", "lane", h.lane, "what", h.what, "tries", h.tries, "held_for", c.now().Sub(h.since).String())
		c.kick()
		c.markSpaces()
	}
}

// heldFor lists what is held for a lane, for the console.
func (c *Controller) heldFor(lane string) []string {
	c.heldMu.Lock()
	defer c.heldMu.Unlock()
	var out []string
	for _, h := range c.held {
		if h.lane == lane {
			out = append(out, fmt.Sprintf("%s (since %s, %d tries: %s)", h.what, h.since.Format(time.RFC3339), h.tries, h.lastErr))
		}
	}
	return out
}
