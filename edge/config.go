package edge

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/clock"
	"laned/store"
)

// What the appliance is made of: its lanes, its behaviour (Config, with
// each default defined here once) and what it works with (Deps).

// LaneKind tells entries from exits.
type LaneKind int

const (
	Entry LaneKind = iota + 1
	Exit
)

func (k LaneKind) String() string {
	if k == Entry {
		return "entry"
	}
	return "exit"
}

// LaneConfig is one physical lane and its devices.
type LaneConfig struct {
	Name    string
	Kind    LaneKind
	Code    int      // in_code for an entry, out_code for an exit (1–255)
	Arming  hal.Loop // the loop before the barrier: a vehicle waiting
	Safety  hal.Loop // the loop under the barrier: never close on it
	Barrier hal.Barrier
	Camera  hal.Camera
	// MinConfidence: a read below it (hal.PlateEvent.Conf) is a misread
	// candidate, matched like a look-alike plate. 0: every read counts.
	MinConfidence int
	Display       *LaneDisplay // nil: no board
}

// Spaces is the car park's capacity.
type Spaces struct {
	Total int // all spaces
	VIP   int // of which reserved for VIP / monthly vehicles
}

// Config is the appliance's behaviour. Zero values take the defaults.
type Config struct {
	ParkCode int64
	Spaces   Spaces
	// Guaranteed: the platform is in guaranteed (保付) mode: it answers an
	// AutoPay at once and completes the charge itself. It changes how fast
	// the answer comes, not what the lane does: in both modes a contactless
	// vehicle is released on the answer status 0, never on the request.
	Guaranteed bool
	// OfflineRelease: when an AutoPay is not answered within AutoPayWait
	// (the platform cannot be reached), a bound vehicle whose fee is
	// within its limit is let out with the fee owed: the record stays
	// outstanding, its Outdata waits for the AutoPay's outcome, and a later
	// refusal leaves an arrears on the plate, collected at its next exit.
	// False: the driver pays by scan.
	OfflineRelease bool
	// ReplaceStale: a plate that enters while it has an open record closes
	// the stale record and opens a new one; when false the entry is
	// refused and a guard must decide.
	ReplaceStale bool
	// DedupeWindow: the same plate read on the same lane within it is one
	// event. Default 10 s.
	DedupeWindow time.Duration
	// AutoPayWait bounds the wait for an AutoPay's answer before the lane
	// falls back to scan-to-pay (or, with OfflineRelease, lets the vehicle
	// out owing). Default 15 s.
	AutoPayWait time.Duration
	// PassTimeout: a barrier raised for a vehicle that never crossed the
	// safety loop is lowered after this, once both loops are clear.
	// Default 60 s.
	PassTimeout time.Duration
	// SpaceInfoMinGap and SpaceInfoPeriod pace SpaceInfo uplinks: on a
	// change at most one per gap, and one per period anyway. Defaults
	// 10 s and 5 min.
	SpaceInfoMinGap time.Duration
	SpaceInfoPeriod time.Duration
	// RetryBase and RetryCap shape the outbox's exponential backoff with
	// full jitter. Defaults 1 s and 5 min.
	RetryBase time.Duration
	RetryCap  time.Duration
	// MaxRefusals: an uplink the platform refuses (status ≠ 0) this many
	// times in a row with the same answer is dead-lettered, audited, so
	// that its record's later uplinks go on. Default 5.
	MaxRefusals int
	// HoldElsewhere: in a site, how long at most an uplink of a record
	// waits for an earlier one of the same record still queued at another
	// box (the Outdata here for the Indata there) before it is sent anyway
	// (dispatch_site.go). Default 10 min.
	HoldElsewhere time.Duration
	// TollCollector names this controller in charge items. Default "laned".
	TollCollector string
	// SendTimeout bounds one uplink exchange. Default 10 s.
	SendTimeout time.Duration
	// Retention: closed records whose exit is older are deleted (with
	// their payments), in small batches, once an hour. Default 90 days.
	Retention time.Duration
	// DropAfter: queued space counts, config and status uplinks older than
	// this are dead-lettered (records and money never are). Default 72 h.
	DropAfter time.Duration
	// Display is what the lanes' boards show and say (display.go).
	Display DisplayConfig
	// LaneBox: this box is one of a site's boxes but not its gateway.
	// The car park's own uplinks (SpaceInfo, ConfigUpload) are the
	// gateway's; this box sends only those of the records it made.
	LaneBox bool
	// Site: the rules of a box in a site of several (noentry.go); the
	// zero value is one box, as ever.
	Site SiteRules
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DedupeWindow, 10*time.Second)
	def(&c.AutoPayWait, 15*time.Second)
	def(&c.PassTimeout, 60*time.Second)
	def(&c.SpaceInfoMinGap, 10*time.Second)
	def(&c.SpaceInfoPeriod, 5*time.Minute)
	def(&c.RetryBase, time.Second)
	def(&c.RetryCap, 5*time.Minute)
	def(&c.SendTimeout, 10*time.Second)
	def(&c.Retention, 90*24*time.Hour)
	def(&c.DropAfter, 72*time.Hour)
	def(&c.Site.NoEntryHold, 24*time.Hour)
	def(&c.HoldElsewhere, 10*time.Minute)
	if c.MaxRefusals <= 0 {
		c.MaxRefusals = 5
	}
	if c.TollCollector == "" {
		c.TollCollector = "laned"
	}
	c.Display = c.Display.withDefaults()
	return c
}

// Sender sends one signed uplink; *cmb.Client is one.
type Sender interface {
	Send(ctx context.Context, name string, params url.Values) (cmb.Envelope, error)
}

// Deps are what the controller works with.
type Deps struct {
	Store  *store.DB
	Tariff *tariff.Engine
	Uplink Sender
	Clock  clock.Clock // nil: the wall clock
	Rand   *rand.Rand  // jitter and request orders; nil: seeded from the clock
	Logger *slog.Logger
	// Pictures keeps the network cameras' pictures; nil: none are kept
	// and no PicUpload is sent.
	Pictures *store.Pictures
}
