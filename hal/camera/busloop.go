package camera

// The bus's run loop: it attaches and detaches cameras, decodes what the
// reader brings, routes frames by address, suppresses duplicates, answers
// ACKs, reports cameras offline for silence and reopens a failed port.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"laned/hal"
	"laned/hal/clock"
)

// lastFrame is the last frame heard from an address.
type lastFrame struct {
	raw []byte
	at  time.Time
}

// duplicateWindow bounds how late a repeat counts as a retransmission:
// a camera repeats a PLATE 3 times 200 ms apart.
const duplicateWindow = 5 * time.Second

// maxUnclaimedLogged bounds the set of unclaimed addresses remembered for
// logging once each (there are only 247 addresses; this is a backstop).
const maxUnclaimedLogged = 256

// linkState is what a camera's consumer was last told.
type linkState int

const (
	linkUnknown linkState = iota
	linkOnline
	linkOffline
)

// busLoop is the state of the run goroutine; only it touches these
// fields and the loop-owned fields of the attached Ports.
type busLoop struct {
	b       *Bus
	dec     Decoder
	cams    map[int]*Port     // by address; 0: the any-address camera
	last    map[int]lastFrame // per address, for duplicates
	seen    map[int]bool      // unclaimed addresses already logged
	down    string            // why the port is not connected; "" while it is
	backoff time.Duration
	watch   clock.Timer // armed for the earliest silence deadline
	gap     clock.Timer
	reopen  clock.Timer
}

func (b *Bus) run(s *session, openErr error) {
	l := &busLoop{b: b, dec: b.cfg.Codec.NewDecoder(), cams: map[int]*Port{}, last: map[int]lastFrame{},
		seen: map[int]bool{}, backoff: b.cfg.ReopenMin}
	l.gap = b.clk.NewTimer(time.Hour)
	l.gap.Stop()
	l.reopen = b.clk.NewTimer(time.Hour)
	l.reopen.Stop()
	l.watch = b.clk.NewTimer(time.Hour)
	l.watch.Stop()
	if openErr != nil {
		b.log.Warn("camera port not available; retrying", "path", b.cfg.Path, "err", openErr)
		l.down = openErr.Error()
		l.reopen.Reset(l.nextBackoff())
	}
	defer func() {
		if s != nil {
			b.endSession(s)
		}
		l.gap.Stop()
		l.reopen.Stop()
		l.watch.Stop()
		if b.cfg.DE != nil {
			if err := b.cfg.DE.Out(false); err != nil {
				b.log.Warn("driver enable low at close", "err", err)
			}
		}
		for _, p := range l.cams {
			p.online.Store(false)
			p.stop()
		}
		for _, p := range l.cams {
			<-p.done
		}
		close(b.done)
	}()
	for {
		var chunks <-chan chunk
		if s != nil {
			chunks = s.chunks
		}
		select {
		case <-b.closing:
			return
		case req := <-b.attachC:
			req.reply <- l.attach(req.p)
		case req := <-b.detachC:
			delete(l.cams, req.p.addr)
			l.rearm()
			last := len(l.cams) == 0
			req.reply <- last
			if last {
				return
			}
		case c := <-chunks:
			if c.err != nil {
				b.endSession(s)
				s = nil
				l.handle(l.dec.Flush(b.clk.Now()))
				b.line.midFrame.Store(false)
				l.gap.Stop()
				b.log.Warn("camera port failed; reopening", "path", b.cfg.Path, "err", c.err)
				l.down = "port error: " + c.err.Error()
				l.reopen.Reset(l.nextBackoff()) // armed before anyone hears of it
				for _, p := range l.cams {
					l.offline(p, b.clk.Now(), l.down)
				}
				continue
			}
			l.handle(l.dec.Feed(c.data, c.at))
			b.line.midFrame.Store(l.dec.Pending() > 0)
			if l.dec.Pending() > 0 {
				l.gap.Reset(b.cfg.InterFrameGap)
			} else {
				l.gap.Stop()
			}
		case <-l.gap.C():
			l.handle(l.dec.Flush(b.clk.Now()))
			b.line.midFrame.Store(false)
		case now := <-l.watch.C():
			for _, p := range l.cams {
				if !p.deadline.IsZero() && !p.deadline.After(now) {
					p.deadline = time.Time{}
					l.offline(p, now, fmt.Sprintf("no frame for %s", 3*p.period))
				}
			}
			l.rearm()
		case <-l.reopen.C():
			sp, err := b.openPort()
			if err != nil {
				d := l.nextBackoff()
				b.log.Debug("reopen camera port", "err", err, "retry_in", d)
				l.reopen.Reset(d)
				continue
			}
			b.reopens.Add(1)
			b.log.Info("camera port reopened", "path", b.cfg.Path)
			l.down = ""
			l.dec = b.cfg.Codec.NewDecoder()
			clear(l.last) // a camera that reappears may restart its SEQ
			now := b.clk.Now()
			for _, p := range l.cams {
				if p.period > 0 {
					p.deadline = now.Add(3 * p.period)
				}
			}
			l.rearm()
			s = b.startSession(sp)
		}
	}
}

// attach adds p unless its address is taken or the codec cannot tell it
// from the cameras already on the bus.
func (l *busLoop) attach(p *Port) error {
	b := l.b
	bad := func(format string, a ...any) error {
		return fmt.Errorf("camera: attach %s to %s: %s: %w", p.name, b.cfg.Name, fmt.Sprintf(format, a...), ErrConfig)
	}
	if other := l.cams[p.addr]; other != nil {
		return bad("address %d already used by camera %s", p.addr, other.name)
	}
	if len(l.cams) > 0 {
		var others []string
		for _, o := range l.cams {
			others = append(others, o.name)
		}
		slices.Sort(others)
		switch {
		case !b.addressed:
			return bad("codec %s carries no camera address, so the bus cannot be shared (camera %s is on it); give the template an addr field", b.cfg.Codec.Name(), others[0])
		case p.addr == 0:
			return bad("a camera listening to any address (address 0) needs a bus of its own (camera %s is on it)", others[0])
		case l.cams[0] != nil:
			return bad("camera %s listens to any address on it", l.cams[0].name)
		}
	}
	l.cams[p.addr] = p
	now := b.clk.Now()
	if p.period > 0 {
		p.deadline = now.Add(3 * p.period)
		l.rearm()
	}
	if l.down != "" {
		l.offline(p, now, l.down)
	}
	return nil
}

// rearm points the silence timer at the earliest deadline, or stops it.
// The timer's wait is counted from the clock's reading now, not from the
// instant the caller handled (a watch tick's time is already past when
// the clock moved on meanwhile; a wait from it would overshoot).
func (l *busLoop) rearm() {
	now := l.b.clk.Now()
	var first time.Time
	for _, p := range l.cams {
		if !p.deadline.IsZero() && (first.IsZero() || p.deadline.Before(first)) {
			first = p.deadline
		}
	}
	if first.IsZero() {
		l.watch.Stop()
		return
	}
	l.watch.Reset(max(first.Sub(now), 0))
}

func (l *busLoop) nextBackoff() time.Duration {
	d := l.backoff
	l.backoff = min(2*l.backoff, l.b.cfg.ReopenMax)
	return d
}

// route finds the camera a frame is for: the one at its address, else
// the any-address camera; a frame without an address (template without
// addr) goes to the bus's only camera.
func (l *busLoop) route(f *Frame) *Port {
	if f.Addr == 0 {
		if len(l.cams) == 1 {
			for _, p := range l.cams {
				return p
			}
		}
		return nil
	}
	if p := l.cams[f.Addr]; p != nil {
		return p
	}
	return l.cams[0]
}

// handle acts on decoder results: route, ACK, suppress duplicates, emit.
func (l *busLoop) handle(res []Result) {
	b := l.b
	for _, r := range res {
		if r.Frame == nil {
			b.rejected.Add(1)
			b.log.Debug("rejected bytes", "hex", hex.EncodeToString(r.Rejected), "reason", r.Reason)
			if b.cfg.OnReject != nil {
				b.cfg.OnReject(r)
			}
			continue
		}
		f := r.Frame
		if f.Event.Kind == 0 {
			// Our own frames echoed by the transceiver, or another
			// controller's.
			b.foreign.Add(1)
			continue
		}
		p := l.route(f)
		if p == nil {
			b.unclaimed.Add(1)
			if !l.seen[f.Addr] && len(l.seen) < maxUnclaimedLogged {
				l.seen[f.Addr] = true
				b.log.Warn("frames from a camera address no lane is configured for; not acknowledged", "addr", f.Addr)
			}
			continue
		}
		b.frames.Add(1)
		p.frames.Add(1)
		l.backoff = b.cfg.ReopenMin
		if p.period > 0 {
			now := b.clk.Now()
			p.deadline = now.Add(3 * p.period)
			l.rearm()
		}
		addr := f.Addr
		if addr == 0 {
			addr = p.addr
		}
		if p.state != linkOnline {
			p.state = linkOnline
			p.online.Store(true)
			p.push(hal.PlateEvent{Kind: hal.KindOnline, Addr: addr, Colour: hal.ColourUnknown, At: r.At})
		}
		err := b.send(func(seq byte) ([]byte, error) { return b.cfg.Codec.Ack(f, seq), nil })
		if err != nil {
			b.log.Warn("acknowledge frame", "addr", f.Addr, "seq", f.Seq, "err", err)
		}
		if f.Seq >= 0 {
			last, ok := l.last[f.Addr]
			if ok && bytes.Equal(last.raw, f.Raw) && r.At.Sub(last.at) <= duplicateWindow {
				b.duplicates.Add(1)
				p.duplicates.Add(1)
				continue
			}
			l.last[f.Addr] = lastFrame{raw: f.Raw, at: r.At}
		}
		ev := f.Event
		ev.Addr = addr
		ev.At = r.At
		p.push(ev)
	}
}

func (l *busLoop) offline(p *Port, at time.Time, detail string) {
	if p.state == linkOffline {
		return
	}
	p.state = linkOffline
	p.online.Store(false)
	p.push(hal.PlateEvent{Kind: hal.KindOffline, Addr: p.addr, Colour: hal.ColourUnknown, At: at, Detail: detail})
}
