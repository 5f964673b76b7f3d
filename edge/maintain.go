package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"laned/cmb"
	"laned/store"
)

// Upkeep: the store kept bounded (retention, expired uplinks, pictures) and
// the times stamped while the wall clock was unset corrected.

// FixClock corrects what was stamped while the wall clock was unset: the
// records' and queued uplinks' times in the fix-up window move by its
// delta, and the correction is audited.
func (c *Controller) FixClock(f Fixup) error {
	lo, hi, d := f.From.Unix(), f.To.Unix(), int64(f.Delta/time.Second)
	shift := func(t int64) (int64, bool) {
		if t < lo || t > hi || t == 0 {
			return t, false
		}
		return t + d, true
	}
	recs, msgs, err := c.db.ShiftTimes(f.From, f.To, f.Delta, func(m *store.Message) bool {
		v := params(m.Params)
		if !cmb.ShiftTimes(m.Kind, v, shift) {
			return false
		}
		m.Params = flat(v)
		return true
	})
	if err != nil {
		return fmt.Errorf("edge: fix clock: %w", err)
	}
	// What the lanes remember of the window moves too: a vehicle waiting
	// at an exit is priced from its arrival, which must not precede its
	// (moved) entry.
	if c.running.Load() {
		moved := func(t time.Time) time.Time {
			if t.IsZero() || t.Before(f.From) || t.After(f.To) {
				return t
			}
			return t.Add(f.Delta)
		}
		for _, l := range c.lanes {
			if err := l.do(context.Background(), func() { l.shiftTimes(moved) }); err != nil && !errors.Is(err, errLaneStopped) {
				c.log.Warn("clock fix-up: lane", "lane", l.cfg.Name, "err", err)
			}
		}
	}
	c.audit("clock", 0, "wall clock set: %d records and %d queued uplinks stamped %s–%s moved by %s",
		recs, msgs, f.From.Format(time.RFC3339), f.To.Format(time.RFC3339), f.Delta.Round(time.Second))
	c.log.Info("clock fixed up", "records", recs, "uplinks", msgs, "delta", f.Delta.Round(time.Second).String())
	return nil
}

// maintain keeps the store bounded: once an hour (and at start) it deletes
// closed records past the retention and dead-letters droppable uplinks
// past their age, in small batches so that no lane waits long on the file;
// it prunes the pictures then too, and at once when a save took them over
// their budget (afterPictures).
func (c *Controller) maintain(ctx context.Context) {
	const batch = 200
	t := c.clk.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.picsOver:
			c.prunePictures(c.now())
			continue
		case <-t.C():
		}
		now := c.now()
		pruned, err := c.db.Prune(ctx, now.Add(-c.cfg.Retention), batch)
		if err != nil && ctx.Err() == nil {
			c.log.Error("retention", "err", err)
		}
		expired := 0
		for {
			n, err := c.db.Expire(now.Add(-c.cfg.DropAfter), batch)
			expired += n
			if err != nil || n < batch || ctx.Err() != nil {
				if err != nil {
					c.log.Error("expire uplinks", "err", err)
				}
				break
			}
		}
		c.prunePictures(now)
		c.settleNoEntries(now)
		if pruned > 0 || expired > 0 {
			c.log.Info("store maintenance", "records_deleted", pruned, "uplinks_dead_lettered", expired)
			c.audit("retention", 0, "deleted %d closed records older than %s; dead-lettered %d droppable uplinks", pruned, c.cfg.Retention, expired)
		}
		// An hour after this run's reading, not after the work: a wall
		// clock that jumped while the store was pruned (NTP, an operator,
		// a test's clock) has the next run due at once.
		t.Reset(now.Add(time.Hour).Sub(c.now()))
	}
}
