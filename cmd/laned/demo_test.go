package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The demo is the README's first command: it must run clean and end with
// its summary.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-data", t.TempDir()}, nil, &out, &errb); err != nil {
		t.Fatalf("laned demo = %v\n%s\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"records: 7, 7 closed, 0 open",
		"pictures: 1 of 1 network camera frames at the platform byte for byte",
		"PicUpload 1",
		"money: 64.00 yuan received (contactless 13.00, scan/phone 51.00)",
		", 0 record or payment uplinks pending",
		"platform: 0 order violations, 0 double charges",
		"reconciliation: due 81.00 = collected 64.00 + waived 17.00 + owed 0.00 yuan (adds up)",
		"OUTAGE", "RECOVERY", "NoVpln answered 0", "free: within grace", "contactless paid", "paid by scan",
		// The boards, on every event.
		"[display entry1] 京A12345 | 欢迎光临 | 剩余车位 ",
		"[display exit1] 京B77777 | 停车 4时30分 | 请缴费 19.00元 | 请扫码支付 ♪ 京B77777请缴费19元",
		"[display exit1] 京B77777 | 停车 4时30分 | 已缴费 | 一路平安 ♪ 一路顺风",
		"[display exit1] 沪C88888 | 停车 3时00分 | 无感支付 13.00元 | 一路平安 ♪ 一路顺风",
		"[display exit1] 无牌车 | 请扫码缴费 ♪ 请扫码缴费",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDemoRefusesUsedDataDir(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-data", dir}, nil, &out, &out); err != nil {
		t.Fatalf("first demo = %v\n%s", err, out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"demo", "-data", dir}, nil, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "fresh data directory") {
		t.Errorf("demo in a used data dir = %v; want a refusal naming the problem", err)
	}
}

// laned demo -site 3: three boxes of one car park, a car entering at a
// and leaving at c, a partition of c with traffic on both sides and its
// healing, checked by its summary.
func TestDemoSite(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-site", "3", "-data", t.TempDir()}, nil, &out, &errb); err != nil {
		t.Fatalf("laned demo -site 3 = %v\n%s\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"record 20260302000000a001000000001 is at boxes b and c too",
		"[c] exit3: exit: waiting for payment plate=京A12345 due_fen=500",
		"a asked box c for the fee; 5.00 yuan paid at a",
		"the payment reached box c: exit3's barrier rises",
		"PARTITION", "gateway a answered status 1: lane's box unreachable: try again",
		"[c] exit3: barrier up why=exit 粤C33333: free: free period",
		"HEALED", "the boxes agree again",
		"box c let 沪K66666 out without its entry: no-entry record 20260302015000c003000000002, its AutoPay held",
		"box c matched its no-entry exit 20260302015000c003000000002 to a's entry 20260302012200a001000000003: the held AutoPay charged 5.00 yuan",
		"box c: 6 records, 0 open, 0 record or payment uplinks pending",
		"every box holds every record in the same state with the same payments: yes",
		"money: 24.00 yuan received (19.00 scanned at the gateway, 5.00 contactless), charged once each",
		"exits without a visible entry: 1 matched to their entry, 0 unmatched",
		"uplinks: every record's Indata and Outdata reached the platform once: yes",
		"platform: 0 order violations, 0 double charges",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo -site 3 output lacks %q:\n%s", want, out.String())
		}
	}
	var e bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-site", "2"}, nil, &out, &e); err == nil {
		t.Error("demo -site 2 ran; want a refusal (the site demo has 3 boxes)")
	}
}
