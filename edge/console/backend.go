package console

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Sentinel errors a Backend returns and the console branches on.
var (
	// ErrNotSim: a sim command on a board that is not the sim board.
	ErrNotSim = errors.New("not the sim board")
	// ErrNotFound: no such record, lane or camera.
	ErrNotFound = errors.New("not found")
)

// Backend is what the console asks, one role at a time. The appliance
// implements the roles; every method must be safe for concurrent use
// (several sessions may run at once). Mutating methods (LaneOpen,
// LaneClose, QueueRetry, UpdateApply, Sim) are audited by their role.
// Times are shown in the zone of Options.Location.
type Backend struct {
	Lanes   LaneBackend   // required
	Records RecordBackend // required
	Queue   QueueBackend  // required
	System  SystemBackend // required
	// Update nil: updates are not configured on this controller.
	Update UpdateBackend
	// Sim nil: not the sim board.
	Sim SimBackend
	// Display nil: no boards ("no display" for every lane).
	Display DisplayBackend
	// Site nil: this box is the car park's only one (no [site]).
	Site SiteBackend
}

// LaneBackend is the lanes: barriers, loops and cameras.
type LaneBackend interface {
	Lanes() []LaneInfo
	// LaneOpen raises the barrier of lane; reason is required and audited.
	LaneOpen(ctx context.Context, lane, reason string) error
	// LaneClose lowers the barrier of lane (unless its safety loop is
	// occupied); reason is required and audited.
	LaneClose(ctx context.Context, lane, reason string) error
	Loops() []LoopInfo
	// Camera returns the camera of lane, with its last frames, newest
	// first; ErrNotFound for an unknown lane.
	Camera(lane string) (CameraInfo, error)
}

// RecordBackend is the parking records and what they are worth.
type RecordBackend interface {
	// Records returns up to limit records, newest first; plate "" means
	// any plate, otherwise the records of that plate (look-alikes too).
	Records(plate string, limit int) ([]RecordInfo, error)
	// Record returns one record by ID; ErrNotFound if there is none.
	Record(id string) (RecordInfo, error)
	// Arrears lists the arrears (欠费) of plate, or of every plate when
	// plate is "".
	Arrears(plate string) ([]ArrearInfo, error)
	// Quote prices the open record of plate as if it left now;
	// ErrNotFound if the plate has no open record.
	Quote(plate string) (QuoteInfo, error)
	// QuoteMinutes prices a stay of minutes with the configured tariff.
	QuoteMinutes(minutes int) (QuoteInfo, error)
	// Report renders the reconciliation of a day (YYYY-MM-DD in the car
	// park's zone; "" is today) as a table; a bad date is an error that
	// says which dates are valid.
	Report(day string) (string, error)
}

// QueueBackend is the uplink outbox and the platform it sends to.
type QueueBackend interface {
	Queue() QueueInfo
	// QueueRetry wakes the outbox to retry now; it returns how many
	// uplinks are due.
	QueueRetry(ctx context.Context) (int, error)
	// Net probes the platform now.
	Net(ctx context.Context) (NetInfo, error)
}

// SystemBackend is the appliance as a whole: its summary, clock,
// configuration, audit log and version.
type SystemBackend interface {
	// Status is the one-screen summary; Net in it is the last known
	// reachability, not a new probe.
	Status() StatusInfo
	Spaces() SpacesInfo
	// Config is the running configuration as text, secrets already
	// masked.
	Config() string
	Time() TimeInfo
	// Log returns the last n audit entries, newest first.
	Log(n int) []LogLine
	Version() string
}

// UpdateBackend is the software update.
type UpdateBackend interface {
	UpdateStatus() (string, error)
	// UpdateApply installs the signed bundle at path.
	UpdateApply(ctx context.Context, path string) (string, error)
}

// SimBackend drives the simulated hardware.
type SimBackend interface {
	// Sim runs a sim command (args after "sim"); ErrNotSim when the
	// board is not the sim board.
	Sim(ctx context.Context, args []string) (string, error)
}

// StatusInfo is the summary `status` shows.
type StatusInfo struct {
	Time   TimeInfo
	Net    NetInfo // last known
	Queue  QueueInfo
	Lanes  []LaneInfo
	Spaces SpacesInfo
}

// LaneInfo is one lane as `lanes` and `status` show it.
type LaneInfo struct {
	ID      string // "entry1"
	Kind    string // "entry" or "exit"
	Barrier string // "closed", "open", "opening", "closing", "fault: …"
	State   string // the lane's state machine: "idle", "waiting for payment" …
	Camera  bool   // camera online
	Display string // the board: "" none, "ok", "NOT REACHED: …"
}

// LoopInfo is one inductive loop.
type LoopInfo struct {
	Lane     string
	Name     string // "arming", "safety"
	Occupied bool
	Since    time.Time // of the last change; zero if unknown
	Fault    string    // "" when healthy
}

// CameraInfo is one lane's camera.
type CameraInfo struct {
	Lane     string
	Port     string // "/dev/ttyUSB0 @ 9600"
	Online   bool
	LastSeen time.Time    // zero: never
	Errors   int          // frames rejected since start
	Frames   []FrameInfo  // newest first
	Uploads  []UploadInfo // a network camera's last pictures and their PicUpload, newest first
}

// UploadInfo is one record's entry or exit picture and its PicUpload.
type UploadInfo struct {
	RecordID string
	InOut    string // "in" or "out"
	Full     int    // bytes of the full frame kept; 0: none
	Plate    int    // bytes of the plate crop kept; 0: none
	Result   string // queued, delivered, rejected: …, dropped: …
}

// FrameInfo is one frame the camera sent.
type FrameInfo struct {
	At     time.Time
	Kind   string // "plate", "heartbeat", "bad"
	Plate  string
	Colour string
	Conf   int    // 0–100
	Err    string // why a bad frame was rejected
	// A network camera's read: the bytes of its full frame and plate crop
	// (0: none), and whether its confidence is below the lane's minimum.
	Full, Crop int
	LowConf    bool
}

// RecordInfo is one parking record.
type RecordInfo struct {
	ID        string
	Plate     string
	Colour    string
	State     string // "open", "closed", "paid" …
	EntryLane string
	EntryAt   time.Time
	ExitLane  string
	ExitAt    time.Time // zero while open
	FeeFen    int64
	PaidFen   int64
	Payment   string // "contactless", "scan", "prepaid", "free" …
	// OwedFen is what a closed record still owes: released owing while
	// the platform was unreachable, or left as an arrears (欠费).
	OwedFen int64
	Owing   string // why: "owed, contactless outcome pending", "arrears (欠费)"
	Note    string // the record's own note, e.g. arrears collected
}

// ArrearInfo is one arrears (欠费) of a plate: a contactless fee refused
// after the vehicle was let out owing, collected at its next exit.
type ArrearInfo struct {
	Plate     string
	RecordID  string // the stay that left it
	AmountFen int64
	Since     time.Time
	Reason    string
}

// QueueInfo is the uplink outbox.
type QueueInfo struct {
	Pending     int
	Counts      map[string]int // pending by kind ("outdata", "autopay", "picture" …)
	Oldest      time.Time      // zero when empty
	LastSent    time.Time
	LastError   string
	LastErrorAt time.Time
	// Dead: dead letters kept (DeadTotal: ever); DeadLast: the newest few,
	// newest first, as "time kind record: why".
	Dead      int
	DeadTotal uint64
	DeadLast  []string
}

// QuoteInfo is a price.
type QuoteInfo struct {
	Plate    string // "" for a quote by minutes
	RecordID string
	EntryAt  time.Time
	Minutes  int
	FeeFen   int64
	PaidFen  int64
	DueFen   int64
	Note     string // "free period", "daily cap" …
}

// SpacesInfo is the car park's occupancy.
type SpacesInfo struct {
	Total int
	Free  int
}

// NetInfo is the platform's reachability.
type NetInfo struct {
	Endpoint  string
	Reachable bool
	CheckedAt time.Time // zero: never checked
	Latency   time.Duration
	Err       string
}

// TimeInfo is the wall clock as the lanes use it.
type TimeInfo struct {
	Now   time.Time
	Zone  string // "Asia/Shanghai"
	Unset bool   // the wall clock reads earlier than the build: an estimate
}

// LogLine is one audit entry.
type LogLine struct {
	At     time.Time
	Who    string // "console serial", "platform", "lane exit1"
	Action string // "lane open"
	Detail string // "exit1: reason: fire drill"
}

// FormatFen formats integer fen as yuan with two decimals, with integer
// arithmetic only: 1234 → "12.34", -5 → "-0.05".
func FormatFen(fen int64) string {
	neg := fen < 0
	u := uint64(fen)
	if neg {
		u = -u // two's complement: right for math.MinInt64 too
	}
	yuan, cents := u/100, u%100
	s := strconv.FormatUint(yuan, 10) + "." + string(rune('0'+cents/10)) + string(rune('0'+cents%10))
	if neg {
		return "-" + s
	}
	return s
}
