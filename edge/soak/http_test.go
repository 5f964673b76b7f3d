package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"laned/cmb"
	"laned/internal/progress"
	"laned/store"
)

// TestCallbackAbuse attacks the running daemon's callback server: a
// 10 MB body, slow headers, a flood of bad signatures (wrong secret, wrong
// appid, wrong park_code) and replayed pay notices. Nothing may change,
// nothing may be counted twice, and good requests must still be answered.
func TestCallbackAbuse(t *testing.T) {
	lv := soakLevel()
	rg := newRig(t)
	port, base, sim := rg.port, rg.laneURL, rg.sim
	plates := preParked(t, rg.dbPath(), 3, sim)
	plate := plates[1] // no contactless agreement
	d, _, err := rg.start(t)
	if err != nil {
		t.Fatal(err)
	}
	defer d.kill()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hc := &http.Client{Timeout: progress.Stall} // a hang guard
	call := func(secretUsed, name string, v map[string][]string) (cmb.Envelope, error) {
		return cmb.CallDownlink(ctx, hc, base, appID, secretUsed, name, v)
	}
	calc := func() cmb.CalcAnswer {
		t.Helper()
		v, err := cmb.CalcRequest{ParkCode: parkCode, VplNumber: plate}.Values()
		if err != nil {
			t.Fatal(err)
		}
		env, err := call(secret, cmb.EpCalc, v)
		if err != nil {
			t.Fatalf("good calc: %v", err)
		}
		a, err := cmb.DecodeCalcAnswer(env.Data)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	before := calc()
	if before.Charge.ShouldPay <= 0 || before.RecordID == "" {
		t.Fatalf("calc(%s) = %+v; want a fee due on an open record", plate, before)
	}

	// Slow headers, in the background: the header timeout must close them.
	const slowConns = 10
	var slowClosed atomic.Int64
	var slowMax atomic.Int64
	var wg sync.WaitGroup
	for range slowConns {
		wg.Go(func() {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			t0 := time.Now()
			io.WriteString(c, "POST /cmbParking/calc HTTP/1.1\r\nHost: lane\r\n")
			c.SetReadDeadline(time.Now().Add(60 * time.Second)) // a hang guard
			go func() {                                         // a header byte a second, never the blank line
				for range 60 {
					time.Sleep(time.Second)
					if _, err := io.WriteString(c, "X"); err != nil {
						return
					}
				}
			}()
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("slow-header connection still open after 60 s")
				return
			}
			slowClosed.Add(1)
			if d := time.Since(t0); int64(d) > slowMax.Load() {
				slowMax.Store(int64(d))
			}
		})
	}

	// A 10 MB body.
	big := bytes.Repeat([]byte("a"), 10<<20)
	resp, err := hc.Post(base+"cmbParking/pay", "application/x-www-form-urlencoded", bytes.NewReader(append([]byte("vpl_number="), big...)))
	var bigStatus, bigEnv int
	if err != nil {
		t.Errorf("10 MB body: %v; want an answer", err)
	} else {
		var env cmb.Envelope
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bigStatus = resp.StatusCode
		if err := json.Unmarshal(b, &env); err != nil {
			t.Errorf("10 MB body: answer %q is not the JSON envelope", b)
		}
		bigEnv = env.Status
		if resp.StatusCode != http.StatusRequestEntityTooLarge || env.Status != cmb.StatusTooLarge {
			t.Errorf("10 MB body: HTTP %d, status %d; want 413, %d", resp.StatusCode, env.Status, cmb.StatusTooLarge)
		}
	}

	// Bad signatures: pay notices that would credit the record.
	payValues := func(order string, amount int64) map[string][]string {
		v, err := cmb.PayRequest{ParkCode: parkCode, VplNumber: plate, RecordID: before.RecordID, BillID: before.BillID, PayTime: time.Now().Unix(),
			PayList: []cmb.PayItem{{PayType: 99, Amount: amount, Order: order}}}.Values()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var refused, accepted atomic.Int64
	var badOrders []string
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				order := fmt.Sprintf("BAD%06d", i)
				v := payValues(order, before.Charge.ShouldPay)
				var env cmb.Envelope
				var err error
				switch i % 4 {
				case 0, 1: // the wrong secret
					env, err = call("not-the-secret", cmb.EpPay, v)
				case 2: // the wrong appid
					env, err = cmb.CallDownlink(ctx, hc, base, "someoneelse", secret, cmb.EpPay, v)
				case 3: // another car park, well signed
					v["park_code"] = []string{"4401"}
					env, err = call(secret, cmb.EpPay, v)
				}
				if err != nil && errors.Is(err, cmb.ErrRejected) {
					refused.Add(1)
				} else {
					accepted.Add(1)
					t.Errorf("bad pay notice %d answered %+v, %v; want refused", i, env, err)
				}
			}
		})
	}
	for i := range lv.badSigns {
		badOrders = append(badOrders, fmt.Sprintf("BAD%06d", i))
		jobs <- i
	}
	close(jobs)

	// A good pay notice, then replays of it.
	const replays = 50
	order := "PAYSOAK0001"
	good := payValues(order, before.Charge.ShouldPay)
	if env, err := call(secret, cmb.EpPay, good); err != nil || !env.OK() {
		t.Fatalf("good pay notice: %+v, %v", env, err)
	}
	replayOK := 0
	for range replays {
		if env, err := call(secret, cmb.EpPay, good); err == nil && env.OK() {
			replayOK++
		}
	}
	wg.Wait()
	after := calc() // still answering, and the fee paid once
	if after.Charge.ShouldPay != 0 || after.Charge.Paid != before.Charge.ShouldPay {
		t.Errorf("calc after the abuse = %+v; want paid %d once, nothing due", after.Charge, before.Charge.ShouldPay)
	}
	if n := slowClosed.Load(); n != slowConns {
		t.Errorf("%d of %d slow-header connections closed by the server", n, slowConns)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("laned stop: %v", err)
	}

	db := rg.storeAfter(t)
	pays, err := db.Payments(before.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	var credited int64
	for _, p := range pays {
		credited += p.Amount
	}
	if len(pays) != 1 || credited != before.Charge.ShouldPay {
		t.Errorf("record %s has %d payments worth %d fen; want one of %d", before.RecordID, len(pays), credited, before.Charge.ShouldPay)
	}
	var leaked int
	for _, o := range badOrders {
		if _, err := db.PaymentByOrder(o); !errors.Is(err, store.ErrNotFound) {
			leaked++
		}
	}
	if leaked > 0 {
		t.Errorf("%d refused pay notices left a payment", leaked)
	}
	audit, err := db.RecentAudit(20000)
	if err != nil {
		t.Fatal(err)
	}
	refusedLogged := 0
	for _, ev := range audit {
		if ev.Kind == "callback_refused" {
			refusedLogged++
		}
	}
	report(t, "level %s: 10 MB body → HTTP %d, status %d; %d slow-header connections, %d closed by the server (the last after %v)",
		lv.name, bigStatus, bigEnv, slowConns, slowClosed.Load(), time.Duration(slowMax.Load()).Round(100*time.Millisecond))
	report(t, "%d pay notices badly signed, wrong appid or park: %d refused, %d accepted, %d left a payment; %d audit entries for refused callbacks",
		lv.badSigns, refused.Load(), accepted.Load(), leaked, refusedLogged)
	report(t, "1 pay notice of %d fen replayed %d times (%d answered ok): %d payment(s) worth %d fen in the store; calc after all: should_pay %d, paid %d",
		before.Charge.ShouldPay, replays, replayOK, len(pays), credited, after.Charge.ShouldPay, after.Charge.Paid)
	if strings.Contains(readFile(t, rg.log.Name()), secret) {
		t.Errorf("the daemon's log holds the appsecret")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
