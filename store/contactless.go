package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Contactless (无感) bookkeeping beyond the binding itself: one payment per
// AutoPay, records released with their fee owed, the arrears a refused
// AutoPay leaves on a plate, and the history of binds and unbinds.

// ErrReplayed: a bind repeats one that a later unbind of the same plate
// undid (the callbacks carry no nonce: a captured bind can be replayed).
var ErrReplayed = errors.New("bind repeats one undone by a later unbind")

// ErrNotAwaiting: the record is not waiting for an AutoPay outcome (never
// was, or settled already).
var ErrNotAwaiting = errors.New("record is not waiting for a contactless outcome")

const arrearV = 1

// Arrear is a contactless fee a plate owes: its vehicle was let out while
// the platform could not be reached, and the AutoPay was refused later.
type Arrear struct {
	V        int       `json:"v"`
	Plate    string    `json:"plate"`
	RecordID string    `json:"record_id"` // the stay that left it
	Amount   int64     `json:"amount"`    // fen
	Since    time.Time `json:"since"`     // when the refusal was learnt
	Reason   string    `json:"reason,omitempty"`
}

func arrearKey(plate, recordID string) []byte { return payKey(plate, recordID) }

// AddAutoPayment records the payment of the AutoPay p.RequestOrder once,
// whatever order names it (the channel_order of the answer, our
// request_order, or the bank's pay notice with an order of its own). If
// the record has a payment of that request_order already, nothing is
// added: a p with a BankNotice fills the recorded payment's empty one, and
// ErrAlreadyRecorded is returned. Otherwise p is added as AddPayment does.
func (db *DB) AddAutoPayment(p Payment, msgs ...Message) error {
	if p.RequestOrder == "" {
		return fmt.Errorf("store: add autopay payment: %w: no request_order", ErrInvalid)
	}
	var dup error
	err := db.update("add autopay payment", func(tx *bolt.Tx) error {
		done, err := db.noteAutoPayment(tx, p)
		if done {
			dup = err // the note on the recorded payment commits
			return nil
		}
		if err != nil {
			return err
		}
		if err := db.addPayment(tx, p); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	if err == nil && dup != nil {
		return fmt.Errorf("store: add autopay payment: %w", dup)
	}
	return err
}

// noteAutoPayment reports whether p's AutoPay has its payment already,
// noting p's BankNotice on it.
func (db *DB) noteAutoPayment(tx *bolt.Tx, p Payment) (bool, error) {
	var found []byte
	var rec Payment
	if err := eachPayment(tx, p.RecordID, func(k []byte, q Payment) error {
		if found == nil && q.RequestOrder == p.RequestOrder {
			found, rec = bytes.Clone(k), q
		}
		return nil
	}); err != nil {
		return false, err
	}
	if found == nil {
		return false, nil
	}
	if p.BankNotice != "" && rec.BankNotice == "" && p.BankNotice != rec.Order {
		rec.BankNotice = p.BankNotice
		v, err := json.Marshal(rec)
		if err != nil {
			return false, err
		}
		if err := tx.Bucket(bucketPayments).Put(found, v); err != nil {
			return false, err
		}
		if _, err := db.logRepl(tx, ReplPayment, rec.Order, rec); err != nil {
			return false, err
		}
	}
	return true, fmt.Errorf("request_order %s of record %s: %w", p.RequestOrder, p.RecordID, ErrAlreadyRecorded)
}

// QueuedAutoPays lists the record's AutoPays still in the outbox (queued,
// on the wire, or with an outcome to resolve), in order.
func (db *DB) QueuedAutoPays(recordID string) ([]Message, error) {
	var out []Message
	err := db.view("queued autopays", func(tx *bolt.Tx) error {
		prefix := recKey(recordID, 0)[:len(recordID)+1]
		c := tx.Bucket(bucketOutRecord).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := tx.Bucket(bucketOutbox).Get(k[len(prefix):])
			if v == nil {
				continue
			}
			m, err := decodeMsg(v)
			if err != nil {
				return err
			}
			if m.Kind == KindAutoPay {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

// Owed is the outcome of the AutoPay a record released with its fee owed
// waits for.
type Owed struct {
	Paid    bool       // the platform charged it
	Payment Payment    // when Paid: the payment (its RequestOrder = the record's AwaitOrder)
	Item    ChargeItem // when Paid: the charge item it adds to the record
	At      time.Time  // when the outcome was learnt
	Reason  string     // when refused: the platform's word
}

// SettleOwed ends the wait of a record released with its fee owed, with
// msgs (its Outdata) in one transaction: paid, the payment is recorded
// (once: see AddAutoPayment) and the record's fees and items show it;
// refused, the owed fee becomes an Arrear of the plate. ErrNotAwaiting if
// the record does not wait (settled before: a repeated outcome changes
// nothing and queues nothing).
func (db *DB) SettleOwed(recordID string, o Owed, msgs ...Message) (Record, error) {
	var out Record
	err := db.update("settle owed", func(tx *bolt.Tx) error {
		old, err := getRecord(tx, recordID)
		if err != nil {
			return err
		}
		if old.State != StateClosed || old.AwaitOrder == "" {
			return fmt.Errorf("record %s: %w", recordID, ErrNotAwaiting)
		}
		rec := *old
		rec.Items = append([]ChargeItem(nil), old.Items...)
		rec.AwaitOrder = ""
		if o.Paid {
			p := o.Payment
			p.RecordID, p.RequestOrder = recordID, old.AwaitOrder
			if done, err := db.noteAutoPayment(tx, p); !done {
				if err != nil {
					return err
				}
				if err := db.addPayment(tx, p); err != nil {
					return err
				}
			}
			rec.Fees.Paid += p.Amount
			rec.Fees.Due = max(0, rec.Fees.Due-p.Amount)
			rec.Items = append(rec.Items, o.Item)
			rec.Note = "contactless charge confirmed after an offline release"
		} else {
			a := Arrear{V: arrearV, Plate: rec.Plate, RecordID: rec.ID, Amount: rec.Fees.Due, Since: o.At, Reason: o.Reason}
			if a.Amount > 0 {
				if err := db.saveArrear(tx, a); err != nil {
					return err
				}
			}
			rec.Arrears = a.Amount
			rec.Note = "arrears (欠费): contactless charge refused after an offline release: " + o.Reason
		}
		if err := db.saveRecord(tx, old, &rec); err != nil {
			return err
		}
		out = rec
		return db.enqueue(tx, msgs)
	})
	return out, err
}

// collectArrears removes the arrears an exit of recordID collects.
func (db *DB) collectArrears(tx *bolt.Tx, recordID string, as []Arrear) error {
	b := tx.Bucket(bucketArrears)
	for _, a := range as {
		k := arrearKey(a.Plate, a.RecordID)
		if b.Get(k) == nil {
			return fmt.Errorf("arrear of %s (record %s) collected by %s: %w", a.Plate, a.RecordID, recordID, ErrNotFound)
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		if err := db.logLWW(tx, ReplArrearDel, a.Plate, arrearStamp(a.Plate, a.RecordID), Arrear{Plate: a.Plate, RecordID: a.RecordID}); err != nil {
			return err
		}
	}
	return nil
}

// saveArrear stores a (logged with a Box).
func (db *DB) saveArrear(tx *bolt.Tx, a Arrear) error {
	a.V = arrearV
	if err := putJSON(tx.Bucket(bucketArrears), arrearKey(a.Plate, a.RecordID), a); err != nil {
		return err
	}
	return db.logLWW(tx, ReplArrear, a.Plate, arrearStamp(a.Plate, a.RecordID), a)
}

// Arrears lists the arrears of plate, or of every plate when plate is "",
// oldest record first within a plate.
func (db *DB) Arrears(plate string) ([]Arrear, error) {
	var out []Arrear
	err := db.view("arrears", func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketArrears).Cursor()
		var prefix []byte
		if plate != "" {
			prefix = append([]byte(plate), 0)
		}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var a Arrear
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode arrear %q: %w", k, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// ---- bind history ----

const (
	bindEventV     = 1
	bindHistoryMax = 32 // per plate
)

// BindEvent is one autoPayBind or autoPayUnbind of a plate.
type BindEvent struct {
	V        int       `json:"v"`
	Plate    string    `json:"plate"`
	Unbind   bool      `json:"unbind,omitempty"`
	Limit    int64     `json:"limit,omitempty"`
	SerialNo string    `json:"serial_no,omitempty"`
	PostURL  string    `json:"post_url,omitempty"`
	Time     time.Time `json:"time"`
}

// repeats reports whether bind e asks for the same agreement as b: the
// same serial_no when b has one, else the same limit and post_url (of a
// bind without a serial_no).
func (e BindEvent) repeats(b Binding) bool {
	if b.SerialNo != "" {
		return e.SerialNo == b.SerialNo
	}
	return e.SerialNo == "" && e.Limit == b.Limit && e.PostURL == b.PostURL
}

func histKey(plate string, seq uint64) []byte {
	k := append([]byte(plate), 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// history returns the plate's events, oldest first, with their keys.
func history(tx *bolt.Tx, plate string) (keys [][]byte, evs []BindEvent, err error) {
	prefix := append([]byte(plate), 0)
	c := tx.Bucket(bucketBindHistory).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e BindEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, fmt.Errorf("decode bind event %q: %w", k, err)
		}
		keys, evs = append(keys, bytes.Clone(k)), append(evs, e)
	}
	return keys, evs, nil
}

func (db *DB) addEvent(tx *bolt.Tx, e BindEvent) error {
	b := tx.Bucket(bucketBindHistory)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	keys, _, err := history(tx, e.Plate)
	if err != nil {
		return err
	}
	for i := 0; i+bindHistoryMax <= len(keys); i++ {
		if err := b.Delete(keys[i]); err != nil {
			return err
		}
	}
	e.V = bindEventV
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put(histKey(e.Plate, seq), v)
}

// Bind stores b (an autoPayBind) with its history event and msgs (an
// audit event) in one transaction, unless it repeats a bind that a later
// unbind of the plate undid: then ErrReplayed, and nothing changes.
func (db *DB) Bind(b Binding, msgs ...Message) error {
	return db.update("bind", func(tx *bolt.Tx) error {
		if err := checkBinding(b); err != nil {
			return err
		}
		_, evs, err := history(tx, b.Plate)
		if err != nil {
			return err
		}
		undone := false // an unbind came after the event looked at
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			if e.Unbind {
				undone = true
				continue
			}
			if undone && e.repeats(b) {
				return fmt.Errorf("plate %s, bind of %s: %w", b.Plate, e.Time.Format(time.RFC3339), ErrReplayed)
			}
		}
		if err := db.addEvent(tx, BindEvent{Plate: b.Plate, Limit: b.Limit, SerialNo: b.SerialNo, PostURL: b.PostURL, Time: b.Updated}); err != nil {
			return err
		}
		if err := db.saveBinding(tx, b); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
}

// Unbind removes plate's binding (an autoPayUnbind) with its history event
// and msgs in one transaction; existed says whether there was one. An
// unbind of an unbound plate is recorded too.
func (db *DB) Unbind(plate string, at time.Time, msgs ...Message) (existed bool, err error) {
	err = db.update("unbind", func(tx *bolt.Tx) error {
		if !validKey(plate, 64) {
			return fmt.Errorf("%w: plate %q", ErrInvalid, plate)
		}
		var err error
		if existed, err = db.dropBinding(tx, plate); err != nil {
			return err
		}
		if err := db.addEvent(tx, BindEvent{Plate: plate, Unbind: true, Time: at}); err != nil {
			return err
		}
		return db.enqueue(tx, msgs)
	})
	return existed, err
}

// BindHistory lists plate's binds and unbinds, oldest first.
func (db *DB) BindHistory(plate string) ([]BindEvent, error) {
	var out []BindEvent
	err := db.view("bind history", func(tx *bolt.Tx) error {
		_, evs, err := history(tx, plate)
		out = evs
		return err
	})
	return out, err
}
