// Package consoletest provides Backend, an in-memory console.Backend with
// two lanes, a few records and an audit log, for the console's tests and
// for anything that serves a console in a test (the socket and serial
// transports). It is not a lane simulator: lane commands only change the
// barrier text and append to the audit log.
package consoletest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"laned/edge/console"
)

// Backend is a fake console.Backend. Its exported fields may be changed
// before use or under Lock; its methods are safe for concurrent use.
type Backend struct {
	sync.Mutex

	Now       time.Time
	Zone      string
	ClockSet  bool // false: Time().Unset
	LaneList  []console.LaneInfo
	LoopList  []console.LoopInfo
	Cameras   map[string]console.CameraInfo
	Recs      []console.RecordInfo // newest first
	Arrs      []console.ArrearInfo
	QueueInfo console.QueueInfo
	RetryDue  int
	RetryErr  error
	// FenPerHour prices quotes: every started hour after the first 15
	// free minutes.
	FenPerHour int64
	SpaceInfo  console.SpacesInfo
	ConfigText string
	NetInfo    console.NetInfo
	NetErr     error
	Audit      []console.LogLine // newest first
	UpdateText string
	UpdateErr  error
	// ReportText and ReportErr answer Report; ReportDays records its
	// arguments.
	ReportText string
	ReportErr  error
	ReportDays []string
	VersionStr string
	IsSim      bool
	// LaneErr, if set, is returned by LaneOpen and LaneClose.
	LaneErr error
	// SiteState answers Site; with Box "" Roles has no site role (a box
	// alone). SiteTaken and SiteErr answer SiteTakeover.
	SiteState console.SiteInfo
	SiteTaken int
	SiteErr   error

	// Calls records the mutating calls: "open exit1 fire drill",
	// "close entry1 …", "retry", "apply PATH", "sim ARGS".
	Calls []string
}

// Roles is b in every role of a console.Backend, boards included (and
// the compile-time check that b plays them).
func (b *Backend) Roles() console.Backend {
	r := console.Backend{Lanes: b, Records: b, Queue: b, System: b, Update: b, Sim: b, Display: b}
	if b.SiteState.Box != "" {
		r.Site = b
	}
	return r
}

// New returns a fake with lanes entry1 and exit1 at now (UTC+8, Asia/Shanghai).
func New(now time.Time) *Backend {
	cst := time.FixedZone("CST", 8*3600)
	now = now.In(cst)
	return &Backend{
		Now: now, Zone: "Asia/Shanghai", ClockSet: true,
		LaneList: []console.LaneInfo{
			{ID: "entry1", Kind: "entry", Barrier: "closed", State: "idle", Camera: true, Display: "ok"},
			{ID: "exit1", Kind: "exit", Barrier: "closed", State: "waiting for payment", Camera: false, Display: "NOT REACHED: write /dev/ttyUSB1: input/output error"},
		},
		LoopList: []console.LoopInfo{
			{Lane: "entry1", Name: "arming", Occupied: false, Since: now.Add(-90 * time.Second)},
			{Lane: "entry1", Name: "safety", Occupied: false},
			{Lane: "exit1", Name: "arming", Occupied: true, Since: now.Add(-12 * time.Second)},
			{Lane: "exit1", Name: "safety", Fault: "stuck occupied"},
		},
		Cameras: map[string]console.CameraInfo{
			"entry1": {Lane: "entry1", Port: "/dev/ttyUSB0 @ 9600", Online: true, LastSeen: now.Add(-3 * time.Second), Errors: 2,
				Frames: []console.FrameInfo{
					{At: now.Add(-3 * time.Second), Kind: "heartbeat"},
					{At: now.Add(-60 * time.Second), Kind: "plate", Plate: "京A12345", Colour: "blue", Conf: 97},
					{At: now.Add(-61 * time.Second), Kind: "bad", Err: "crc mismatch"},
				}},
			"exit1": {Lane: "exit1", Port: "/dev/ttyUSB1 @ 9600"},
		},
		Recs: []console.RecordInfo{
			{ID: "R2", Plate: "沪B77777", Colour: "green", State: "open", EntryLane: "entry1", EntryAt: now.Add(-30 * time.Minute)},
			{ID: "R1", Plate: "京A12345", Colour: "blue", State: "paid", EntryLane: "entry1", EntryAt: now.Add(-3 * time.Hour),
				ExitLane: "exit1", ExitAt: now.Add(-1 * time.Hour), FeeFen: 1234, PaidFen: 1234, Payment: "contactless"},
		},
		QueueInfo: console.QueueInfo{Pending: 3, Counts: map[string]int{"outdata": 2, "autopay": 1},
			Oldest: now.Add(-5 * time.Minute), LastSent: now.Add(-6 * time.Minute),
			LastError: "post outdata: connection refused", LastErrorAt: now.Add(-30 * time.Second)},
		RetryDue:   3,
		FenPerHour: 500,
		SpaceInfo:  console.SpacesInfo{Total: 200, Free: 12},
		ConfigText: "park_code = P001\nappid = 1234\nsecret = ****\nconsole.pin_hash = ****\n",
		NetInfo: console.NetInfo{Endpoint: "https://open.example/api", Reachable: false,
			CheckedAt: now.Add(-10 * time.Second), Err: "dial tcp: i/o timeout"},
		UpdateText: "running v1.2.3, previous v1.2.2, no trial in progress",
		VersionStr: "v1.2.3",
		Audit: []console.LogLine{
			{At: now.Add(-2 * time.Hour), Who: "platform", Action: "pay notice", Detail: "R1 12.34"},
		},
	}
}

func (b *Backend) audit(who, action, detail string) {
	b.Audit = slices.Insert(b.Audit, 0, console.LogLine{At: b.Now, Who: who, Action: action, Detail: detail})
}

func (b *Backend) Status() console.StatusInfo {
	b.Lock()
	defer b.Unlock()
	return console.StatusInfo{Time: b.timeLocked(), Net: b.NetInfo, Queue: b.QueueInfo,
		Lanes: slices.Clone(b.LaneList), Spaces: b.SpaceInfo}
}

func (b *Backend) Lanes() []console.LaneInfo {
	b.Lock()
	defer b.Unlock()
	return slices.Clone(b.LaneList)
}

func (b *Backend) lane(ctx context.Context, id, reason, op, barrier string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.Lock()
	defer b.Unlock()
	if b.LaneErr != nil {
		return b.LaneErr
	}
	for i := range b.LaneList {
		if b.LaneList[i].ID == id {
			b.LaneList[i].Barrier = barrier
			b.Calls = append(b.Calls, op+" "+id+" "+reason)
			b.audit("console", "lane "+op, id+": "+reason)
			return nil
		}
	}
	return fmt.Errorf("lane %s: %w", id, console.ErrNotFound)
}

func (b *Backend) LaneOpen(ctx context.Context, id, reason string) error {
	return b.lane(ctx, id, reason, "open", "open")
}

func (b *Backend) LaneClose(ctx context.Context, id, reason string) error {
	return b.lane(ctx, id, reason, "close", "closed")
}

func (b *Backend) Loops() []console.LoopInfo {
	b.Lock()
	defer b.Unlock()
	return slices.Clone(b.LoopList)
}

func (b *Backend) Camera(lane string) (console.CameraInfo, error) {
	b.Lock()
	defer b.Unlock()
	c, ok := b.Cameras[lane]
	if !ok {
		return console.CameraInfo{}, fmt.Errorf("camera %s: %w", lane, console.ErrNotFound)
	}
	return c, nil
}

func (b *Backend) Records(plate string, limit int) ([]console.RecordInfo, error) {
	b.Lock()
	defer b.Unlock()
	var out []console.RecordInfo
	for _, r := range b.Recs {
		if (plate == "" || r.Plate == plate) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (b *Backend) Record(id string) (console.RecordInfo, error) {
	b.Lock()
	defer b.Unlock()
	for _, r := range b.Recs {
		if r.ID == id {
			return r, nil
		}
	}
	return console.RecordInfo{}, console.ErrNotFound
}

func (b *Backend) Arrears(plate string) ([]console.ArrearInfo, error) {
	b.Lock()
	defer b.Unlock()
	var out []console.ArrearInfo
	for _, a := range b.Arrs {
		if plate == "" || a.Plate == plate {
			out = append(out, a)
		}
	}
	return out, nil
}

func (b *Backend) Queue() console.QueueInfo {
	b.Lock()
	defer b.Unlock()
	return b.QueueInfo
}

func (b *Backend) QueueRetry(ctx context.Context) (int, error) {
	b.Lock()
	defer b.Unlock()
	if b.RetryErr != nil {
		return 0, b.RetryErr
	}
	b.Calls = append(b.Calls, "retry")
	b.audit("console", "queue retry", "")
	return b.RetryDue, nil
}

// price: first 15 minutes free, then FenPerHour per started hour.
func (b *Backend) price(minutes int) int64 {
	if minutes <= 15 {
		return 0
	}
	return int64((minutes+59)/60) * b.FenPerHour
}

func (b *Backend) Quote(plate string) (console.QuoteInfo, error) {
	b.Lock()
	defer b.Unlock()
	for _, r := range b.Recs {
		if r.Plate == plate && r.State == "open" {
			m := int(b.Now.Sub(r.EntryAt) / time.Minute)
			fee := b.price(m)
			return console.QuoteInfo{Plate: plate, RecordID: r.ID, EntryAt: r.EntryAt, Minutes: m,
				FeeFen: fee, PaidFen: r.PaidFen, DueFen: fee - r.PaidFen}, nil
		}
	}
	return console.QuoteInfo{}, console.ErrNotFound
}

func (b *Backend) QuoteMinutes(minutes int) (console.QuoteInfo, error) {
	b.Lock()
	defer b.Unlock()
	fee := b.price(minutes)
	q := console.QuoteInfo{Minutes: minutes, FeeFen: fee, DueFen: fee}
	if fee == 0 {
		q.Note = "free period"
	}
	return q, nil
}

func (b *Backend) Spaces() console.SpacesInfo {
	b.Lock()
	defer b.Unlock()
	return b.SpaceInfo
}

func (b *Backend) Config() string {
	b.Lock()
	defer b.Unlock()
	return b.ConfigText
}

func (b *Backend) Net(ctx context.Context) (console.NetInfo, error) {
	if err := ctx.Err(); err != nil {
		return console.NetInfo{}, err
	}
	b.Lock()
	defer b.Unlock()
	return b.NetInfo, b.NetErr
}

func (b *Backend) timeLocked() console.TimeInfo {
	return console.TimeInfo{Now: b.Now, Zone: b.Zone, Unset: !b.ClockSet}
}

func (b *Backend) Time() console.TimeInfo {
	b.Lock()
	defer b.Unlock()
	return b.timeLocked()
}

func (b *Backend) Log(n int) []console.LogLine {
	b.Lock()
	defer b.Unlock()
	return slices.Clone(b.Audit[:min(n, len(b.Audit))])
}

func (b *Backend) Report(day string) (string, error) {
	b.Lock()
	defer b.Unlock()
	b.ReportDays = append(b.ReportDays, day)
	return b.ReportText, b.ReportErr
}

func (b *Backend) UpdateStatus() (string, error) {
	b.Lock()
	defer b.Unlock()
	return b.UpdateText, b.UpdateErr
}

func (b *Backend) UpdateApply(ctx context.Context, path string) (string, error) {
	b.Lock()
	defer b.Unlock()
	b.Calls = append(b.Calls, "apply "+path)
	if b.UpdateErr != nil {
		return "", b.UpdateErr
	}
	b.audit("console", "update apply", path)
	return "installed v1.2.4 from " + path + "; restarting into a trial", nil
}

func (b *Backend) Version() string {
	b.Lock()
	defer b.Unlock()
	return b.VersionStr
}

func (b *Backend) Sim(ctx context.Context, args []string) (string, error) {
	b.Lock()
	defer b.Unlock()
	if !b.IsSim {
		return "", console.ErrNotSim
	}
	b.Calls = append(b.Calls, "sim "+strings.Join(args, " "))
	return "sim: " + strings.Join(args, " ") + ": done", nil
}

// CallList returns a copy of Calls.
func (b *Backend) CallList() []string {
	b.Lock()
	defer b.Unlock()
	return slices.Clone(b.Calls)
}

func (b *Backend) Site() console.SiteInfo {
	b.Lock()
	defer b.Unlock()
	s := b.SiteState
	s.Members = slices.Clone(s.Members)
	return s
}

func (b *Backend) SiteTakeover(ctx context.Context, box, reason string) (int, error) {
	b.Lock()
	defer b.Unlock()
	if b.SiteErr != nil {
		return 0, b.SiteErr
	}
	b.Calls = append(b.Calls, "takeover "+box+" "+reason)
	b.audit("console", "site takeover", box+": "+reason)
	return b.SiteTaken, nil
}
