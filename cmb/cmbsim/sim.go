package cmbsim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"laned/cmb"
)

// AllEndpoints is the fault key that applies to every uplink endpoint
// without a fault of its own.
const AllEndpoints = "*"

// Answer statuses of the simulated platform's own refusals. The bank does
// not publish its codes; these are stable for tests. Protocol refusals
// (bad sign, wrong park, malformed field) use cmb's Status* codes.
const (
	StatusNoAgreement   = 1 // AutoPay: the plate has no contactless agreement
	StatusOverLimit     = 2 // AutoPay: amount above the agreement's limit
	StatusPaymentFailed = 3 // AutoPay, non-guaranteed: the driver's payment failed
	StatusNoSuchOrder   = 4 // PayOrderStatus: no such (charged) order
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

// Agreement is a contactless (无感) agreement: the plate may be charged by
// AutoPay up to Limit fen per payment.
type Agreement struct {
	Plate string `json:"plate"`
	Limit int64  `json:"limit"`
	Since int64  `json:"since"` // UNIX seconds
	// PostURL is where this plate's AutoPay is to be sent (autoPayBind's
	// post_url); empty: the platform's own /api/AutoPay.
	PostURL string `json:"post_url,omitempty"`
}

// Fault is what the simulator does wrong on an endpoint. The zero Fault is
// no fault. When several are set: Down wins, then Status; otherwise the
// request is processed, the answer waits Delay, and then Cut or Malformed
// spoil it.
type Fault struct {
	// Down answers HTTP 503 without processing the request.
	Down bool `json:"down,omitempty"`
	// Delay holds the answer this long (real time, cut short when the
	// client goes away). The request is processed before the wait: a
	// client that gives up has an outcome-unknown request that took effect.
	Delay time.Duration `json:"-"`
	// Hold processes the request, then holds the answer until
	// ReleaseHeld (or Close): a test sees the request arrive and acts
	// before the answer goes, without timing anything.
	Hold bool `json:"hold,omitempty"`
	// Cut processes the request, then closes the connection without an
	// answer: the outcome-unknown case (an AutoPay IS charged).
	Cut bool `json:"cut,omitempty"`
	// Malformed processes the request, then answers with a body that is
	// not JSON.
	Malformed bool `json:"malformed,omitempty"`
	// Status ≠ cmb.StatusOK refuses the request with this status without
	// processing.
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Times limits the fault to the next Times requests; 0 = until cleared.
	Times int `json:"times,omitempty"`
}

// String lists the fault's parts, e.g. "cut,times=2", or "none".
func (f Fault) String() string {
	var parts []string
	if f.Down {
		parts = append(parts, "down")
	}
	if f.Delay > 0 {
		parts = append(parts, "delay="+f.Delay.String())
	}
	if f.Hold {
		parts = append(parts, "hold")
	}
	if f.Cut {
		parts = append(parts, "cut")
	}
	if f.Malformed {
		parts = append(parts, "malformed")
	}
	if f.Status != cmb.StatusOK {
		parts = append(parts, fmt.Sprintf("status=%d", f.Status))
	}
	if len(parts) == 0 {
		return "none"
	}
	if f.Times > 0 {
		parts = append(parts, fmt.Sprintf("times=%d", f.Times))
	}
	return strings.Join(parts, ",")
}

// isZero reports no fault.
func (f Fault) isZero() bool {
	return !f.Down && f.Delay <= 0 && !f.Hold && !f.Cut && !f.Malformed && f.Status == cmb.StatusOK
}

// How an uplink's answer went out.
const (
	OutcomeAnswered  = "answered"  // a JSON answer was written (status may be ≠ 0)
	OutcomeDown      = "down"      // HTTP 503, not processed
	OutcomeCut       = "cut"       // processed, connection cut without an answer
	OutcomeMalformed = "malformed" // processed, answered with a non-JSON body
	OutcomeGone      = "gone"      // processed, the client left before the answer
)

// Uplink is one request received on /api/*.
type Uplink struct {
	Seq          int64             `json:"seq"`
	Time         int64             `json:"time"` // UNIX seconds
	Endpoint     string            `json:"endpoint"`
	Path         string            `json:"path,omitempty"` // the URL path it arrived on
	Params       map[string]string `json:"params"`         // as received; a long pic_con is abbreviated
	Plate        string            `json:"plate,omitempty"`
	RecordID     string            `json:"record_id,omitempty"`
	RequestOrder string            `json:"request_order,omitempty"`
	Status       int               `json:"status"` // the envelope status produced (also when not delivered)
	Message      string            `json:"message,omitempty"`
	Outcome      string            `json:"outcome"`
	Fault        string            `json:"fault,omitempty"`
}

// Accepted reports whether the simulator processed the request with
// StatusOK (whether or not the answer reached the client).
func (u Uplink) Accepted() bool { return u.Outcome != OutcomeDown && u.Status == cmb.StatusOK }

// Filter selects received uplinks; empty fields match everything.
type Filter struct {
	Endpoint string `json:"endpoint,omitempty"`
	Plate    string `json:"plate,omitempty"`
	RecordID string `json:"record_id,omitempty"`
}

func (f Filter) match(u *Uplink) bool {
	return (f.Endpoint == "" || strings.EqualFold(f.Endpoint, u.Endpoint)) &&
		(f.Plate == "" || f.Plate == u.Plate) &&
		(f.RecordID == "" || f.RecordID == u.RecordID)
}

// Order is an AutoPay order, keyed by the lane's request_order.
type Order struct {
	RequestOrder string `json:"request_order"`
	Plate        string `json:"plate"`
	RecordID     string `json:"record_id"`
	Amount       int64  `json:"amount"`
	// Status and Message are the answer every AutoPay with this
	// request_order gets.
	Status  int    `json:"status"`
	Message string `json:"message,omitempty"`
	// Charged: the car park is paid for this order (cmb.StatusOK).
	Charged bool `json:"charged"`
	// Guaranteed: answered in guaranteed mode.
	Guaranteed bool `json:"guaranteed"`
	// Collected: the driver's payment went through; false for a
	// guaranteed order whose payment failed (the bank bears it).
	Collected    bool   `json:"collected"`
	ChannelOrder string `json:"channel_order,omitempty"`
	PayTime      int64  `json:"pay_time,omitempty"`
	Duration     int64  `json:"parking_duration"` // seconds since the record's Indata in_time, 0 if unknown
	Requests     int    `json:"requests"`         // AutoPay requests carrying this request_order
}

// Violation is an uplink that arrived out of order for its record, or a
// request_order reused for a different payment.
type Violation struct {
	Seq      int64  `json:"seq"` // of the offending uplink
	Endpoint string `json:"endpoint"`
	RecordID string `json:"record_id,omitempty"`
	Reason   string `json:"reason"`
}

// DoubleCharge is a record charged by more than one AutoPay order.
type DoubleCharge struct {
	RecordID string   `json:"record_id"`
	Orders   []string `json:"orders"` // the charged request_orders
}

// ParkState is what SpaceInfo and ConfigUpload last reported.
type ParkState struct {
	TotalEmpty      int64 `json:"total_empty"`
	VIPEmpty        int64 `json:"vip_empty"`
	TmpEmpty        int64 `json:"tmp_empty"`
	SpaceInfoAt     int64 `json:"space_info_at,omitempty"`
	ReservedOutTime int64 `json:"reserved_out_time"`
	ConfigAt        int64 `json:"config_at,omitempty"`
}

// record is what the simulator knows about one record_id.
type record struct {
	plate          string
	inTime         int64
	indata         bool // an Indata was accepted
	outdata        bool // an Outdata was accepted
	chargedOrders  []string
	violationsSeen map[string]bool
}

type faultState struct {
	Fault
	used int
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

// AddAgreement creates or replaces the plate's contactless agreement.
func (s *Sim) AddAgreement(plate string, limit int64) error {
	if plate == "" {
		return errors.New("cmbsim: add agreement: empty plate")
	}
	if limit < 0 {
		return fmt.Errorf("cmbsim: add agreement: %w", ErrBadLimit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agreements[plate] = Agreement{Plate: plate, Limit: limit, Since: s.now().Unix()}
	return nil
}

// RemoveAgreement ends the plate's agreement; it reports whether there was
// one.
func (s *Sim) RemoveAgreement(plate string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.agreements[plate]
	delete(s.agreements, plate)
	return ok
}

// Agreements lists the agreements by plate.
func (s *Sim) Agreements() []Agreement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Agreement, 0, len(s.agreements))
	for _, a := range s.agreements {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Agreement) int { return strings.Compare(a.Plate, b.Plate) })
	return out
}

// SetGuaranteed switches between guaranteed (true) and non-guaranteed
// AutoPay.
func (s *Sim) SetGuaranteed(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guaranteed = on
}

// Guaranteed reports the AutoPay mode.
func (s *Sim) Guaranteed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.guaranteed
}

// FailPayments makes every later AutoPay for plate fail to collect (on) or
// succeed (off). In non-guaranteed mode the AutoPay is refused; in
// guaranteed mode it is still answered with success.
func (s *Sim) FailPayments(plate string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.failPay[plate] = true
	} else {
		delete(s.failPay, plate)
	}
}

// SetFault sets endpoint's fault (AllEndpoints for every uplink without its
// own); a zero Fault clears it.
func (s *Sim) SetFault(endpoint string, f Fault) error {
	ep, ok := canonicalEndpoint(endpoint)
	if !ok && endpoint != AllEndpoints {
		return fmt.Errorf("cmbsim: set fault %q: %w", endpoint, ErrUnknownEndpoint)
	}
	if endpoint == AllEndpoints {
		ep = AllEndpoints
	}
	if f.Times < 0 {
		return fmt.Errorf("cmbsim: set fault %q: times must be ≥ 0", endpoint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.isZero() {
		delete(s.faults, ep)
		return nil
	}
	s.faults[ep] = &faultState{Fault: f}
	return nil
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]*faultState{}
}

// Faults returns the faults in force, by endpoint; Times counts down the
// requests left.
func (s *Sim) Faults() map[string]Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Fault, len(s.faults))
	for ep, f := range s.faults {
		g := f.Fault
		if g.Times > 0 {
			g.Times -= f.used
		}
		out[ep] = g
	}
	return out
}

// takeFault returns the fault for one request to ep and uses it up.
func (s *Sim) takeFaultLocked(ep string) Fault {
	f, ok := s.faults[ep]
	if !ok {
		f, ok = s.faults[AllEndpoints]
		ep = AllEndpoints
	}
	if !ok {
		return Fault{}
	}
	f.used++
	if f.Times > 0 && f.used >= f.Times {
		delete(s.faults, ep)
	}
	return f.Fault
}

// Received lists the uplinks received that match f, oldest first.
func (s *Sim) Received(f Filter) []Uplink {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Uplink
	for i := range s.received {
		if f.match(&s.received[i]) {
			u := s.received[i]
			u.Params = cloneMap(u.Params)
			out = append(out, u)
		}
	}
	return out
}

// Orders lists the AutoPay orders in the order they were first requested.
func (s *Sim) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.orderSeq))
	for _, k := range s.orderSeq {
		out = append(out, *s.orders[k])
	}
	return out
}

// Order returns the AutoPay order with this request_order.
func (s *Sim) Order(requestOrder string) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[requestOrder]
	if !ok {
		return Order{}, false
	}
	return *o, true
}

// ChargedCount is how many times the request_order was charged: 0 or 1
// (the simulator never charges an order twice; a test asserting 1 proves
// the lane's payment arrived).
func (s *Sim) ChargedCount(requestOrder string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[requestOrder]; ok && o.Charged {
		return 1
	}
	return 0
}

// RecordCharges is how many AutoPay orders charged the record: more than
// one is a double charge by the lane (different request_orders for one
// exit).
func (s *Sim) RecordCharges(recordID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.records[recordID]; ok {
		return len(r.chargedOrders)
	}
	return 0
}

// DoubleCharges lists the records charged by more than one order.
func (s *Sim) DoubleCharges() []DoubleCharge {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DoubleCharge
	for id, r := range s.records {
		if len(r.chargedOrders) > 1 {
			out = append(out, DoubleCharge{RecordID: id, Orders: slices.Clone(r.chargedOrders)})
		}
	}
	slices.SortFunc(out, func(a, b DoubleCharge) int { return strings.Compare(a.RecordID, b.RecordID) })
	return out
}

// OrderViolations lists the uplinks that broke "in order per record": an
// Outdata, AutoPay or entry picture before the record's Indata, an exit
// picture before its Outdata, or a request_order reused for a different
// payment. End-to-end tests assert it is empty.
func (s *Sim) OrderViolations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Park returns what SpaceInfo and ConfigUpload last reported.
func (s *Sim) Park() ParkState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.park
}

// Sent lists the callbacks sent to the lane, oldest first.
func (s *Sim) Sent() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.sent)
	for i := range out {
		out[i].Params = cloneMap(out[i].Params)
	}
	return out
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

func (s *Sim) recordLocked(id string) *record {
	r, ok := s.records[id]
	if !ok {
		r = &record{}
		s.records[id] = r
	}
	return r
}

func (s *Sim) violateLocked(seq int64, ep, recordID, reason string) {
	r := s.recordLocked(recordID)
	key := ep + "\x00" + reason
	if r.violationsSeen[key] {
		return // a retry of the same mistake is one violation
	}
	if r.violationsSeen == nil {
		r.violationsSeen = map[string]bool{}
	}
	r.violationsSeen[key] = true
	s.violations = append(s.violations, Violation{Seq: seq, Endpoint: ep, RecordID: recordID, Reason: reason})
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
