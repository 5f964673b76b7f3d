package store

import (
	"log/slog"
	"time"
)

// State is where a record is in its life.
type State uint8

// Record states. Inside and Leaving records are open: they are in the
// plate index and count as occupied spaces.
const (
	StateInside  State = 1 // entered, not yet at an exit
	StateLeaving State = 2 // at an exit, fee being settled
	StateClosed  State = 3 // exited (or closed as stale); read-only
)

func (s State) String() string {
	switch s {
	case StateInside:
		return "inside"
	case StateLeaving:
		return "leaving"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// Open reports whether a record in state s is open.
func (s State) Open() bool { return s == StateInside || s == StateLeaving }

// Protocol codes the store itself cares about (see the CMB spec §2).
const (
	AuthTemporary = 0  // auth_type: temporary vehicle
	AuthVIP       = 99 // auth_type: VIP; counted in Summary.OpenVIP
)

// Fees of a record, in fen.
type Fees struct {
	Total    int64 `json:"total"`    // the tariff's fee for the whole stay
	Discount int64 `json:"discount"` // discounts granted
	Paid     int64 `json:"paid"`     // paid (in advance, at the exit, contactless)
	Due      int64 `json:"due"`      // still due
}

// ChargeItem is one line of Outdata's charge_items.
type ChargeItem struct {
	PayType       int       `json:"pay_type"`
	TollCollector string    `json:"toll_collector,omitempty"`
	ShouldPay     int64     `json:"should_pay"`
	ActualPay     int64     `json:"actual_pay"`
	Time          time.Time `json:"time"`
	SeqNum        string    `json:"seq_num,omitempty"`
}

// Record is one parking event, entry to exit.
type Record struct {
	V          int          `json:"v"`  // encoding version (set by the store)
	ID         string       `json:"id"` // record_id, ≤ 32 bytes; see NewRecordID
	Plate      string       `json:"plate"`
	PlateColor int          `json:"plate_color"`
	CarType    int          `json:"car_type"`   // 1 small, 2 large, 65534 military/police
	PowerType  int          `json:"power_type"` // 1 normal, 2 hybrid, 3 electric (new energy)
	Unlicensed bool         `json:"unlicensed,omitempty"`
	AuthType   int          `json:"auth_type"` // AuthTemporary or AuthVIP
	InCode     int          `json:"in_code"`
	InTime     time.Time    `json:"in_time"`
	OutCode    int          `json:"out_code,omitempty"`
	OutTime    time.Time    `json:"out_time,omitzero"`
	Fees       Fees         `json:"fees"`
	Items      []ChargeItem `json:"items,omitempty"`
	State      State        `json:"state"`
	Note       string       `json:"note,omitempty"` // free text, e.g. why a stale record was closed
	// AwaitOrder: a closed record whose vehicle was let out with its fee
	// owed (offline release): the request_order of the AutoPay whose
	// outcome it waits for. Its Outdata is queued once that is known
	// (SettleOwed). Fees.Due is what is owed meanwhile.
	AwaitOrder string `json:"await_order,omitempty"`
	// Arrears is what this stay left unpaid when its AutoPay was refused
	// after an offline release: an Arrear of its plate until collected.
	Arrears int64 `json:"arrears,omitempty"`
	// Collected lists the plate's earlier arrears this stay's exit
	// collected (added to its fee, each with its own charge item).
	Collected []Arrear `json:"collected,omitempty"`
	// Rev counts the record's changes and Writer is the box that made the
	// last one: with Options.Box only (see ApplyRepl's merge); zero
	// and empty without a site.
	Rev    uint64 `json:"rev,omitempty"`
	Writer string `json:"writer,omitempty"`
	// Superseded: the record was closed here, not by an exit, because
	// another box's record of the same plate, this one, entered later
	// while both were open (a partition). See ApplyRepl.
	Superseded string `json:"superseded,omitempty"`
	// NoEntry marks the record of an exit whose entry this box could not
	// see (a site's partition); see noentry.go. Nil for every other record.
	NoEntry *NoEntry `json:"no_entry,omitempty"`
}

// Exit is what closing a record sets.
type Exit struct {
	OutCode int
	OutTime time.Time
	Fees    Fees
	Items   []ChargeItem
	Note    string // optional; replaces Record.Note when not empty
	// AwaitOrder: released with the fee owed, waiting for this AutoPay
	// (see Record.AwaitOrder).
	AwaitOrder string
	// Collected: the plate's arrears this exit collects; they leave the
	// plate's arrears in the same transaction (ErrNotFound if one is no
	// longer owed: collected meanwhile).
	Collected []Arrear
}

// Payment is one payment notice line (pay_list item), idempotent by Order.
type Payment struct {
	V        int       `json:"v"`
	Order    string    `json:"order"` // the platform's unique order; the key
	RecordID string    `json:"record_id"`
	Plate    string    `json:"plate,omitempty"`
	BillID   string    `json:"bill_id,omitempty"`
	PayType  int       `json:"pay_type"`
	Amount   int64     `json:"amount"` // fen
	PayTime  time.Time `json:"pay_time"`
	// RequestOrder: the AutoPay this payment is (a contactless payment,
	// recorded from the AutoPay's answer or from the bank's pay notice):
	// one AutoPay, one payment.
	RequestOrder string `json:"request_order,omitempty"`
	// BankNotice: the order of the bank's pay notice for this contactless
	// payment, when it carried one of its own (see AddAutoPayment).
	BankNotice string `json:"bank_notice,omitempty"`
	// Notice groups the items of one pay notice: the order of its first
	// item. Empty for payments recorded from an AutoPay answer.
	Notice string `json:"notice,omitempty"`
	// QuotedAt and Quoted are the quote the payer answered (calc's
	// bill_id, or the quote of the lane the vehicle waited at): when it was
	// made and what it said was due for the whole notice. A zero QuotedAt:
	// no quote is known.
	QuotedAt time.Time `json:"quoted_at,omitzero"`
	Quoted   int64     `json:"quoted,omitempty"`
	// AfterExit is set by the store: the record was closed when the
	// payment was recorded (a payment after the exit).
	AfterExit bool `json:"after_exit,omitempty"`
}

// BindSource says where a contactless binding was learnt.
type BindSource string

// Binding sources.
const (
	SourceBind   BindSource = "bind"   // autoPayBind callback
	SourceIndata BindSource = "indata" // Indata answer (uid=1, limit)
	SourceStatus BindSource = "status" // AutoPayStatus answer
)

// Binding is a plate's contactless (无感) agreement.
type Binding struct {
	V           int        `json:"v"`
	Plate       string     `json:"plate"`
	Limit       int64      `json:"limit"` // fen
	SerialNo    string     `json:"serial_no,omitempty"`
	PostURL     string     `json:"post_url,omitempty"`
	AutoPayType int        `json:"auto_pay_type"`
	Source      BindSource `json:"source"`
	Updated     time.Time  `json:"updated"`
}

// List names a vehicle list.
type List string

// Vehicle lists, in the order of precedence LookupVehicle applies.
const (
	ListBlack   List = "black"   // refused entry
	ListVIP     List = "vip"     // free, auth_type 99
	ListMonthly List = "monthly" // monthly pass
)

// Vehicle is an entry of a vehicle list, valid in [From, Until). A zero
// From means "always was", a zero Until "never ends".
type Vehicle struct {
	V     int       `json:"v"`
	Plate string    `json:"plate"`
	List  List      `json:"list"`
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
	Note  string    `json:"note,omitempty"`
}

// ValidAt reports whether the entry is valid at t.
func (v Vehicle) ValidAt(t time.Time) bool {
	return (v.From.IsZero() || !t.Before(v.From)) && (v.Until.IsZero() || t.Before(v.Until))
}

// Uplink kinds (the CMB uplink names) the outbox treats specially. Any
// other kind is accepted and treated as droppable=false.
const (
	KindIndata         = "Indata"
	KindOutdata        = "Outdata"
	KindAutoPay        = "AutoPay"
	KindPayOrderStatus = "PayOrderStatus"
	KindPicUpload      = "PicUpload"
	KindSpaceInfo      = "SpaceInfo"
	KindConfigUpload   = "ConfigUpload"
	KindAutoPayStatus  = "AutoPayStatus"
)

// Droppable reports whether messages of kind may be dead-lettered by age
// or evicted for space: pictures, space counts, config and status
// queries. Record data and money (Indata, Outdata, AutoPay,
// PayOrderStatus, and any kind this build does not know) never are.
func Droppable(kind string) bool {
	switch kind {
	case KindPicUpload, KindSpaceInfo, KindConfigUpload, KindAutoPayStatus:
		return true
	}
	return false
}

// Message is one queued uplink: the unsigned form fields of a CMB uplink
// (signing happens at send time).
//
// Order: the undroppable messages of one record are delivered strictly in
// sequence order (its Outdata never before its Indata). A droppable
// message with a RecordID waits for the undroppable messages of its record
// enqueued before it, but never holds back anything.
type Message struct {
	V         int               `json:"v"`
	Seq       uint64            `json:"seq"`  // set by the store (NextSequence); the global order
	Kind      string            `json:"kind"` // the uplink name, e.g. "Outdata"
	RecordID  string            `json:"record_id,omitempty"`
	Params    map[string]string `json:"params"`
	Created   time.Time         `json:"created"`
	Due       time.Time         `json:"due"`
	Attempts  int               `json:"attempts,omitempty"`
	LastError string            `json:"last_error,omitempty"`
	// RequestOrder is AutoPay's request_order: chosen once by the caller,
	// stable across retries, so a payment is charged at most once.
	RequestOrder string `json:"request_order,omitempty"`
	// URL, when set, is where the message goes instead of the platform's
	// own address: an AutoPay to its binding's post_url.
	URL string `json:"url,omitempty"`
	// Unresolved marks an AutoPay whose last send has an unknown outcome
	// (timeout, lost answer): the dispatcher must resolve it with
	// PayOrderStatus(RequestOrder) before sending it again. See
	// MarkUnresolved and Resolve.
	Unresolved bool `json:"unresolved,omitempty"`
	// Refusals counts the consecutive identical refusals (an answer with
	// status ≠ 0: the platform got the message and said no) whose text is
	// LastRefusal. See Refused.
	Refusals    int    `json:"refusals,omitempty"`
	LastRefusal string `json:"last_refusal,omitempty"`
	// DeadAt and DeadWhy are set when the message is dead-lettered.
	DeadAt  time.Time `json:"dead_at,omitzero"`
	DeadWhy string    `json:"dead_why,omitempty"`

	audit *AuditEvent // set by Audited: an audit event riding with the msgs
}

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Seq    uint64    `json:"seq"` // set by the store
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"` // "barrier", "manual_open", "config", "callback_refused", "fault", …
	Lane   int       `json:"lane,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Options configure Open. The zero value is usable.
type Options struct {
	// Logger receives open/repair reports and outbox warnings; nil = discard.
	Logger *slog.Logger
	// LockTimeout bounds the wait for the file lock (a second process gets
	// ErrLocked instead of hanging). Default 2s.
	LockTimeout time.Duration
	// OutboxMax bounds the number of queued messages; OutboxMaxBytes their
	// encoded size. Beyond either, PicUpload messages are evicted oldest
	// first, then the other droppable kinds. Undroppable messages are never
	// evicted: when only they remain, the enqueue still succeeds and
	// OutboxStats.Overfull counts it (losing revenue data is worse than
	// disk use). Defaults 200000 and 256 MiB.
	OutboxMax      int
	OutboxMaxBytes int64
	// DeadLetterAfter: a droppable message older than this (Created) that
	// fails again is moved to the dead letters instead of being retried.
	// Default 72h.
	DeadLetterAfter time.Duration
	// DeadLetterMax bounds the dead letters kept for inspection (oldest
	// deleted first). Default 1000.
	DeadLetterMax int
	// AuditMax bounds the audit ring: RecentAudit shows the AuditMax
	// newest events. Older ones are deleted in batches (so that an audited
	// commit does not also rewrite the ring's oldest page): the file holds
	// at most AuditMax + min(max(AuditMax/16, 1), 256). Default 10000.
	AuditMax int
	// CheckTimeout bounds the page check Open runs on an existing file
	// (FileCheck): past it the check stops, a WARN says so, and the file
	// is opened unchecked. Default 10s (a 100k-record file took 0.6–2.3 s
	// on the busy 2-core dev machine); negative: no check.
	CheckTimeout time.Duration
	// Now stamps moved-aside files and fills a message's zero Created.
	// Default time.Now; tests inject a fake.
	Now func() time.Time

	compactHook func() // tests: runs in CompactFile between the copy and the swap

	// Box is this box's id in its site (see ValidBox); "" means no site:
	// no replication log is kept and record ids are as without a site.
	// With a Box, NewRecordID puts it into every id, every domain change
	// is logged in its own transaction (see ReplOwn), and ApplyRepl
	// merges the other boxes' changes.
	Box string
	// ReplKeep: an entry of the replication log older than this (its At)
	// and published already is deleted by Prune. Default 30 days.
	ReplKeep time.Duration

	// FailCommit, when set, is asked before each write transaction is
	// committed (op names it, e.g. "open record"); an error rolls the
	// transaction back and is returned as the commit's error. It lets the
	// tests of the lanes play a full disk or a damaged file; nil in
	// production.
	FailCommit func(op string) error
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.OutboxMax <= 0 {
		o.OutboxMax = 200000
	}
	if o.OutboxMaxBytes <= 0 {
		o.OutboxMaxBytes = 256 << 20
	}
	if o.DeadLetterAfter <= 0 {
		o.DeadLetterAfter = 72 * time.Hour
	}
	if o.DeadLetterMax <= 0 {
		o.DeadLetterMax = 1000
	}
	if o.AuditMax <= 0 {
		o.AuditMax = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReplKeep <= 0 {
		o.ReplKeep = 30 * 24 * time.Hour
	}
	if o.CheckTimeout == 0 {
		o.CheckTimeout = 10 * time.Second
	}
	return o
}

// OpenReport tells what Open had to do.
type OpenReport struct {
	Created    bool   // a new, empty file was created
	MovedAside string // the path an unusable or damaged file was renamed to ("" if none)
	Reason     string // why it was moved aside
	// Salvage is set when a damaged file was salvaged into the fresh one
	// (the damaged file is at MovedAside): what was kept and lost.
	Salvage *SalvageReport
	// Check is the page check Open ran on an existing file (nil: none ran).
	Check      *FileCheck
	FromSchema uint64 // the file's schema before migrations (0 for a new file)
	Schema     uint64 // the schema now
}

// Summary is a status snapshot.
type Summary struct {
	Open      int   // open records (inside + leaving)
	OpenVIP   int   // of which auth_type VIP
	OpenTemp  int   // of which temporary
	Records   int   // records of every state
	FileBytes int64 // size of the file
	FreeBytes int64 // free pages inside the file (reusable without growing)
}

// OutboxStats is the outbox as a status display shows it.
type OutboxStats struct {
	Count     int            // queued messages
	Bytes     int64          // their encoded size
	ByKind    map[string]int // queued messages per kind
	Dead      int            // dead letters kept
	DeadTotal uint64         // messages ever dead-lettered
	Evicted   uint64         // messages ever evicted for space
	Overfull  uint64         // enqueues beyond the bound with nothing evictable
	OldestAge time.Duration  // age of the oldest queued message at `now`
	LastError string         // the last error given to Retry
}
