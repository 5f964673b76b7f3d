package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestReportDayCommand(t *testing.T) {
	db, path := storetest.Open(t, store.Options{})
	loc, _ := time.LoadLocation("Asia/Shanghai")
	in := time.Date(2026, 3, 2, 9, 0, 0, 0, loc)
	r, err := db.OpenRecord(store.Record{Plate: "京A12345", InCode: 1, InTime: in, CarType: 1, PowerType: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddPayment(store.Payment{Order: "o1", RecordID: r.ID, PayType: 99, Amount: 900, PayTime: in.Add(2 * time.Hour), Notice: "o1"}); err != nil {
		t.Fatal(err)
	}
	items := []store.ChargeItem{{PayType: 99, ShouldPay: 900, ActualPay: 900, Time: in.Add(2 * time.Hour), SeqNum: "o1"}}
	if _, err := db.CloseRecord(r.ID, store.Exit{OutCode: 1, OutTime: in.Add(2 * time.Hour), Fees: store.Fees{Total: 900, Paid: 900}, Items: items}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// Held by a running laned: a clear refusal.
	if err := run(context.Background(), []string{"report", "day", "-file", path, "2026-03-02"}, nil, &out, &out); err == nil || !strings.Contains(err.Error(), "running laned") {
		t.Errorf("report of a held store = %v; want a refusal naming the running laned", err)
	}
	db.Close()
	out.Reset()
	if err := run(context.Background(), []string{"report", "day", "2026-03-02", "-file", path}, nil, &out, &out); err != nil {
		t.Fatalf("report day = %v:\n%s", err, out.String())
	}
	for _, want := range []string{"report for 2026-03-02 (Asia/Shanghai)", "collected, CMB scan/phone", "9.00", "adds up"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"report", "day", "-file", path, "-csv", "2026-03-02"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "date,section,item,count,fen\n") || !strings.Contains(out.String(), "2026-03-02,exits of the day,fees due,1,900") {
		t.Errorf("CSV:\n%s", out.String())
	}
	// The day before holds nothing; a bad date is refused; the file is untouched.
	for _, bad := range []string{"2026-02-30", "02/03/2026", "2999-01-01"} {
		if err := run(context.Background(), []string{"report", "day", "-file", path, bad}, nil, &out, &out); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
			t.Errorf("report day %s = %v; want a date error", bad, err)
		}
	}
	if err := run(context.Background(), []string{"report", "week"}, nil, &out, &out); err == nil {
		t.Error("report week accepted")
	}
	db, _ = storetest.Reopen(t, path, store.Options{})
	if err := db.CheckConsistency(); err != nil {
		t.Error(err)
	}
}
