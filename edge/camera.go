package edge

import (
	"context"
	"fmt"
	"time"

	"laned/hal"
)

// A camera's reports at a lane: faults and status are noted; a read
// identifies the vehicle at the lane (or the next one in the queue) and
// hands it to the entry's or the exit's decision.

func (l *lane) onCamera(ctx context.Context, ev hal.PlateEvent) {
	l.note(func(s *laneStatus) {
		if len(l.frames) == keepFrames {
			l.frames = append(l.frames[:0], l.frames[1:]...)
		}
		l.frames = append(l.frames, ev)
		s.LastEvent = ev.At
		s.CameraFrame = fmt.Sprintf("%s %s %s conf %d", ev.At.Format(time.RFC3339), ev.Kind, ev.Plate, ev.Conf)
	})
	switch ev.Kind {
	case hal.KindOffline:
		l.log.Warn("camera offline", "lane", l.cfg.Name, "detail", ev.Detail)
		l.aud.audit("fault", l.cfg.Code, "%s: camera offline: %s", l.cfg.Name, ev.Detail)
		return
	case hal.KindOnline:
		l.log.Info("camera online", "lane", l.cfg.Name)
		return
	case hal.KindHeartbeat:
		if ev.Status != 0 {
			l.aud.audit("fault", l.cfg.Code, "%s: camera reports fault %d", l.cfg.Name, ev.Status)
		}
		return
	case hal.KindPlate, hal.KindNoPlate:
	default:
		return
	}
	if ev.Decision != nil {
		l.decision = ev.Decision
		defer l.tellCamera()
	}
	now := l.clk.Now()
	if ev.Kind == hal.KindPlate {
		if v := l.veh; v != nil && v.plate == ev.Plate && v.state != vIdentifying && v.state != vNoPlate {
			return // the same car read again: decided already
		}
		if (l.veh == nil || l.veh.state == vIdentifying) && ev.Plate == l.lastPlate && now.Sub(l.lastPlateAt) < l.rules.dedupeWindow {
			// The car that was just decided, seen once more (a late
			// frame): it must not become the next car's plate.
			return
		}
	}
	if l.veh != nil {
		switch l.veh.state {
		case vReleased:
			if l.safety || l.armed {
				// Released and not yet past: this is the next car in
				// the queue. Keep its read for when the lane is free.
				l.queued = &ev
				return
			}
			l.veh = nil
		case vAutoPay:
			return // a decision is under way; a re-read changes nothing
		}
	}
	if l.veh == nil {
		l.veh = &vehicle{at: now}
	}
	v := l.veh
	if ev.Kind == hal.KindNoPlate {
		if !l.cfg.Arming.Occupied() && !l.cfg.Safety.Occupied() && v.state == vIdentifying && v.plate == "" {
			l.veh = nil // nothing stands there: a capture of the empty lane
			return
		}
		if v.plate != "" && v.state != vIdentifying {
			return // a plate was read already; keep it
		}
		v.unlicensed, v.state, v.reason, v.read = true, vNoPlate, "no plate: scan the QR code", ev
		l.log.Info("vehicle without plate", "lane", l.cfg.Name)
		return
	}
	v.plate, v.colour, v.conf, v.unlicensed, v.read = ev.Plate, ev.Colour, ev.Conf, false, ev
	l.lastPlate, l.lastPlateAt = ev.Plate, now
	l.log.Info("plate", "lane", l.cfg.Name, "plate", ev.Plate, "colour", ev.Colour, "conf", ev.Conf)
	if l.cfg.Kind == Entry {
		l.decideEntry(ctx)
	} else {
		l.decideExit(ctx)
	}
	l.decided = true
}

// justStarted: no plate decided since the lane started, a pass timeout
// ago at most. A vehicle read now may be one whose decision was committed
// by the previous process, which stopped before the barrier moved.
func (l *lane) justStarted() bool {
	return !l.decided && l.clk.Now().Sub(l.startedAt) < l.rules.passTimeout
}

// reRaise lets out a vehicle whose decision committed before a restart
// (record recID) but whose barrier never moved.
func (l *lane) reRaise(ctx context.Context, recID, what string) {
	v := l.veh
	v.recordID, v.state, v.reason = recID, vReleased, what+" before a restart"
	l.log.Warn("decision committed before a restart: barrier raised again", "lane", l.cfg.Name, "plate", v.plate, "record", recID)
	l.aud.audit("barrier", l.cfg.Code, "%s: re-open for %s (record %s): %s before a restart", l.cfg.Name, v.plate, recID, what)
	l.raise(ctx, v.reason)
}
