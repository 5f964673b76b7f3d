package camera_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/clock"
)

var n0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func newNet(t *testing.T, cfg camera.NetConfig) (*camera.NetCamera, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(n0)
	cfg.Clock = clk
	if cfg.Name == "" {
		cfg.Name = "entry1/camera"
	}
	if cfg.Family == 0 {
		cfg.Family = camera.FamilyPush
	}
	c, err := camera.NewNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Halt() })
	return c, clk
}

func plateRead(plate string, camAt time.Time) camera.Read {
	return camera.Read{Event: hal.PlateEvent{Kind: hal.KindPlate, Plate: plate, Conf: 90, CameraTime: camAt}}
}

// drain returns the events queued so far.
func drain(c *camera.NetCamera) []string {
	var out []string
	for {
		select {
		case ev := <-c.Events():
			out = append(out, ev.Kind.String()+" "+ev.Plate)
		default:
			return out
		}
	}
}

func TestNetCameraEvents(t *testing.T) {
	c, clk := newNet(t, camera.NetConfig{Silence: time.Minute})
	ctx := context.Background()
	if c.Online() {
		t.Fatal("online before any push")
	}
	deliver := func(r camera.Read) {
		t.Helper()
		if open, err := c.Deliver(ctx, r); err != nil || open {
			t.Fatalf("Deliver = %v, %v; want false, nil", open, err)
		}
	}
	deliver(plateRead("京A12345", n0))
	deliver(plateRead("京A12345", n0.Add(200*time.Millisecond))) // the camera's repeat
	clk.Advance(time.Second)
	deliver(plateRead("京B99999", n0.Add(-time.Second))) // taken before the last one: late
	deliver(camera.Read{Event: hal.PlateEvent{Kind: hal.KindHeartbeat}})
	clk.Advance(10 * time.Second)
	deliver(plateRead("京A12345", n0.Add(11*time.Second))) // the same car once more, later
	deliver(camera.Read{Event: hal.PlateEvent{Kind: hal.KindNoPlate}})
	got := strings.Join(drain(c), "|")
	want := "online |plate 京A12345|plate 京A12345|no-plate "
	if got != want {
		t.Errorf("events = %q; want %q", got, want)
	}
	if st := c.Stats(); st.Duplicates != 2 || st.Heartbeats != 1 || st.Reads != 3 {
		t.Errorf("stats = %+v; want 2 duplicates, 1 heartbeat, 3 reads", st)
	}
	clk.Advance(59 * time.Second)
	if !c.Online() {
		t.Fatal("offline before the silence limit")
	}
	clk.Advance(time.Second)
	for c.Online() {
		time.Sleep(time.Millisecond) // the silence timer runs in its own goroutine
	}
	ev := <-c.Events()
	if ev.Kind != hal.KindOffline {
		t.Errorf("after silence: %v; want offline", ev.Kind)
	}
	deliver(camera.Read{Event: hal.PlateEvent{Kind: hal.KindHeartbeat}})
	if got := drain(c); len(got) != 1 || got[0] != "online " || !c.Online() {
		t.Errorf("after a heartbeat: %v online %v; want online", got, c.Online())
	}
}

func TestNetCameraSerialNo(t *testing.T) {
	c, _ := newNet(t, camera.NetConfig{SerialNo: "abc"})
	r := plateRead("京A12345", time.Time{})
	r.SerialNo = "other"
	if _, err := c.Deliver(context.Background(), r); err == nil {
		t.Error("Deliver from another serial number = nil; want an error")
	}
	if got := drain(c); len(got) != 0 {
		t.Errorf("events = %v; want none", got)
	}
}

func TestNetCameraDecision(t *testing.T) {
	for _, tt := range []struct {
		name   string
		decide int // 0 never, 1 open, 2 refuse
		want   bool
	}{{"open", 1, true}, {"refuse", 2, false}, {"no decision in time", 0, false}} {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newNet(t, camera.NetConfig{OpensBarrier: true, Decision: 2 * time.Second})
			res := make(chan bool)
			go func() {
				open, _ := c.Deliver(context.Background(), plateRead("京A12345", time.Time{}))
				res <- open
			}()
			if ev := <-c.Events(); ev.Kind != hal.KindOnline {
				t.Fatalf("first event %v; want online", ev.Kind)
			}
			ev := <-c.Events()
			if ev.Decision == nil {
				t.Fatal("a read of a camera that opens the barrier has no Decision")
			}
			switch tt.decide {
			case 1:
				ev.Decision.Decide(true)
				ev.Decision.Decide(false) // ignored
			case 2:
				ev.Decision.Decide(false)
			default:
				clk.WaitPending(2) // the silence watch and the decision timer
				clk.Advance(2 * time.Second)
			}
			if got := <-res; got != tt.want {
				t.Errorf("Deliver = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestListener(t *testing.T) {
	push, _ := newNet(t, camera.NetConfig{Name: "in/camera"})
	isapi, _ := newNet(t, camera.NetConfig{Name: "out/camera", Family: camera.FamilyISAPI})
	locked, _ := newNet(t, camera.NetConfig{Name: "locked/camera"})
	l := camera.NewListener(nil)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.Add("in", camera.NetSource{Camera: push, Token: "s3cret"}))
	must(l.Add("out", camera.NetSource{Camera: isapi, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
	must(l.Add("locked", camera.NetSource{Camera: locked, Allow: []netip.Prefix{netip.MustParsePrefix("192.168.1.100/32")}}))
	if err := l.Add("in", camera.NetSource{Camera: push}); err == nil {
		t.Error("Add twice = nil; want an error")
	}
	srv := httptest.NewServer(l)
	defer srv.Close()
	example := readFile(t, "push_plate.json")
	tests := []struct {
		name, path, ctype string
		body              []byte
		code              int
		answer            string
	}{
		{"push", "/camera/push/in?token=s3cret", "application/json", example, 200, `{"Response_AlarmInfoPlate":{"info":"no"}}`},
		{"push without token", "/camera/push/in", "application/json", example, 403, ""},
		{"push wrong token", "/camera/push/in?token=x", "application/json", example, 403, ""},
		{"push bad body", "/camera/push/in?token=s3cret", "application/json", []byte("{"), 400, ""},
		{"push too large", "/camera/push/in?token=s3cret", "application/json", bytes.Repeat([]byte(" "), camera.MaxPushBytes+1), 413, ""},
		{"isapi", "/camera/isapi/out", isapiType, readFile(t, "isapi_anpr.multipart"), 200, ""},
		{"isapi on the push path", "/camera/push/out", isapiType, readFile(t, "isapi_anpr.multipart"), 404, ""},
		{"unknown lane", "/camera/push/nope", "application/json", example, 404, ""},
		{"not allowed", "/camera/push/locked", "application/json", example, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tt.path, tt.ctype, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("POST %s = %d %s; want %d", tt.path, resp.StatusCode, b, tt.code)
			}
			if tt.code == 200 && string(b) != tt.answer {
				t.Errorf("answer = %q; want %q", b, tt.answer)
			}
		})
	}
	if got := strings.Join(drain(push), "|"); got != "online |plate 京A12345" {
		t.Errorf("push camera events = %q; want online, 京A12345 once", got)
	}
	if got := strings.Join(drain(isapi), "|"); got != "online |plate 粤B6D789" {
		t.Errorf("isapi camera events = %q; want online, 粤B6D789", got)
	}
	if got := drain(locked); len(got) != 0 {
		t.Errorf("locked camera events = %v; want none", got)
	}
}
