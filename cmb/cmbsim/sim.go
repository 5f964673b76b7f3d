package cmbsim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"laned/cmb"
)

// Errors callers branch on.
var (
	// ErrUnknownEndpoint: a fault was set for a name that is not an uplink.
	ErrUnknownEndpoint = errors.New("unknown endpoint")
	// ErrNoLane: a lane callback was asked for but no lane URL is configured.
	ErrNoLane = errors.New("no lane url configured")
	// ErrBadLimit: an agreement's limit is negative.
	ErrBadLimit = errors.New("limit must be ≥ 0")
)

// Config configures a Sim.
type Config struct {
	AppID    string // the partner's appid; uplinks must carry it
	Secret   string // the appsecret; never logged
	ParkCode int64  // the car park's code, e.g. 5201020001
	// LaneURL is the lane's configured API address including any prefix,
	// e.g. "http://127.0.0.1:8080/"; callbacks go to LaneURL+"cmbParking/…".
	// Empty: no callbacks (they fail with ErrNoLane).
	LaneURL    string
	Guaranteed bool // start in guaranteed (保付) mode
	// ChargeDelay is how long a non-guaranteed AutoPay takes: the bank
	// answers only after the charge (real time, cut short by Close). A
	// guaranteed AutoPay is answered at once.
	ChargeDelay time.Duration
	// Contactless is how Indata and AutoPayStatus answers carry the
	// plate's agreement: ContactlessFull (the zero value), ContactlessNoData
	// or ContactlessNoUID. See SetContactlessAnswers.
	Contactless ContactlessAnswers
	// PayNotice sends a pay notice (cmb.PayCMB, with an order of its own,
	// not the channel_order) to the lane for every contactless payment
	// the bank collects: NoticeNone (the zero value), NoticeBefore (while
	// the AutoPay answer is still to go) or NoticeAfter (once it went).
	PayNotice NoticeTiming
	// Now is the clock for records and payment times; nil = time.Now.
	Now func() time.Time
	// Logger gets one line per uplink and per callback; nil = discard.
	Logger *slog.Logger
	// Rand makes order numbers (channel_order, pay orders); nil =
	// crypto/rand. Tests pass a seeded source for deterministic numbers.
	Rand io.Reader
	// HTTP sends the callbacks; nil = cmb.NewHTTPClient().
	HTTP cmb.HTTPDoer
	// CallbackBody is how callbacks are encoded (the bank has been seen to
	// send each); the zero value is a plain urlencoded form.
	CallbackBody cmb.BodyEncoding
	// MaxBody bounds an uplink's form body; 0 = 8 MiB (pictures).
	MaxBody int64
	// MaxKept bounds the uplinks and callbacks kept for Received and
	// Sent (the oldest go first); 0 = 100 000 each. Orders, agreements and
	// violations are never dropped.
	MaxKept int
}

// Sim is the simulated platform. All state is behind one mutex; the zero
// value is not usable, use New.
type Sim struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	http    cmb.HTTPDoer
	maxBody int64
	maxKept int
	done    chan struct{} // closed by Close: cuts delays short
	once    sync.Once
	body    atomic.Int32 // cmb.BodyEncoding of the callbacks

	mu         sync.Mutex
	rnd        io.Reader
	seq        int64
	guaranteed bool
	bank       bankState
	agreements map[string]Agreement
	failPay    map[string]bool
	faults     map[string]*faultState
	received   []Uplink
	orders     map[string]*Order
	orderSeq   []string
	records    map[string]*record
	violations []Violation
	park       ParkState
	sent       []Callback
	// pictures: the last PicUpload per record and flag (see Pictures).
	pictures     map[string][]Picture
	pictureOrder []string
}

// New returns a simulator in its initial state.
func New(cfg Config) *Sim {
	s := &Sim{cfg: cfg, now: cfg.Now, log: cfg.Logger, http: cfg.HTTP, maxBody: cfg.MaxBody, rnd: cfg.Rand, done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.http == nil {
		s.http = cmb.NewHTTPClient()
	}
	if s.maxBody <= 0 {
		s.maxBody = 8 << 20
	}
	s.maxKept = cfg.MaxKept
	if s.maxKept <= 0 {
		s.maxKept = 100_000
	}
	if s.rnd == nil {
		s.rnd = rand.Reader
	}
	s.body.Store(int32(cfg.CallbackBody))
	s.resetLocked()
	return s
}

// Close cuts short every answer held by a Delay fault. The handler keeps
// working (without delays) after Close.
func (s *Sim) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// Reset returns the simulator to its initial state: no uplinks, agreements,
// orders, faults or violations, and the configured mode.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Sim) resetLocked() {
	s.guaranteed = s.cfg.Guaranteed
	s.bank = bankState{chargeDelay: s.cfg.ChargeDelay, contactless: s.cfg.Contactless, notice: s.cfg.PayNotice, held: s.bank.held}
	s.agreements = map[string]Agreement{}
	s.failPay = map[string]bool{}
	s.faults = map[string]*faultState{}
	s.received = nil
	s.orders = map[string]*Order{}
	s.orderSeq = nil
	s.records = map[string]*record{}
	s.violations = nil
	s.park = ParkState{}
	s.sent = nil
	s.pictures, s.pictureOrder = nil, nil
}

// newIDLocked returns prefix + 20 hex digits from the random source.
func (s *Sim) newIDLocked(prefix string) string {
	var b [10]byte
	if _, err := io.ReadFull(s.rnd, b[:]); err != nil {
		// A failing random source is a broken test setup; fall back to
		// the sequence so numbers stay unique.
		s.seq++
		return fmt.Sprintf("%s%020d", prefix, s.seq)
	}
	return prefix + hex.EncodeToString(b[:])
}

func canonicalEndpoint(name string) (string, bool) {
	for _, ep := range cmb.Uplinks {
		if strings.EqualFold(ep, name) {
			return ep, true
		}
	}
	return "", false
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
