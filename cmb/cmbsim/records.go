package cmbsim

import (
	"slices"
	"strings"

	"laned/cmb"
)

// What the simulator saw and did, for tests to assert on: uplinks received,
// AutoPay orders, order violations, the park's state, callbacks sent.

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
