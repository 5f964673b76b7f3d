package edge

import (
	"context"
	"time"

	"laned/cmb"
	"laned/hal/clock"
	"laned/store"
)

// The car park's free spaces: counted from the open records, and reported
// to the platform (SpaceInfo) on a change and periodically.

// Space counts the car park's free spaces from the open records.
type SpaceCount struct {
	Total, VIP             int // capacity
	TotalEmpty, VIPEmpty   int
	TmpEmpty               int
	OpenVIP, OpenTemporary int
}

func (c *Controller) spaces() (SpaceCount, error) {
	open, openVIP, err := c.db.Occupancy()
	if err != nil {
		return SpaceCount{}, err
	}
	return countSpaces(c.cfg.Spaces, open, openVIP), nil
}

// countSpaces splits the free spaces between VIP and temporary vehicles so
// that they add up (total = vip + tmp): a VIP car beyond the VIP spaces
// takes a temporary one, and the other way round.
func countSpaces(cap Spaces, open, openVIP int) SpaceCount {
	sc := SpaceCount{Total: cap.Total, VIP: cap.VIP, OpenVIP: openVIP, OpenTemporary: open - openVIP}
	tmpCap := cap.Total - cap.VIP
	vipOver := max(0, openVIP-cap.VIP)
	tmpOver := max(0, sc.OpenTemporary-tmpCap)
	sc.VIPEmpty = max(0, cap.VIP-openVIP-tmpOver)
	sc.TmpEmpty = max(0, tmpCap-sc.OpenTemporary-vipOver)
	sc.TotalEmpty = sc.VIPEmpty + sc.TmpEmpty
	return sc
}

// Spaces reports the free spaces.
func (c *Controller) Spaces() (SpaceCount, error) { return c.spaces() }

// reportSpaces queues SpaceInfo on change (at most one per gap) and
// periodically.
func (c *Controller) reportSpaces(ctx context.Context) {
	var last time.Time
	var lastSent SpaceCount
	sent := false
	period := c.clk.NewTimer(c.cfg.SpaceInfoPeriod)
	defer period.Stop()
	var gap clock.Timer
	var gapC <-chan time.Time
	send := func(force bool) {
		sc, err := c.spaces()
		if err != nil {
			c.log.Error("space info", "err", err)
			return
		}
		if sent && !force && sc == lastSent {
			return
		}
		r := cmb.SpaceInfo{ParkCode: c.cfg.ParkCode, TotalEmpty: sc.TotalEmpty, VipEmpty: sc.VIPEmpty, TmpEmpty: sc.TmpEmpty}
		if c.enqueue(store.KindSpaceInfo, "space info", r) {
			last, lastSent, sent = c.now(), sc, true
		}
	}
	for {
		select {
		case <-ctx.Done():
			if gap != nil {
				gap.Stop()
			}
			return
		case <-period.C():
			send(true)
			period.Reset(c.cfg.SpaceInfoPeriod)
		case <-c.spaceDirty:
			if gapC != nil {
				continue // a send is already scheduled
			}
			wait := c.cfg.SpaceInfoMinGap - c.now().Sub(last)
			if !sent || wait <= 0 {
				send(false)
				continue
			}
			gap = c.clk.NewTimer(wait)
			gapC = gap.C()
		case <-gapC:
			gapC, gap = nil, nil
			send(false)
		}
	}
}
