package cmb

import (
	"testing"
)

func TestShiftTimes(t *testing.T) {
	const from, to, delta = 1790000000, 1790003600, 32400 // a window of estimated times, 9 h behind
	shift := func(u int64) (int64, bool) {
		if u < from || u > to {
			return u, false
		}
		return u + delta, true
	}
	out := Outdata{ParkCode: 4401, InCode: 1, OutCode: 1, VplNumber: "京A12345", RecordID: "r1",
		InTime: 1780000000, OutTime: from + 60, // entered with a good clock, left while unset
		ChargeItems: []ChargeItem{{ShouldPay: 500, ActualPay: 500, PayType: PayCMB, TollCollector: "laned", SeqNum: "o1", Time: from + 30}}}
	v, err := out.Values()
	if err != nil {
		t.Fatal(err)
	}
	if !ShiftTimes(EpOutdata, v, shift) {
		t.Fatal("ShiftTimes(Outdata) = false; want a change")
	}
	got, err := DecodeOutdata(v)
	if err != nil {
		t.Fatal(err)
	}
	if got.InTime != out.InTime || got.OutTime != out.OutTime+delta || got.ChargeItems[0].Time != from+30+delta {
		t.Errorf("shifted Outdata = in %d out %d item %d; want %d, %d, %d", got.InTime, got.OutTime, got.ChargeItems[0].Time, out.InTime, out.OutTime+delta, from+30+delta)
	}
	if got.ChargeItems[0].ActualPay != 500 || got.ChargeItems[0].SeqNum != "o1" {
		t.Errorf("other charge item fields changed: %+v", got.ChargeItems[0])
	}

	in := Indata{ParkCode: 4401, InCode: 1, VplNumber: "京A12345", RecordID: "r2", InTime: 1780000000, CarType: CarSmall, PowerType: PowerNormal}
	v, _ = in.Values()
	if ShiftTimes(EpIndata, v, shift) {
		t.Error("ShiftTimes of an Indata outside the window = true")
	}
	if ShiftTimes(EpSpaceInfo, v, shift) {
		t.Error("ShiftTimes of a SpaceInfo = true; it carries no stamped time")
	}
	in.InTime = from
	v, _ = in.Values()
	if !ShiftTimes(EpIndata, v, shift) || v.Get("in_time") != "1790032400" {
		t.Errorf("shifted Indata in_time = %s; want 1790032400", v.Get("in_time"))
	}
}
