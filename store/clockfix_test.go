package store_test

import (
	"strconv"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestShiftTimes(t *testing.T) {
	db, _ := storetest.Open(t, store.Options{})
	before := time.Unix(1790000000, 0) // stamped with a good clock
	floor := before.Add(time.Hour)     // the clock went unset: estimates from here
	delta := 9 * time.Hour             // NTP: the estimates were 9 h behind

	good, err := db.OpenRecord(store.Record{Plate: "京A00001", InCode: 1, InTime: before, CarType: 1, PowerType: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := floor.Add(10 * time.Minute)
	out := floor.Add(40 * time.Minute)
	est, err := db.OpenRecord(store.Record{Plate: "京A00002", InCode: 1, InTime: in, CarType: 1, PowerType: 1},
		store.Message{Kind: store.KindIndata, RecordID: "x", Params: map[string]string{"in_time": strconv.FormatInt(in.Unix(), 10)}})
	if err != nil {
		t.Fatal(err)
	}
	items := `[{"should_pay":0,"actual_pay":0,"pay_type":0,"toll_collector":"laned","seq_num":"s","time":` + strconv.FormatInt(out.Unix(), 10) + `}]`
	if _, err := db.CloseRecord(est.ID, store.Exit{OutCode: 1, OutTime: out, Items: []store.ChargeItem{{Time: out}}},
		store.Message{Kind: store.KindOutdata, RecordID: est.ID, Params: map[string]string{
			"in_time": strconv.FormatInt(in.Unix(), 10), "out_time": strconv.FormatInt(out.Unix(), 10), "charge_items": items}}); err != nil {
		t.Fatal(err)
	}

	// The store does not read uplink fields: the caller's fixer does
	// (edge passes cmb.ShiftTimes). This one moves in_time.
	fix := func(m *store.Message) bool {
		u, err := strconv.ParseInt(m.Params["in_time"], 10, 64)
		if err != nil || u < floor.Unix() || u > floor.Add(time.Hour).Unix() {
			return false
		}
		m.Params["in_time"] = strconv.FormatInt(u+int64(delta/time.Second), 10)
		return true
	}
	recs, msgs, err := db.ShiftTimes(floor, floor.Add(time.Hour), delta, fix)
	if err != nil || recs != 1 || msgs != 2 {
		t.Fatalf("ShiftTimes = %d records, %d messages, %v; want 1, 2, nil", recs, msgs, err)
	}
	got, _ := db.RecordByID(est.ID)
	if !got.InTime.Equal(in.Add(delta)) || !got.OutTime.Equal(out.Add(delta)) || !got.Items[0].Time.Equal(out.Add(delta)) {
		t.Errorf("shifted record = in %v out %v item %v; want each +%v", got.InTime, got.OutTime, got.Items[0].Time, delta)
	}
	if g, _ := db.RecordByID(good.ID); !g.InTime.Equal(before) {
		t.Errorf("a record stamped before the floor moved: %v", g.InTime)
	}
	ms, _ := db.Messages(0, 10)
	for _, m := range ms {
		if m.Params["in_time"] != strconv.FormatInt(in.Add(delta).Unix(), 10) {
			t.Errorf("%s in_time = %s; want shifted", m.Kind, m.Params["in_time"])
		}
	}
	if !db.NewestTime().After(floor.Add(delta)) {
		t.Errorf("NewestTime = %v; want past the shifted window", db.NewestTime())
	}
}
