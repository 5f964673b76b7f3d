package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// timeParams are the uplink fields that carry a UNIX time the controller
// stamped.
var timeParams = []string{"in_time", "out_time"}

// ShiftTimes moves every time the controller stamped within [from, to]
// forward by delta, in one transaction: the in and out times of records,
// their charge items, and the in_time, out_time and charge_items times of
// queued uplinks. It fixes up what was stamped while the wall clock was
// unset (counting on from a floor) once the real time is known. Payment
// times are the platform's and stay. It returns how many records and
// messages changed.
func (db *DB) ShiftTimes(from, to time.Time, delta time.Duration) (records, messages int, err error) {
	if delta == 0 || to.Before(from) {
		return 0, 0, nil
	}
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && !t.After(to) }
	err = db.update("shift times", func(tx *bolt.Tx) error {
		// Records: collect first, then rewrite (a cursor must not see its
		// own bucket change under it).
		var recs []Record
		if err := tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode record %q: %w", k, err)
			}
			if in(r.InTime) || in(r.OutTime) {
				recs = append(recs, r)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, old := range recs {
			rec := old
			rec.Items = append([]ChargeItem(nil), old.Items...)
			if in(rec.InTime) {
				rec.InTime = rec.InTime.Add(delta)
			}
			if in(rec.OutTime) {
				rec.OutTime = rec.OutTime.Add(delta)
			}
			for i := range rec.Items {
				if in(rec.Items[i].Time) {
					rec.Items[i].Time = rec.Items[i].Time.Add(delta)
				}
			}
			if err := putRecord(tx, &old, &rec); err != nil {
				return err
			}
			records++
		}
		// Queued uplinks.
		var msgs []Message
		if err := tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			m, err := decodeMsg(v)
			if err != nil {
				return fmt.Errorf("decode message %x: %w", k, err)
			}
			msgs = append(msgs, m)
			return nil
		}); err != nil {
			return err
		}
		for _, m := range msgs {
			changed := false
			for _, k := range timeParams {
				if s, ok := m.Params[k]; ok {
					if u, err := strconv.ParseInt(s, 10, 64); err == nil && in(time.Unix(u, 0)) {
						m.Params[k] = strconv.FormatInt(time.Unix(u, 0).Add(delta).Unix(), 10)
						changed = true
					}
				}
			}
			if s, ok := m.Params["charge_items"]; ok {
				if fixed, ok := shiftItems(s, in, delta); ok {
					m.Params["charge_items"] = fixed
					changed = true
				}
			}
			if !changed {
				continue
			}
			if _, err := delMsg(tx, m.Seq); err != nil {
				return err
			}
			if err := putMsg(tx, &m, 0); err != nil {
				return err
			}
			messages++
		}
		return bumpNewest(tx, to.Add(delta))
	})
	return records, messages, err
}

// shiftItems moves the "time" of each charge item in the JSON array s;
// the other members keep their exact text and order.
func shiftItems(s string, in func(time.Time) bool, delta time.Duration) (string, bool) {
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(s), &items); err != nil || len(items) == 0 {
		return s, false
	}
	changed := false
	for i, raw := range items {
		var probe struct {
			Time *int64 `json:"time"`
		}
		if json.Unmarshal(raw, &probe) != nil || probe.Time == nil || !in(time.Unix(*probe.Time, 0)) {
			continue
		}
		old := strconv.FormatInt(*probe.Time, 10)
		neu := strconv.FormatInt(time.Unix(*probe.Time, 0).Add(delta).Unix(), 10)
		items[i] = json.RawMessage(replaceTime(string(raw), old, neu))
		changed = true
	}
	if !changed {
		return s, false
	}
	parts := make([]string, len(items))
	for i, raw := range items {
		parts[i] = string(raw)
	}
	return "[" + strings.Join(parts, ",") + "]", true
}

// replaceTime replaces the value of the "time" member, keeping the rest.
func replaceTime(obj, old, neu string) string {
	for _, key := range []string{`"time":` + old, `"time": ` + old} {
		if i := strings.Index(obj, key); i >= 0 {
			return obj[:i] + `"time":` + neu + obj[i+len(key):]
		}
	}
	return obj
}
