package site

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"laned/store"
)

// hello is the heartbeat every box publishes on laned.hello.<box>.
type hello struct {
	Box       string `json:"box"`
	Gateway   bool   `json:"gateway"`
	Head      uint64 `json:"head"`
	Published uint64 `json:"published"`
	Entries   []int  `json:"entries"` // in_codes of its entry lanes
	Exits     []int  `json:"exits"`   // out_codes of its exit lanes
	At        int64  `json:"at"`      // its clock, UNIX seconds
}

// helloSeen is a member's last heartbeat and when it came (our monotonic
// clock).
type helloSeen struct {
	hello
	mono time.Duration
	when time.Time
}

// missedHellos is how many heartbeats a member may miss and still count
// as reachable.
const missedHellos = 3

// SetLanes sets the lane codes this box announces in its heartbeat.
func (n *Node) SetLanes(entries, exits []int) {
	n.mu.Lock()
	n.entries, n.exits = slices.Clone(entries), slices.Clone(exits)
	n.mu.Unlock()
}

func (n *Node) helloLoop() {
	defer n.wg.Done()
	for {
		n.sayHello()
		if !n.wait(helloEvery) {
			return
		}
	}
}

func (n *Node) sayHello() {
	head, published, err := n.st.ReplHead()
	if err != nil {
		n.log.Warn("site: hello: head", "err", err)
		return
	}
	n.mu.Lock()
	h := hello{Box: n.cfg.Box, Gateway: n.cfg.Gateway, Head: head, Published: published,
		Entries: n.entries, Exits: n.exits, At: n.cfg.Clock.Now().Unix()}
	n.mu.Unlock()
	b, _ := json.Marshal(h)
	if err := n.nc.Publish(helloSubject(n.cfg.Box), b); err != nil {
		n.log.Debug("site: hello", "err", err)
	}
}

// decodeHello reads a heartbeat received on subject.
func decodeHello(subject string, data []byte) (hello, error) {
	var h hello
	box, ok := strings.CutPrefix(subject, "laned.hello.")
	if !ok {
		return h, fmt.Errorf("hello on %q", subject)
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, err
	}
	if h.Box != box {
		return h, fmt.Errorf("hello of %q on %q", h.Box, subject)
	}
	if h.Published > h.Head {
		return h, fmt.Errorf("hello of %s: published %d beyond head %d", h.Box, h.Published, h.Head)
	}
	if len(h.Entries) > maxLanes || len(h.Exits) > maxLanes {
		return h, fmt.Errorf("hello of %s: %d+%d lanes", h.Box, len(h.Entries), len(h.Exits))
	}
	return h, nil
}

// maxLanes bounds a heartbeat's lane lists.
const maxLanes = 256

func (n *Node) gotHello(m *nats.Msg) {
	if m.Subject == helloSubject(n.cfg.Box) {
		return
	}
	h, err := decodeHello(m.Subject, m.Data)
	if err != nil {
		n.log.Warn("site: bad hello", "subject", m.Subject, "err", err)
		return
	}
	box := h.Box
	if _, member := slices.BinarySearch(n.cfg.Members, box); !member {
		n.log.Warn("site: hello from a box not among the members", "box", box)
		return
	}
	n.mu.Lock()
	n.hellos[box] = helloSeen{hello: h, mono: n.cfg.Clock.Mono(), when: n.cfg.Clock.Now()}
	n.mu.Unlock()
}

func (n *Node) hello(box string) (hello, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.hellos[box]
	return h.hello, ok
}

// Status is a snapshot of the site as this box sees it.
type Status struct {
	Box       string
	Gateway   bool
	Head      uint64 // this box's last logged entry
	Published uint64 // its last entry its stream acknowledged
	Leafnodes int    // leafnode links up
	Members   []MemberStatus
}

// MemberStatus is one other member as this box sees it.
type MemberStatus struct {
	Box       string
	Reachable bool      // a heartbeat came within the last few periods
	LastHello time.Time // when (our clock); zero: never since start
	Gateway   bool
	Head      uint64 // its last logged entry, per its heartbeat
	Published uint64 // its last published entry, per its heartbeat
	Entries   []int
	Exits     []int
	Cursor    store.ReplCursor // how far this box applied its log
	Lag       uint64           // entries it logged that this box has not applied
	// LagTime is the age of the oldest unapplied entry, roughly: its
	// clock at the last heartbeat minus the time of the last applied
	// entry (both its clock). Zero when nothing lags.
	LagTime time.Duration
}

// Status reports this box and every other member.
func (n *Node) Status() Status {
	head, published, err := n.st.ReplHead()
	if err != nil {
		n.log.Warn("site: status: head", "err", err)
	}
	cs, err := n.st.ReplCursors()
	if err != nil {
		n.log.Warn("site: status: cursors", "err", err)
	}
	s := Status{Box: n.cfg.Box, Gateway: n.cfg.Gateway, Head: head, Published: published,
		Leafnodes: n.srv.NumLeafNodes()}
	now := n.cfg.Clock.Mono()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.cfg.Members {
		if m == n.cfg.Box {
			continue
		}
		ms := MemberStatus{Box: m, Cursor: store.ReplCursor{Origin: m}}
		for _, c := range cs {
			if c.Origin == m {
				ms.Cursor = c
			}
		}
		if h, ok := n.hellos[m]; ok {
			ms.Reachable = now-h.mono <= missedHellos*helloEvery
			ms.LastHello, ms.Gateway, ms.Head, ms.Published = h.when, h.Gateway, h.Head, h.Published
			ms.Entries, ms.Exits = slices.Clone(h.Entries), slices.Clone(h.Exits)
			if h.Head > ms.Cursor.Seq {
				ms.Lag = h.Head - ms.Cursor.Seq
				if !ms.Cursor.At.IsZero() {
					ms.LagTime = max(0, time.Unix(h.At, 0).Sub(ms.Cursor.At))
				}
			}
		}
		s.Members = append(s.Members, ms)
	}
	return s
}
