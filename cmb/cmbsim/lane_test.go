package cmbsim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

// fakeLane is a lane's callback handler behind cmb.Server: one vehicle at
// exit 2 owing 600 fen on record r1.
type fakeLane struct {
	mu     sync.Mutex
	paid   map[string]int64 // order → amount
	binds  map[string]int64
	calcs  []cmb.CalcRequest
	atExit string
}

func (l *fakeLane) Calc(_ context.Context, r cmb.CalcRequest) (cmb.CalcAnswer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calcs = append(l.calcs, r)
	plate := r.VplNumber
	if r.OutCode != nil {
		if *r.OutCode != 2 {
			return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcNoPlate, Message: "no vehicle at the exit"}
		}
		plate = l.atExit
	}
	var paid int64
	for _, a := range l.paid {
		paid += a
	}
	return cmb.CalcAnswer{VplNumber: plate, RecordID: "r1", BillID: "b1", InTime: t0 - 3600, OutTime: t0, Duration: 3600,
		Charge: cmb.Charge{TotalPrice: 600, ShouldPay: 600 - paid, Paid: paid}}, nil
}

func (l *fakeLane) Pay(_ context.Context, r cmb.PayRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.RecordID != "r1" {
		return &cmb.AnswerError{Status: 1, Message: "unknown record"}
	}
	for _, it := range r.PayList {
		l.paid[it.Order] = it.Amount
	}
	return nil
}

func (l *fakeLane) AutoPayBind(_ context.Context, r cmb.AutoPayBindRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.binds[r.VplNumber] = r.Limit
	return nil
}

func (l *fakeLane) AutoPayUnbind(_ context.Context, r cmb.AutoPayUnbindRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.binds, r.VplNumber)
	return nil
}

func (l *fakeLane) NoVpln(_ context.Context, r cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
	if r.InCode != 1 {
		return cmb.NoVplnAnswer{}, &cmb.AnswerError{Status: cmb.NoVplnNoVehicle, Message: "no vehicle"}
	}
	return cmb.NoVplnAnswer{VplNumber: r.VplNumber}, nil
}

var _ cmb.Handler = (*fakeLane)(nil)

// newLaneEnv starts a fake lane under the prefix /a/b/ and a simulator
// pointed at it.
func newLaneEnv(t *testing.T) (*env, *fakeLane) {
	t.Helper()
	lane := &fakeLane{paid: map[string]int64{}, binds: map[string]int64{}, atExit: "京A12345"}
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: park, Prefix: "/a/b/", Logger: testLogger(t)}, lane)
	if err != nil {
		t.Fatal(err)
	}
	ls := httptest.NewServer(srv)
	t.Cleanup(ls.Close)
	e := newEnv(t, func(c *cmbsim.Config) { c.LaneURL = ls.URL + "/a/b/"; c.HTTP = ls.Client() })
	return e, lane
}

func TestScanPay(t *testing.T) {
	e, lane := newLaneEnv(t)
	ctx := context.Background()
	res, err := e.sim.ScanPay(ctx, 2)
	if err != nil {
		t.Fatalf("ScanPay(2) = %v", err)
	}
	if !res.Paid || res.Amount != 600 || res.Calc.VplNumber != "京A12345" || !strings.HasPrefix(res.Order, "SIM") {
		t.Errorf("ScanPay(2) = %+v; want 600 paid for 京A12345 with a SIM order", res)
	}
	lane.mu.Lock()
	got := lane.paid[res.Order]
	lane.mu.Unlock()
	if got != 600 {
		t.Errorf("lane credited %d for %s; want 600", got, res.Order)
	}
	// Paid: a second scan finds nothing due and pays nothing.
	res2, err := e.sim.ScanPay(ctx, 2)
	if err != nil || res2.Paid || res2.Calc.Charge.ShouldPay != 0 {
		t.Errorf("second ScanPay(2) = %+v, %v; want nothing due, nothing paid", res2, err)
	}
	sent := e.sim.Sent()
	var eps []string
	for _, c := range sent {
		eps = append(eps, c.Endpoint)
	}
	if strings.Join(eps, ",") != "calc,pay,calc" {
		t.Errorf("Sent() endpoints = %v; want calc,pay,calc", eps)
	}
	if sent[1].Params["record_id"] != "r1" || sent[1].Params["bill_id"] != "b1" || !strings.Contains(sent[1].Params["pay_list"], `"amount":600`) {
		t.Errorf("pay callback params = %v; want record r1, bill b1, amount 600", sent[1].Params)
	}
	// An empty exit: calc refused, nothing paid.
	res3, err := e.sim.ScanPay(ctx, 7)
	var rej *cmb.RejectedError
	if !errors.As(err, &rej) || rej.Status != cmb.CalcNoPlate || res3.Paid {
		t.Errorf("ScanPay(7) = %+v, %v; want rejected with status %d", res3, err, cmb.CalcNoPlate)
	}
}

func TestPayPlateAndUnlicensed(t *testing.T) {
	e, lane := newLaneEnv(t)
	ctx := context.Background()
	res, err := e.sim.PayPlate(ctx, "京C1")
	if err != nil || !res.Paid || res.Calc.VplNumber != "京C1" {
		t.Fatalf("PayPlate(京C1) = %+v, %v; want paid", res, err)
	}
	lane.mu.Lock()
	q := lane.calcs[0]
	lane.mu.Unlock()
	if q.Mode() != cmb.CalcPlateQuery {
		t.Errorf("PayPlate sent calc mode %v; want plate query", q.Mode())
	}
	e2, lane2 := newLaneEnv(t)
	if _, err := e2.sim.ScanPayUnlicensed(ctx, 2, "VIRTUAL0000000001"); err != nil {
		t.Fatal(err)
	}
	lane2.mu.Lock()
	q = lane2.calcs[0]
	lane2.mu.Unlock()
	if q.Mode() != cmb.CalcUnlicensedExit {
		t.Errorf("ScanPayUnlicensed sent calc mode %v; want unlicensed exit", q.Mode())
	}
}

func TestBindUnbindNoVpln(t *testing.T) {
	e, lane := newLaneEnv(t)
	ctx := context.Background()
	if _, err := e.sim.Bind(ctx, cmbsim.BindRequest{Plate: "京A1", Limit: 3000}); err != nil {
		t.Fatalf("Bind = %v", err)
	}
	lane.mu.Lock()
	got := lane.binds["京A1"]
	lane.mu.Unlock()
	if got != 3000 {
		t.Errorf("lane bound limit %d; want 3000", got)
	}
	if _, err := e.sim.Unbind(ctx, "京A1"); err != nil {
		t.Fatalf("Unbind = %v", err)
	}
	lane.mu.Lock()
	n := len(lane.binds)
	lane.mu.Unlock()
	if n != 0 {
		t.Errorf("lane has %d bindings after unbind; want 0", n)
	}
	tests := []struct {
		inCode     int
		wantStatus int
	}{{1, 0}, {3, cmb.NoVplnNoVehicle}}
	for _, tt := range tests {
		env, a, err := e.sim.NoVpln(ctx, "VIRTUAL0000000001", tt.inCode)
		var rej *cmb.RejectedError
		switch {
		case tt.wantStatus == 0 && (err != nil || a.VplNumber != "VIRTUAL0000000001" || env.Status != 0):
			t.Errorf("NoVpln(in %d) = %+v, %+v, %v; want the platform's plate", tt.inCode, env, a, err)
		case tt.wantStatus != 0 && (!errors.As(err, &rej) || rej.Status != tt.wantStatus):
			t.Errorf("NoVpln(in %d) = %v; want status %d", tt.inCode, err, tt.wantStatus)
		}
	}
}

func TestNoLane(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.sim.ScanPay(context.Background(), 1); !errors.Is(err, cmbsim.ErrNoLane) {
		t.Errorf("ScanPay without a lane = %v; want ErrNoLane", err)
	}
	resp, err := e.srv.Client().Post(e.srv.URL+"/_sim/scan-pay", "application/json", strings.NewReader(`{"out_code":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("POST /_sim/scan-pay without a lane = HTTP %d; want 409", resp.StatusCode)
	}
}

// TestAdminAPI drives the simulator through /_sim/ only, as a technician
// or an out-of-process test would.
func TestAdminAPI(t *testing.T) {
	e, lane := newLaneEnv(t)
	ctx := context.Background()
	do := func(method, path, body string, wantCode int, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != wantCode {
			t.Fatalf("%s %s = HTTP %d; want %d", method, path, resp.StatusCode, wantCode)
		}
		if out != nil {
			decodeJSON(t, resp.Body, out)
		}
	}

	do("POST", "/_sim/agreements", `{"plate":"京A1","limit":2000,"notify":true}`, 200, nil)
	lane.mu.Lock()
	bound := lane.binds["京A1"]
	lane.mu.Unlock()
	if bound != 2000 {
		t.Errorf("lane bound %d after POST /_sim/agreements notify; want 2000", bound)
	}
	var ags []cmbsim.Agreement
	do("GET", "/_sim/agreements", "", 200, &ags)
	if len(ags) != 1 || ags[0].Plate != "京A1" || ags[0].Limit != 2000 {
		t.Errorf("GET /_sim/agreements = %+v; want 京A1 2000", ags)
	}
	do("POST", "/_sim/agreements", `{"plate":"京A1"}`, 400, nil)
	do("POST", "/_sim/agreements", `{"plate":"京A1","limit":1,"bogus":1}`, 400, nil)

	do("PUT", "/_sim/faults/AutoPay", `{"cut":true,"times":1}`, 200, nil)
	do("PUT", "/_sim/faults/Nope", `{"down":true}`, 404, nil)
	do("PUT", "/_sim/faults/Indata", `{"delay_ms":-1}`, 400, nil)
	var faults map[string]map[string]any
	do("GET", "/_sim/faults", "", 200, &faults)
	if faults["AutoPay"]["cut"] != true {
		t.Errorf("GET /_sim/faults = %v; want AutoPay cut", faults)
	}
	e.cli.Indata(ctx, indata("京A1", "r9"))
	if _, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: "r9", Amount: 100, RequestOrder: "x"}); !errors.Is(err, cmb.ErrOutcomeUnknown) {
		t.Errorf("AutoPay under an admin cut fault = %v; want outcome unknown", err)
	}
	var orders []cmbsim.Order
	do("GET", "/_sim/orders", "", 200, &orders)
	if len(orders) != 1 || !orders[0].Charged {
		t.Errorf("GET /_sim/orders = %+v; want one charged", orders)
	}
	var rec []cmbsim.Uplink
	do("GET", "/_sim/received?endpoint=AutoPay&record_id=r9", "", 200, &rec)
	if len(rec) != 1 || rec[0].Outcome != cmbsim.OutcomeCut || rec[0].Fault == "" {
		t.Errorf("GET /_sim/received = %+v; want the cut AutoPay", rec)
	}

	var mode map[string]bool
	do("PUT", "/_sim/mode", `{"guaranteed":true}`, 200, &mode)
	if !e.sim.Guaranteed() {
		t.Errorf("PUT /_sim/mode guaranteed: Guaranteed() = false")
	}
	do("PUT", "/_sim/mode", `{}`, 400, nil)
	do("PUT", "/_sim/fail-payments", `{"plate":"京A1","fail":true}`, 200, nil)
	do("PUT", "/_sim/mode", `{"guaranteed":false}`, 200, nil)
	if _, err := e.cli.AutoPay(ctx, cmb.AutoPay{VplNumber: "京A1", RecordID: "r9", Amount: 100, RequestOrder: "y"}); !errors.Is(err, cmb.ErrRejected) {
		t.Errorf("AutoPay with fail-payments = %v; want rejected", err)
	}

	var pay struct {
		Status int            `json:"status"`
		Paid   bool           `json:"paid"`
		Amount int64          `json:"amount"`
		Calc   cmb.CalcAnswer `json:"calc"`
	}
	do("POST", "/_sim/scan-pay", `{"out_code":2}`, 200, &pay)
	if !pay.Paid || pay.Amount != 600 || pay.Calc.RecordID != "r1" {
		t.Errorf("POST /_sim/scan-pay = %+v; want 600 paid on r1", pay)
	}
	var calc struct {
		Status int `json:"status"`
		Class  string
	}
	do("POST", "/_sim/lane/calc", `{"out_code":9}`, 200, &calc)
	if calc.Status != cmb.CalcNoPlate || calc.Class != "rejected" {
		t.Errorf("POST /_sim/lane/calc out 9 = %+v; want rejected status %d", calc, cmb.CalcNoPlate)
	}
	do("POST", "/_sim/lane/pay", `{"vpl_number":"京A1","record_id":"r1","amount":5,"order":"o-5"}`, 200, nil)
	lane.mu.Lock()
	five := lane.paid["o-5"]
	lane.mu.Unlock()
	if five != 5 {
		t.Errorf("lane credited %d for o-5; want 5", five)
	}
	// A notice without a plate is sent (the record_id names the stay).
	do("POST", "/_sim/lane/pay", `{"vpl_number":"","record_id":"r1","amount":5}`, 200, nil)
	do("DELETE", "/_sim/agreements/京A1?notify=1", "", 200, nil)
	lane.mu.Lock()
	n := len(lane.binds)
	lane.mu.Unlock()
	if n != 0 || len(e.sim.Agreements()) != 0 {
		t.Errorf("after DELETE notify: lane has %d bindings, sim %d agreements; want 0, 0", n, len(e.sim.Agreements()))
	}
	var sent []cmbsim.Callback
	do("GET", "/_sim/sent", "", 200, &sent)
	if len(sent) < 5 {
		t.Errorf("GET /_sim/sent = %d callbacks; want ≥ 5", len(sent))
	}
	var viol []cmbsim.Violation
	do("GET", "/_sim/violations", "", 200, &viol)
	if len(viol) != 0 {
		t.Errorf("GET /_sim/violations = %+v; want none", viol)
	}
	do("GET", "/_sim/nope", "", 404, nil)
	do("POST", "/_sim/reset", "", 200, nil)
	do("GET", "/_sim/received", "", 200, &rec)
	if len(rec) != 0 {
		t.Errorf("GET /_sim/received after reset = %d; want 0", len(rec))
	}
}
