package edge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"laned/cmb"
	"laned/edge/console"
	"laned/edge/tariff"
	"laned/hal"
	"laned/store"
)

// Console is the technician console's view of the appliance: the
// Controller plus what only the daemon knows (its configuration, the
// updater, the board). It implements the roles of a console.Backend
// (see Roles); what it shows of the lanes and the uplinks it takes from
// the controller's snapshots, never from under their locks.
type Console struct {
	Ctl   *Controller
	Clock *SaneClock     // nil: the controller's clock, never "unset"
	Zone  *time.Location // the car park's zone; nil: the tariff's
	// Who names the console in the audit log, e.g. "console serial".
	Who string

	ConfigText  func() string // the configuration, secrets masked
	VersionText string
	NetEndpoint string
	NetProbe    func(ctx context.Context) error // nil: report the last uplink's outcome
	// UpdateStat and UpdateApplyF: both or neither; neither: updates
	// are not configured.
	UpdateStat   func() (string, error)
	UpdateApplyF func(ctx context.Context, path string) (string, error)
	SimF         func(ctx context.Context, args []string) (string, error) // nil: not the sim board
	Ports        map[string]string                                        // lane → "/dev/ttyUSB0 @ 115200"
}

// Roles is b as a console.Backend (and the compile-time check that b
// plays each role): without the update role when updates
// are not configured, without the sim role off the sim board (where
// Sim answers console.ErrNotSim).
func (b *Console) Roles() console.Backend {
	r := console.Backend{Lanes: b, Records: b, Queue: b, System: b, Display: b}
	if b.UpdateStat != nil && b.UpdateApplyF != nil {
		r.Update = b
	}
	if b.SimF != nil {
		r.Sim = b
	}
	return r
}

// loopsSince is when lane l's arming and safety loops last changed.
func (l *lane) loopsSince() [2]time.Time {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	return l.since
}

// recentFrames is a copy of the last reports of l's camera, newest last.
func (l *lane) recentFrames() []hal.PlateEvent {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	return slices.Clone(l.frames)
}

// uplinkState is the outbox's last delivery and the platform's last
// known reachability.
func (c *Controller) uplinkState() (lastSent time.Time, net netState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSent, c.netLast
}

func (b *Console) zone() *time.Location {
	if b.Zone != nil {
		return b.Zone
	}
	return b.Ctl.tariff.Load().Location()
}

func (b *Console) who() string {
	if b.Who == "" {
		return "console"
	}
	return b.Who
}

func (b *Console) Status() console.StatusInfo {
	return console.StatusInfo{Time: b.Time(), Net: b.lastNet(), Queue: b.Queue(), Lanes: b.Lanes(), Spaces: b.Spaces()}
}

func barrierText(st hal.BarrierState, fault string) string {
	switch st {
	case hal.BarrierUp:
		return "open"
	case hal.BarrierDown:
		return "closed"
	}
	s := st.String()
	if fault != "" {
		s += " (last fault: " + fault + ")"
	}
	return s
}

func (b *Console) Lanes() []console.LaneInfo {
	var out []console.LaneInfo
	for _, l := range b.Ctl.lanes {
		s := l.status()
		state := "idle"
		if s.State != "" {
			state = s.State
			if s.Vehicle != "" {
				state += " — " + s.Vehicle
			}
			if s.Reason != "" && s.Reason != s.State {
				state += ": " + s.Reason
			}
		}
		if held := b.Ctl.heldFor(s.Name); len(held) > 0 {
			state += fmt.Sprintf("; %d PENDING, the store refused: %s", len(held), strings.Join(held, "; "))
		}
		out = append(out, console.LaneInfo{ID: s.Name, Kind: s.Kind.String(), Barrier: barrierText(s.Barrier, s.LastFault), State: state, Camera: s.CameraOn, Display: b.Ctl.displayText(s.Name)})
	}
	return out
}

func (b *Console) LaneOpen(ctx context.Context, lane, reason string) error {
	return b.Ctl.ManualOpen(ctx, lane, b.who(), reason)
}

func (b *Console) LaneClose(ctx context.Context, lane, reason string) error {
	return b.Ctl.ManualClose(ctx, lane, b.who(), reason)
}

func (b *Console) Loops() []console.LoopInfo {
	var out []console.LoopInfo
	for _, l := range b.Ctl.lanes {
		since := l.loopsSince()
		out = append(out,
			console.LoopInfo{Lane: l.cfg.Name, Name: "arming", Occupied: l.cfg.Arming.Occupied(), Since: since[0]},
			console.LoopInfo{Lane: l.cfg.Name, Name: "safety", Occupied: l.cfg.Safety.Occupied(), Since: since[1]},
		)
	}
	return out
}

func (b *Console) Camera(lane string) (console.CameraInfo, error) {
	l, ok := b.Ctl.byName[lane]
	if !ok {
		return console.CameraInfo{}, fmt.Errorf("lane %q: %w", lane, console.ErrNotFound)
	}
	info := console.CameraInfo{Lane: lane, Port: b.Ports[lane], Online: l.cfg.Camera.Online()}
	frames := l.recentFrames()
	for i := len(frames) - 1; i >= 0; i-- {
		f := frames[i]
		if info.LastSeen.IsZero() {
			info.LastSeen = f.At
		}
		fi := console.FrameInfo{At: f.At, Kind: f.Kind.String(), Plate: f.Plate, Conf: f.Conf, Err: f.Detail}
		fi.Full, fi.Crop, fi.LowConf = frameExtras(l, f)
		if f.Kind == hal.KindPlate {
			fi.Colour = hal.ColourName(f.Colour)
		}
		info.Frames = append(info.Frames, fi)
	}
	info.Uploads = b.Ctl.uploadsOf(l)
	return info, nil
}

func (b *Console) laneName(kind LaneKind, code int) string {
	if l := b.Ctl.laneByCode(kind, code); l != nil {
		return l.cfg.Name
	}
	if code == 0 {
		return ""
	}
	return fmt.Sprintf("%s %d", kind, code)
}

func (b *Console) recordInfo(r store.Record) console.RecordInfo {
	info := console.RecordInfo{
		ID: r.ID, Plate: r.Plate, Colour: hal.ColourName(r.PlateColor), State: r.State.String(),
		EntryLane: b.laneName(Entry, r.InCode), EntryAt: r.InTime, FeeFen: r.Fees.Total, PaidFen: r.Fees.Paid,
	}
	if r.Unlicensed {
		info.Colour = "none (unlicensed)"
	}
	if r.State == store.StateClosed || r.State == store.StateLeaving {
		info.ExitLane, info.ExitAt = b.laneName(Exit, r.OutCode), r.OutTime
	}
	var kinds []string
	for _, it := range r.Items {
		kinds = append(kinds, cmb.PayType(it.PayType).String())
	}
	info.Payment = strings.Join(kinds, ", ")
	if r.State.Open() {
		if sum, _, err := b.Ctl.db.PaidFor(r.ID); err == nil {
			info.PaidFen = sum
		}
	}
	info.Note = r.Note
	switch {
	case r.State == store.StateClosed && r.AwaitOrder != "":
		info.OwedFen, info.Owing = r.Fees.Due, "owed, contactless outcome pending"
	case r.Arrears > 0:
		info.OwedFen, info.Owing = r.Arrears, "arrears (欠费)"
		if as, err := b.Ctl.db.Arrears(r.Plate); err == nil && !slices.ContainsFunc(as, func(a store.Arrear) bool { return a.RecordID == r.ID }) {
			info.Owing = "arrears (欠费), collected since"
		}
	}
	return info
}

func (b *Console) Arrears(plate string) ([]console.ArrearInfo, error) {
	as, err := b.Ctl.db.Arrears(plate)
	if err != nil {
		return nil, err
	}
	out := make([]console.ArrearInfo, 0, len(as))
	for _, a := range as {
		out = append(out, console.ArrearInfo{Plate: a.Plate, RecordID: a.RecordID, AmountFen: a.Amount, Since: a.Since, Reason: a.Reason})
	}
	return out, nil
}

func (b *Console) Records(plate string, limit int) ([]console.RecordInfo, error) {
	recs, err := b.Ctl.db.Records(plate, limit)
	if err != nil {
		return nil, err
	}
	out := make([]console.RecordInfo, 0, len(recs))
	for _, r := range recs {
		out = append(out, b.recordInfo(r))
	}
	return out, nil
}

func (b *Console) Record(id string) (console.RecordInfo, error) {
	r, err := b.Ctl.db.RecordByID(id)
	if errors.Is(err, store.ErrNotFound) {
		return console.RecordInfo{}, fmt.Errorf("record %q: %w", id, console.ErrNotFound)
	}
	if err != nil {
		return console.RecordInfo{}, err
	}
	return b.recordInfo(r), nil
}

func (b *Console) Queue() console.QueueInfo {
	now := b.Ctl.now()
	st, err := b.Ctl.db.OutboxStats(now)
	q := console.QueueInfo{Counts: map[string]int{}}
	if err != nil {
		q.LastError = err.Error()
		return q
	}
	q.Pending, q.LastError = st.Count, st.LastError
	q.Dead, q.DeadTotal = st.Dead, st.DeadTotal
	if st.Dead > 0 {
		if dead, err := b.Ctl.db.DeadLetters(st.Dead); err == nil {
			for i := len(dead) - 1; i >= 0 && len(q.DeadLast) < 5; i-- {
				d := dead[i]
				q.DeadLast = append(q.DeadLast, fmt.Sprintf("%s %s record %s: %s",
					d.DeadAt.In(b.zone()).Format("2006-01-02 15:04:05"), d.Kind, orDash(d.RecordID), d.DeadWhy))
			}
		}
	}
	for k, n := range st.ByKind {
		q.Counts[k] = n
	}
	if st.Count > 0 {
		q.Oldest = now.Add(-st.OldestAge)
	}
	var net netState
	q.LastSent, net = b.Ctl.uplinkState()
	if !net.OK && !net.At.IsZero() {
		q.LastErrorAt = net.At
	}
	return q
}

func (b *Console) QueueRetry(ctx context.Context) (int, error) { return b.Ctl.RetryNow() }

func (b *Console) quoteInfo(rec store.Record, q tariff.Quote) console.QuoteInfo {
	return console.QuoteInfo{
		Plate: rec.Plate, RecordID: rec.ID, EntryAt: rec.InTime, Minutes: int(q.Duration / time.Minute),
		FeeFen: q.Total, PaidFen: q.Paid, DueFen: q.Due, Note: string(q.Reason),
	}
}

func (b *Console) Quote(plate string) (console.QuoteInfo, error) {
	found, err := b.Ctl.findRecord(plate, 0, 0)
	if err != nil {
		return console.QuoteInfo{}, err
	}
	if len(found.ambiguous) > 0 {
		return console.QuoteInfo{}, fmt.Errorf("%s may be any of %s: %w", plate, strings.Join(found.ambiguous, ", "), console.ErrNotFound)
	}
	if !found.found {
		return console.QuoteInfo{}, fmt.Errorf("no vehicle %s inside: %w", plate, console.ErrNotFound)
	}
	rec := found.rec
	q, err := b.Ctl.quote(rec, b.Ctl.now())
	if err != nil {
		return console.QuoteInfo{}, err
	}
	return b.quoteInfo(rec, q), nil
}

func (b *Console) QuoteMinutes(minutes int) (console.QuoteInfo, error) {
	if minutes < 0 || minutes > 366*24*60 {
		return console.QuoteInfo{}, fmt.Errorf("minutes %d: want 0 to %d", minutes, 366*24*60)
	}
	now := b.Ctl.now()
	q, err := b.Ctl.tariff.Load().Quote(tariff.Query{Class: tariff.Small, Entry: now.Add(-time.Duration(minutes) * time.Minute), Exit: now})
	if err != nil {
		return console.QuoteInfo{}, err
	}
	return console.QuoteInfo{EntryAt: now.Add(-time.Duration(minutes) * time.Minute), Minutes: minutes, FeeFen: q.Total, DueFen: q.Due, Note: "small car, entering " + fmt.Sprint(minutes) + " min ago: " + string(q.Reason)}, nil
}

func (b *Console) Spaces() console.SpacesInfo {
	sc, err := b.Ctl.spaces()
	if err != nil {
		return console.SpacesInfo{Total: b.Ctl.cfg.Spaces.Total}
	}
	return console.SpacesInfo{Total: sc.Total, Free: sc.TotalEmpty}
}

func (b *Console) Config() string {
	if b.ConfigText == nil {
		return "(configuration not available)"
	}
	return b.ConfigText()
}

func (b *Console) lastNet() console.NetInfo {
	_, n := b.Ctl.uplinkState()
	return console.NetInfo{Endpoint: b.NetEndpoint, Reachable: n.OK, CheckedAt: n.At, Err: n.Detail}
}

func (b *Console) Net(ctx context.Context) (console.NetInfo, error) {
	if b.NetProbe == nil {
		return b.lastNet(), nil
	}
	t0 := time.Now()
	err := b.NetProbe(ctx)
	info := console.NetInfo{Endpoint: b.NetEndpoint, Reachable: err == nil, CheckedAt: b.Ctl.now(), Latency: time.Since(t0)}
	if err != nil {
		info.Err = err.Error()
	}
	return info, nil
}

func (b *Console) Time() console.TimeInfo {
	t := console.TimeInfo{Now: b.Ctl.now().In(b.zone()), Zone: b.zone().String()}
	if b.Clock != nil {
		t.Unset = b.Clock.Unset()
	}
	return t
}

func (b *Console) Log(n int) []console.LogLine {
	evs, err := b.Ctl.db.RecentAudit(n)
	if err != nil {
		return []console.LogLine{{At: b.Ctl.now(), Action: "error", Detail: err.Error()}}
	}
	out := make([]console.LogLine, 0, len(evs))
	for _, e := range evs {
		who := ""
		if e.Lane != 0 {
			who = fmt.Sprintf("lane %d", e.Lane)
		}
		out = append(out, console.LogLine{At: e.Time, Who: who, Action: e.Kind, Detail: e.Detail})
	}
	return out
}

func (b *Console) Report(day string) (string, error) {
	r, err := b.Ctl.DayReport(day, b.zone())
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := r.WriteTable(&sb); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func (b *Console) UpdateStatus() (string, error) {
	if b.UpdateStat == nil {
		return "", console.ErrNoUpdates
	}
	return b.UpdateStat()
}

func (b *Console) UpdateApply(ctx context.Context, path string) (string, error) {
	if b.UpdateApplyF == nil {
		return "", console.ErrNoUpdates
	}
	b.Ctl.audit("update", 0, "%s: update apply %s", b.who(), path)
	return b.UpdateApplyF(ctx, path)
}

func (b *Console) Version() string { return b.VersionText }

func (b *Console) Sim(ctx context.Context, args []string) (string, error) {
	if b.SimF == nil {
		return "", console.ErrNotSim
	}
	return b.SimF(ctx, args)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
