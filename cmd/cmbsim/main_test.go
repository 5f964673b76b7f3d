package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"laned/cmb"
	"laned/internal/syncbuf"
)

const (
	appID  = "ik45nfuz"
	secret = "vqhqr9vozoorivkc3lemrbicphgzx"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantOut string
		wantErr error
	}{
		{[]string{"help"}, "usage: cmbsim", nil},
		{nil, "", errUsage},
		{[]string{"nope"}, "", errUsage},
		{[]string{"call"}, "", errUsage},
		{[]string{"call", "fly"}, "", errUsage},
		{[]string{"serve", "--appid", "a", "--secret", "s"}, "", errUsage},                       // no --park
		{[]string{"call", "calc", "--appid", "a", "--secret", "s", "--park", "1"}, "", errUsage}, // no --lane
		{[]string{"serve", "--agree", "京A1"}, "", errUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &errb)
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("run(%q) = %v; want %v (stderr %q)", tt.args, err, tt.wantErr, errb.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("run(%q) printed %q; want %q", tt.args, out.String(), tt.wantOut)
			}
			if exitCode(err) == 0 && err != nil {
				t.Errorf("exitCode(%v) = 0", err)
			}
		})
	}
}

// lane is a minimal lane behind cmb.Server.
type lane struct{}

func (lane) Calc(_ context.Context, r cmb.CalcRequest) (cmb.CalcAnswer, error) {
	if r.OutCode != nil && *r.OutCode != 2 {
		return cmb.CalcAnswer{}, &cmb.AnswerError{Status: cmb.CalcNoPlate, Message: "no vehicle"}
	}
	return cmb.CalcAnswer{VplNumber: "京A12345", RecordID: "r1", Charge: cmb.Charge{TotalPrice: 500, ShouldPay: 500}}, nil
}
func (lane) Pay(context.Context, cmb.PayRequest) error                     { return nil }
func (lane) AutoPayBind(context.Context, cmb.AutoPayBindRequest) error     { return nil }
func (lane) AutoPayUnbind(context.Context, cmb.AutoPayUnbindRequest) error { return nil }
func (lane) NoVpln(_ context.Context, r cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
	return cmb.NoVplnAnswer{VplNumber: r.VplNumber}, nil
}

func TestCall(t *testing.T) {
	srv, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: 5201020001}, lane{})
	if err != nil {
		t.Fatal(err)
	}
	ls := httptest.NewServer(srv)
	defer ls.Close()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--lane", ls.URL + "/", "--appid", appID, "--secret-file", secretFile, "--park", "5201020001"}
	tests := []struct {
		name      string
		args      []string
		wantErr   error
		wantLines []string // endpoint:status per line
	}{
		{"calc exit", []string{"calc", "--out-code", "2"}, nil, []string{"calc:0"}},
		{"calc empty exit", []string{"calc", "--out-code", "5"}, errReported, []string{"calc:3"}},
		{"pay", []string{"pay", "--plate", "京A12345", "--record-id", "r1", "--amount", "500"}, nil, []string{"pay:0"}},
		{"bind", []string{"bind", "--plate", "京A12345", "--limit", "3000"}, nil, []string{"autoPayBind:0"}},
		{"unbind", []string{"autoPayUnbind", "--plate", "京A12345"}, nil, []string{"autoPayUnbind:0"}},
		{"novpln", []string{"novpln", "--plate", "VIRTUAL0000000001", "--in-code", "1"}, nil, []string{"NoVpln:0"}},
		{"scan-pay", []string{"scan-pay", "--out-code", "2"}, nil, []string{"calc:0", "pay:0"}},
		{"plate-pay", []string{"plate-pay", "--plate", "京A12345"}, nil, []string{"calc:0", "pay:0"}},
		{"pay without a record", []string{"pay", "--plate", "京A1", "--amount", "5"}, cmb.ErrMalformed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"call"}, append(tt.args, common...)...)
			err := run(context.Background(), args, nil, &out, &errb)
			if !errors.Is(err, tt.wantErr) && !(err == nil && tt.wantErr == nil) {
				t.Fatalf("run(%q) = %v; want %v (stderr %q)", args, err, tt.wantErr, errb.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if line == "" {
					continue
				}
				var a answerLine
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatalf("output line %q: %v", line, err)
				}
				got = append(got, a.Endpoint+":"+itoa(a.Status))
			}
			if strings.Join(got, ",") != strings.Join(tt.wantLines, ",") {
				t.Errorf("run(%q) printed %v; want %v", args, got, tt.wantLines)
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("the secret was printed")
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestServe starts serve on a free port, sends an uplink through
// cmb.Client, reads it back through the admin API, and stops it.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--appid", appID, "--secret", secret,
			"--park", "5201020001", "--agree", "京A12345=3000"}, nil, pw, &errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listen line: %v (stderr %q)", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(strings.TrimPrefix(line, "cmbsim: listening on "))
	cli, err := cmb.NewClient(cmb.Config{BaseURL: base, AppID: appID, Secret: secret, ParkCode: 5201020001, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a, err := cli.Indata(ctx, cmb.Indata{InCode: 1, VplNumber: "京A12345", RecordID: "r1", InTime: 1_700_000_000, CarType: cmb.CarSmall, PowerType: cmb.PowerNormal})
	if err != nil || a.UID != 1 || a.Limit != 3000 {
		t.Fatalf("Indata = %+v, %v; want uid 1 limit 3000 from --agree", a, err)
	}
	resp, err := http.Get(base + "/_sim/received?endpoint=Indata")
	if err != nil {
		t.Fatal(err)
	}
	var rec []map[string]any
	json.NewDecoder(resp.Body).Decode(&rec)
	resp.Body.Close()
	if len(rec) != 1 {
		t.Errorf("GET /_sim/received = %v; want the Indata", rec)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel = %v; want nil", err)
	}
	logs := errb.String()
	if !strings.Contains(logs, "msg=uplink") || !strings.Contains(logs, "endpoint=Indata") {
		t.Errorf("serve logs %q; want one uplink line", logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("serve logged the secret")
	}
}
