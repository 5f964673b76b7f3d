package edge

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"laned/cmb"
	"laned/hal"
)

// DisplayConfig is what every lane's board shows and says. Zero values
// take the defaults.
type DisplayConfig struct {
	Moments map[string]Moment // by Moment* name; a missing one takes its default
	Reasons map[string]string // by Reason* name; a missing one takes its default
	Park    string            // {park}; default "停车场"
	// Speak splits a sentence into the board's voices (the voice-index
	// table); nil: the whole sentence as text for a text-to-speech board.
	Speak func(sentence string) []hal.Phrase
	// SpokenFee is fen as the board says it ("15点5", "15"); nil: whole
	// yuan.
	SpokenFee func(fen int64) string
	// Hold is how long a passage's last text (admitted, paid) stays
	// before the idle text returns; default 15 s. Texts that wait for the
	// driver (fee due) stay until the vehicle leaves.
	Hold time.Duration
	// Timeout bounds one command to a board (its wait for a turn on a
	// shared bus); default 1 s.
	Timeout time.Duration
	// QRHost is the host of the platform's dynamic QR codes (cmb.QRHost),
	// for the console's qr and boards that show a QR code.
	QRHost string
}

func (d DisplayConfig) withDefaults() DisplayConfig {
	m := DefaultMoments()
	for k, v := range d.Moments {
		m[k] = v
	}
	d.Moments = m
	r := DefaultReasons()
	for k, v := range d.Reasons {
		r[k] = v
	}
	d.Reasons = r
	if d.Park == "" {
		d.Park = "停车场"
	}
	if d.Speak == nil {
		d.Speak = func(s string) []hal.Phrase {
			if s == "" {
				return nil
			}
			return []hal.Phrase{{Text: s}}
		}
	}
	if d.SpokenFee == nil {
		d.SpokenFee = func(fen int64) string { return fmt.Sprint(max(fen, 0) / 100) }
	}
	if d.Hold <= 0 {
		d.Hold = 15 * time.Second
	}
	if d.Timeout <= 0 {
		d.Timeout = time.Second
	}
	return d
}

// LaneDisplay is a lane's board.
type LaneDisplay struct {
	Device hal.Display
	Lines  int  // 2 or 4; default 4
	Voice  bool // the board speaks
	Volume int  // 0–9, set at start; negative: leave the board's own
}

// scene is what a lane wants its board to show: a moment with its
// values, or idle (moment "").
type scene struct {
	moment string
	vals   map[string]string
	fee    int64 // for the spoken fee
	key    string
}

// DisplayState is a lane's board as the console shows it.
type DisplayState struct {
	Device  string
	Moment  string    // the last moment shown; "" idle
	Lines   []string  // what the lane last put on the board (temporary, else idle)
	Said    string    // the last sentence said
	OK      bool      // the last command reached the board's line
	LastErr string    // the last failure
	LastOK  time.Time // the last command that went out
	Fails   uint64
}

// announcer drives one lane's board from its own goroutine, fed by the
// lane without ever blocking it: the lane posts its newest scene and the
// announcer shows the newest one it finds. A board that is slow, silent
// or unplugged delays nothing but its own texts.
type announcer struct {
	c    *Controller
	lane string
	kind LaneKind
	cfg  LaneDisplay
	dc   DisplayConfig

	mu      sync.Mutex
	next    *scene
	idleDue bool
	say     []hal.Phrase // a console `say`
	wake    chan struct{}
	state   DisplayState
	idle    []string // idle lines on the board
	busy    bool     // showing what it took
	done    chan struct{}
}

func newAnnouncer(c *Controller, name string, kind LaneKind, cfg LaneDisplay, dc DisplayConfig) *announcer {
	if cfg.Lines != 2 {
		cfg.Lines = 4
	}
	return &announcer{c: c, lane: name, kind: kind, cfg: cfg, dc: dc, wake: make(chan struct{}, 1),
		state: DisplayState{Device: cfg.Device.String()}, done: make(chan struct{})}
}

func (a *announcer) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// post hands the lane's newest scene over; it never blocks.
func (a *announcer) post(s *scene) {
	a.mu.Lock()
	a.next = s
	a.mu.Unlock()
	a.poke()
}

// refreshIdle asks for the idle text to be recomputed (free spaces
// changed).
func (a *announcer) refreshIdle() {
	a.mu.Lock()
	a.idleDue = true
	a.mu.Unlock()
	a.poke()
}

func (a *announcer) run(ctx context.Context) {
	defer close(a.done)
	if a.cfg.Volume >= 0 && a.cfg.Voice {
		a.do(func(ctx context.Context) error { return a.cfg.Device.SetVolume(ctx, a.cfg.Volume) })
	}
	a.do(func(ctx context.Context) error { return a.cfg.Device.SetClock(ctx, a.c.now()) })
	a.showIdle()
	tick := a.c.clk.NewTimer(a.untilMinute())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-tick.C():
			tick.Reset(a.untilMinute())
			a.mu.Lock()
			a.idleDue = true
			a.mu.Unlock()
		}
		a.mu.Lock()
		s, idle, say := a.next, a.idleDue, a.say
		a.next, a.idleDue, a.say = nil, false, nil
		a.busy = true
		a.mu.Unlock()
		if s != nil {
			a.show(s)
		}
		if say != nil {
			a.do(func(ctx context.Context) error { return a.cfg.Device.Say(ctx, say...) })
		}
		if s != nil || idle {
			a.showIdle()
		}
		if s != nil && s.moment == "" {
			a.c.log.Info("display", "lane", a.lane, "moment", "idle", "shown", shownText(a.status().Lines, ""))
		}
		a.mu.Lock()
		a.busy = false
		a.mu.Unlock()
	}
}

func (a *announcer) untilMinute() time.Duration {
	now := a.c.now()
	return now.Truncate(time.Minute).Add(time.Minute).Sub(now)
}

// do runs one board command under the announcer's own deadline (never a
// caller's) and keeps the board's health.
func (a *announcer) do(f func(ctx context.Context) error) bool {
	ctx, cancel := context.WithTimeout(context.Background(), a.dc.Timeout)
	defer cancel()
	err := f(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if a.state.OK || a.state.LastErr == "" {
			a.c.log.Warn("display not reachable", "lane", a.lane, "err", err)
		}
		a.state.OK, a.state.LastErr = false, err.Error()
		a.state.Fails++
		return false
	}
	if !a.state.OK && a.state.LastErr != "" {
		a.c.log.Info("display reachable again", "lane", a.lane)
	}
	a.state.OK, a.state.LastOK = true, a.c.now()
	return true
}

func (a *announcer) values(extra map[string]string) map[string]string {
	vals := map[string]string{"park": a.dc.Park, "time": a.c.now().Format("2006-01-02 15:04")}
	if sc, err := a.c.spaces(); err == nil {
		vals["free"] = fmt.Sprint(sc.TmpEmpty)
	}
	for k, v := range extra {
		vals[k] = v
	}
	return vals
}

// show puts a scene on the board: its lines as temporary text (held for
// Hold when the passage is over), or the idle text back; then its voice.
func (a *announcer) show(s *scene) {
	dev := a.cfg.Device
	if s.moment == "" {
		a.do(func(ctx context.Context) error { return dev.Cancel(ctx) })
		a.mu.Lock()
		a.state.Moment, a.state.Lines = "", a.idle
		a.mu.Unlock()
		return
	}
	m := a.dc.Moments[s.moment]
	if s.moment == momentTest {
		m = testMoment
	}
	vals := a.values(s.vals)
	lines := make([]string, len(m.Lines))
	for i, t := range m.Lines {
		lines[i] = Render(t, vals)
	}
	lines = Fold(lines, a.cfg.Lines)
	secs := 0
	colour := hal.DisplayRed
	switch s.moment {
	case MomentEntryAdmitted, MomentExitPaid, MomentExitFree, MomentExitContactless:
		secs, colour = int(a.dc.Hold/time.Second), hal.DisplayGreen
	case MomentExitAutoPay:
		colour = hal.DisplayYellow
	}
	if s.moment == MomentExitDue {
		a.showQR(s)
	}
	for i := range a.cfg.Lines {
		text := ""
		if i < len(lines) {
			text = lines[i]
		}
		c := colour
		if s.moment == momentTest {
			c = []hal.DisplayColour{hal.DisplayRed, hal.DisplayGreen, hal.DisplayYellow, hal.DisplayRed}[i]
			secs = 10
		}
		a.do(func(ctx context.Context) error { return dev.Show(ctx, i+1, text, secs, c) })
	}
	said := ""
	if (a.cfg.Voice || s.moment == momentTest) && m.Say != "" {
		vals["fee"] = a.dc.SpokenFee(s.fee)
		said = Render(m.Say, vals)
		if ps := a.dc.Speak(said); len(ps) > 0 {
			a.do(func(ctx context.Context) error { return dev.Say(ctx, ps...) })
		}
	}
	a.mu.Lock()
	a.state.Moment, a.state.Lines = s.moment, lines
	if said != "" {
		a.state.Said = said
	}
	a.mu.Unlock()
	a.c.log.Info("display", "lane", a.lane, "moment", s.moment, "shown", shownText(lines, said))
}

// shownText is a board's lines and voice on one line of log:
// "京A12345 | 停车 2时05分 | … ♪ 京A12345请缴费11元".
func shownText(lines []string, said string) string {
	var parts []string
	for _, l := range lines {
		if l != "" {
			parts = append(parts, l)
		}
	}
	out := strings.Join(parts, " | ")
	if said != "" {
		out += " ♪ " + said
	}
	return out
}

// idle reports whether the announcer has nothing left to show.
func (a *announcer) settled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.busy && a.next == nil && !a.idleDue && a.say == nil
}

// showIdle sets the idle lines that changed.
func (a *announcer) showIdle() {
	name := MomentIdleEntry
	if a.kind == Exit {
		name = MomentIdleExit
	}
	vals := a.values(nil)
	if a.kind == Entry && vals["free"] == "0" {
		name = MomentFull
	}
	m := a.dc.Moments[name]
	lines := make([]string, len(m.Lines))
	for i, t := range m.Lines {
		lines[i] = Render(t, vals)
	}
	lines = Fold(lines, a.cfg.Lines)
	for i := range a.cfg.Lines {
		text := ""
		if i < len(lines) {
			text = lines[i]
		}
		a.mu.Lock()
		same := i < len(a.idle) && a.idle[i] == text
		a.mu.Unlock()
		if same {
			continue
		}
		colour := hal.DisplayGreen
		if name == MomentFull {
			colour = hal.DisplayRed
		}
		if a.do(func(ctx context.Context) error { return a.cfg.Device.SetIdle(ctx, i+1, text, colour) }) {
			a.mu.Lock()
			for len(a.idle) <= i {
				a.idle = append(a.idle, "\x00")
			}
			a.idle[i] = text
			a.mu.Unlock()
		}
	}
	a.mu.Lock()
	if a.state.Moment == "" {
		a.state.Lines = append([]string(nil), a.idle...)
	}
	a.mu.Unlock()
}

func (a *announcer) status() DisplayState {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.state
	s.Lines = append([]string(nil), s.Lines...)
	return s
}

// showQR puts the exit's dynamic pay QR code on a board whose family has
// a QR command.
func (a *announcer) showQR(s *scene) {
	q, ok := a.cfg.Device.(hal.QRDisplay)
	if !ok || !q.CanShowQR() || a.dc.QRHost == "" {
		return
	}
	l, ok := a.c.lane(a.lane)
	if !ok {
		return
	}
	u := cmb.QRURL(a.dc.QRHost, a.c.cfg.ParkCode, s.vals["plate"], fmt.Sprint(l.cfg.Code))
	a.do(func(ctx context.Context) error { return q.ShowQR(ctx, u, "请缴费 "+s.vals["fee"]+"元", 0) })
}
