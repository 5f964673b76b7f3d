package edge

import (
	"context"
	"fmt"
	"strings"
)

// The lane's side of its board: the scene of the vehicle at the lane, and
// the controller's view of the boards (display.go has the announcer).

// sceneOf is the scene of the vehicle at a lane (on the lane's goroutine).
func (l *lane) sceneOf() *scene {
	v := l.veh
	if v == nil || v.state == vIdentifying {
		return &scene{key: "idle"}
	}
	q := v.quote
	fee := q.Due
	if fee == 0 {
		fee = q.Paid
	}
	vals := map[string]string{"plate": v.plate, "fee": FeeText(fee), "duration": DurationText(q.Duration)}
	s := &scene{vals: vals, fee: fee}
	switch v.state {
	case vNoPlate:
		s.moment = MomentUnlicensedEntry
		if l.cfg.Kind == Exit {
			s.moment = MomentUnlicensedExit
		}
	case vRefused:
		s.moment = MomentEntryRefused
		r := l.rules.reasons
		switch {
		case v.reason == "blacklisted":
			vals["reason"] = r[ReasonBlacklisted]
		case v.reason == "car park full":
			vals["reason"] = r[ReasonFull]
		case strings.HasPrefix(v.reason, "already inside"):
			vals["reason"] = r[ReasonInside]
		default:
			vals["reason"] = r[ReasonOther]
		}
	case vUnknown:
		s.moment = MomentExitUnknown
	case vWaitPay:
		s.moment = MomentExitDue
	case vAutoPay:
		s.moment = MomentExitAutoPay
	case vReleased:
		switch {
		case l.cfg.Kind == Entry:
			s.moment = MomentEntryAdmitted
		case strings.Contains(v.reason, "contactless"):
			s.moment = MomentExitContactless
		case strings.HasPrefix(v.reason, "free") || strings.Contains(v.reason, "nothing due") || (q.Total == 0 && q.Paid == 0):
			s.moment = MomentExitFree
		default:
			s.moment = MomentExitPaid
		}
	}
	s.key = fmt.Sprintf("%s|%s|%s|%d|%s", s.moment, v.plate, v.recordID, fee, vals["reason"])
	return s
}

// noteDisplay posts the lane's scene when it changed (on the lane's
// goroutine, after the event's decision and barrier command).
func (l *lane) noteDisplay() {
	a := l.disp.Load()
	if a == nil {
		return
	}
	s := l.sceneOf()
	if s.key == l.dispKey {
		return
	}
	l.dispKey = s.key
	if s.key == "idle" {
		s = &scene{}
	}
	a.post(s)
	if s.moment == MomentEntryAdmitted || s.moment == MomentExitPaid || s.moment == MomentExitFree || s.moment == MomentExitContactless {
		l.hub.refreshBoards(l) // the free spaces changed
	}
}

// startDisplay starts the lane's announcer; the returned func stops it,
// waits for it and halts the board.
func (l *lane) startDisplay(ctx context.Context) func() {
	if l.cfg.Display == nil || l.cfg.Display.Device == nil {
		return func() {}
	}
	a := l.hub.newAnnouncer(l.cfg.Name, l.cfg.Kind, *l.cfg.Display)
	l.disp.Store(a)
	actx, cancel := context.WithCancel(ctx)
	go a.run(actx)
	return func() {
		cancel() // also when the lane ends by a panic
		<-a.done
		if err := l.cfg.Display.Device.Halt(); err != nil {
			l.log.Warn("display halt", "lane", l.cfg.Name, "err", err)
		}
	}
}

// DisplayStatus returns the state of lane's board; false when the lane
// has none.
func (c *Controller) DisplayStatus(lane string) (DisplayState, bool) {
	l, ok := c.lane(lane)
	if !ok {
		return DisplayState{}, false
	}
	a := l.disp.Load()
	if a == nil {
		return DisplayState{}, false
	}
	return a.status(), true
}

// DisplaysSettled reports whether every lane's board has been sent all it
// was asked to show (the demo waits for it; the lanes never do).
func (c *Controller) DisplaysSettled() bool {
	for _, l := range c.lanes {
		if a := l.disp.Load(); a != nil && !a.settled() {
			return false
		}
	}
	return true
}
