package edge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/store"
)

// Exits without a visible entry, in a site of several boxes. A lane
// always decides alone: when no record of the plate is visible here (its
// entry is another box's, not replicated yet: a partition), the exit is
// recorded as a no-entry record of this box (store.NoEntry) and
//   - a VIP or monthly vehicle leaves free (pay_type 7);
//   - a contactless one leaves, its AutoPay held until the entry arrives;
//   - any other pays the configured no-entry fee by scan (calc by
//     out_code answers it), or a guard opens.
// Nothing of a no-entry record goes to the platform while it waits. When
// the entry's record arrives (MatchEntries, from the site's replication,
// and the hourly upkeep), the box that made the exit closes the real
// record with the exit's data, its real price and the exit's payments,
// and queues its one Outdata (or the held AutoPay of the real fee; the
// Outdata follows its outcome). What was paid beyond the real fee is an
// overcharge in the daily report, refunded by hand. Past NoEntryHold the
// no-entry record is settled alone: its own Indata and Outdata, or the
// AutoPay of the no-entry fee.

// SiteRules are the lanes' rules in a site of several boxes (Config.Site).
type SiteRules struct {
	// Enabled: this box is one of a site's boxes ([site] configured).
	// False: one box, as ever: an exit without a record waits for a guard.
	Enabled bool
	// Box is this box's id in its site (store.Options.Box): the records
	// it opens carry it.
	Box string
	// NoEntryFee is what a vehicle whose entry is not visible pays at the
	// exit, in fen, 0–MaxNoEntryFee (0: it leaves free, matched later).
	NoEntryFee int64
	// NoEntryHold: a no-entry exit still unmatched after it is settled
	// alone (by the hourly upkeep). Default 24 h; 1 h–30 days.
	NoEntryHold time.Duration
}

// MaxNoEntryFee bounds SiteRules.NoEntryFee: 10,000 yuan.
const MaxNoEntryFee = 1_000_000

// reasonNoEntry prices a no-entry record: the no-entry fee.
const reasonNoEntry tariff.Reason = "no entry visible: the no-entry fee"

// recordBox is the box a record_id names (store.NewRecordID in a site:
// YYYYMMDDhhmmss + box + lane(3) + seq(9)); "" for an id of a box outside
// a site (digits only) or of another form.
func recordBox(id string) string {
	const stamp, tail = 14, 12
	if len(id) <= stamp+tail || id[stamp] < 'a' || id[stamp] > 'z' {
		return ""
	}
	return id[stamp : len(id)-tail]
}

// otherBox reports whether record id was opened by another box of the site.
func (r SiteRules) otherBox(id string) bool { return r.Enabled && recordBox(id) != r.Box }

// noEntryExit decides alone for the vehicle at the exit whose record is
// not visible here (site mode).
func (l *lane) noEntryExit(ctx context.Context) {
	v := l.veh
	now := l.clk.Now()
	pend, err := l.db.PendingNoEntries(v.plate)
	if err != nil {
		l.fail("no-entry records", err)
		return
	}
	for _, ne := range pend {
		if ne.State == store.StateClosed && ne.OutCode == l.cfg.Code && now.Sub(ne.OutTime) < l.rules.passTimeout {
			// Let out just now and back (it never passed, or a second
			// read): a second no-entry exit would charge it twice.
			v.state, v.recordID = vUnknown, ""
			v.reason = "let out just now without a visible entry (record " + ne.ID + "): call a guard"
			l.log.Warn("exit: no-entry vehicle back at the exit", "lane", l.cfg.Name, "plate", v.plate, "record", ne.ID)
			return
		}
	}
	class := tariff.Classify(v.plate, v.colour)
	rec := store.Record{
		ID: l.db.NewRecordID(now, l.cfg.Code), Plate: v.plate, PlateColor: v.colour,
		CarType: readCarType(class, l.price.military(v.plate), v.read), PowerType: powerType(class),
		AuthType: store.AuthTemporary, InCode: l.cfg.Code, InTime: now, OutCode: l.cfg.Code, OutTime: now,
		State: store.StateClosed, NoEntry: &store.NoEntry{},
	}
	var why string
	if lv, err := l.db.LookupVehicle(v.plate, now); err == nil && (lv.List == store.ListVIP || lv.List == store.ListMonthly) {
		rec.AuthType = store.AuthVIP
		rec.Items = []store.ChargeItem{{PayType: int(cmb.PayAuthorisedFree), TollCollector: l.rules.tollCollector, Time: now, SeqNum: rec.ID + "W"}}
		why = "no entry visible: " + string(lv.List) + " vehicle, free"
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		l.fail("vehicle lists", err)
		return
	} else if _, err := l.db.Binding(v.plate); err == nil {
		rec.NoEntry.Held = true
		why = "no entry visible: contactless, charged once the entry is known"
	} else if !errors.Is(err, store.ErrNotFound) {
		l.fail("binding", err)
		return
	} else {
		rec.State = store.StateLeaving
	}
	rec.Note = "exit without a visible entry"
	if _, err := l.db.AddNoEntry(rec); err != nil {
		l.fail("no-entry record", err)
		return
	}
	v.recordID = rec.ID
	l.log.Info("exit: no entry visible, decided alone", "lane", l.cfg.Name, "plate", v.plate, "record", rec.ID, "state", rec.State.String())
	if rec.State == store.StateLeaving {
		l.settle(ctx, rec) // the no-entry fee: scan to pay, or a guard
		return
	}
	v.state, v.reason = vReleased, why
	l.raise(ctx, "exit "+rec.Plate+": "+why)
	l.hub.kick()
	l.hub.markSpaces()
}

// noEntryQuote prices a no-entry record: the no-entry fee, less what it
// paid (pure: it runs inside the closing transaction).
func (c *Controller) noEntryQuote(rec store.Record, pays []store.Payment) tariff.Quote {
	var paid int64
	for _, p := range pays {
		paid += p.Amount
	}
	q := tariff.Quote{Class: tariff.Classify(rec.Plate, rec.PlateColor), Total: c.cfg.Site.NoEntryFee, Paid: paid, Reason: reasonNoEntry}
	q.Due = max(0, q.Total-paid)
	if q.Due == 0 && paid > 0 {
		q.Reason = tariff.ReasonPaid
	}
	return q
}

// MatchEntries matches this box's no-entry exits to the records ids (of
// any box: those the site's replication just applied) that are their
// entries: an open record of the plate whose entry precedes the exit. It
// returns how many it matched. Safe to call again with the same ids (or
// after a restart): a no-entry record is matched once.
func (c *Controller) MatchEntries(ids []string) int {
	if !c.cfg.Site.Enabled {
		return 0
	}
	n := 0
	for _, id := range ids {
		real, err := c.db.RecordByID(id)
		if err != nil || real.State != store.StateInside || real.NoEntry != nil {
			continue
		}
		pend, err := c.db.PendingNoEntries(real.Plate)
		if err != nil {
			c.log.Error("no-entry: pending", "plate", real.Plate, "err", err)
			continue
		}
		for _, ne := range pend {
			if ne.State == store.StateClosed && ne.OutTime.After(real.InTime) {
				if c.matchNoEntry(ne, real) {
					n++
				}
				break
			}
		}
	}
	return n
}

// noEntryOrder is the request_order of the AutoPay a no-entry exit held:
// one per no-entry record, whatever it charges (the match and the hold
// limit are exclusive, each once).
func noEntryOrder(neID string) string { return neID + "PN" }

// matchNoEntry closes real, the entry of the no-entry record ne, with the
// exit's data; false when nothing was matched.
func (c *Controller) matchNoEntry(ne, real store.Record) bool {
	now := c.now()
	at := ne.OutTime
	vip := c.vipAt(real, at)
	var postURL string
	if ne.NoEntry.Held {
		if b, err := c.db.Binding(real.Plate); err == nil {
			postURL = b.PostURL
		}
	}
	var mark store.NoEntry
	closed, err := c.db.MatchNoEntry(ne.ID, real.ID, now, func(r, n store.Record, pays, nePays []store.Payment) (store.Exit, store.NoEntry, []store.Message, error) {
		all := append(append([]store.Payment(nil), pays...), nePays...)
		q, err := c.quoteFrom(r, all, at, vip)
		if err != nil {
			return store.Exit{}, store.NoEntry{}, nil, fmt.Errorf("price the stay: %w", err)
		}
		r.OutCode, r.OutTime = n.OutCode, at
		items, audits := c.chargeItems(r, q, all, at)
		for _, it := range n.Items {
			if it.PayType == int(cmb.PayManualFree) && q.Due > 0 {
				// A guard's opening carries over, waiving what the real
				// stay left due.
				it.ShouldPay, it.ActualPay = q.Due, 0
				items = append(items, it)
				break
			}
		}
		mark = *n.NoEntry
		mark.Paid, mark.Due, mark.Overcharge = q.Paid, q.Total, max(0, q.Paid-q.Total)
		exit := store.Exit{OutCode: n.OutCode, OutTime: at, Items: items, Fees: store.Fees{Total: q.Total, Paid: q.Paid},
			Note: "exit without a visible entry (record " + n.ID + "), matched"}
		var msgs []store.Message
		if q.Due > 0 && mark.Held {
			// The held contactless charge: the Outdata follows its outcome
			// (settleOwed), as after an offline release.
			m, err := c.autoPayMsg(r, q.Due, noEntryOrder(n.ID), postURL)
			if err != nil {
				return store.Exit{}, store.NoEntry{}, nil, err
			}
			exit.AwaitOrder, exit.Fees.Due = m.RequestOrder, q.Due
			msgs = append(msgs, m)
		} else {
			exit.Fees.Discount = q.Due // what the no-entry fee or a guard left unpaid is waived
			r.Items = items
			out, err := c.outdata(r, items)
			if err != nil {
				return store.Exit{}, store.NoEntry{}, nil, err
			}
			msgs = append(msgs, out)
		}
		msgs = append(msgs, audits...)
		msgs = append(msgs, c.auditMsg("no_entry_matched", n.OutCode, "%s: exit %s without a visible entry matched to record %s: %d fen due, %d paid",
			r.Plate, n.ID, r.ID, q.Total, q.Paid))
		return exit, mark, msgs, nil
	})
	switch {
	case errors.Is(err, store.ErrNotPending), errors.Is(err, store.ErrRecordClosed):
		return false // matched before, or the entry closed meanwhile
	case err != nil:
		c.log.Error("no-entry: match", "record", ne.ID, "entry", real.ID, "err", err)
		return false
	}
	c.log.Info("no-entry exit matched", "record", ne.ID, "entry", real.ID, "plate", real.Plate,
		"due_fen", mark.Due, "paid_fen", mark.Paid, "await_order", closed.AwaitOrder)
	if mark.Overcharge > 0 {
		c.log.Warn("no-entry exit overcharged: refund by hand", "plate", real.Plate, "record", real.ID, "paid_fen", mark.Paid, "due_fen", mark.Due, "overcharge_fen", mark.Overcharge)
	}
	c.kick()
	return true
}

// settleNoEntries is the upkeep of the no-entry exits: each is matched to
// its entry if that is visible now (a replication the hook missed), else,
// past NoEntryHold, settled alone.
func (c *Controller) settleNoEntries(now time.Time) {
	if !c.cfg.Site.Enabled {
		return
	}
	pend, err := c.db.PendingNoEntries("")
	if err != nil {
		c.log.Error("no-entry: pending", "err", err)
		return
	}
	for _, ne := range pend {
		if ne.State != store.StateClosed {
			continue // its vehicle is still at the exit
		}
		if real, err := c.db.OpenByPlate(ne.Plate); err == nil && real.State == store.StateInside && real.NoEntry == nil && ne.OutTime.After(real.InTime) {
			if c.matchNoEntry(ne, real) {
				continue
			}
		}
		if now.Sub(ne.OutTime) >= c.cfg.Site.NoEntryHold {
			c.settleNoEntryAlone(ne, now)
		}
	}
}

// settleNoEntryAlone settles a no-entry exit whose entry never came: its
// own Indata with its Outdata, or, held contactless, with the AutoPay of
// the no-entry fee (its Outdata follows the outcome).
func (c *Controller) settleNoEntryAlone(ne store.Record, now time.Time) {
	fee := c.cfg.Site.NoEntryFee
	held := ne.NoEntry.Held && fee > 0
	var postURL string
	if held {
		if b, err := c.db.Binding(ne.Plate); err == nil {
			postURL = b.PostURL
		}
	}
	rec, err := c.db.SettleNoEntry(ne.ID, now, func(r *store.Record) ([]store.Message, error) {
		msgs, err := c.indata(*r)
		if err != nil {
			return nil, err
		}
		why := fmt.Sprintf("no entry seen within %s: settled alone", c.cfg.Site.NoEntryHold)
		r.Note = why
		if held {
			m, err := c.autoPayMsg(*r, fee, noEntryOrder(r.ID), postURL)
			if err != nil {
				return nil, err
			}
			r.Fees = store.Fees{Total: fee, Due: fee}
			r.AwaitOrder = m.RequestOrder
			msgs = append(msgs, m)
		} else {
			out, err := c.outdata(*r, r.Items)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, out)
		}
		return append(msgs, c.auditMsg("no_entry_settled", r.OutCode, "%s: exit %s: %s (contactless %s held: %v)", r.Plate, r.ID, why, yuan(fee), held)), nil
	})
	if errors.Is(err, store.ErrNotPending) {
		return
	}
	if err != nil {
		c.log.Error("no-entry: settle alone", "record", ne.ID, "err", err)
		return
	}
	c.log.Warn("no-entry exit settled alone", "record", rec.ID, "plate", rec.Plate, "held", held, "fee_fen", fee)
	c.kick()
}
