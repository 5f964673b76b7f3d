package cmb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbtest"
	"laned/internal/syncbuf"
)

const (
	appID    = "ik45nfuz"
	secret   = "vqhqr9vozoorivkc3lemrbicphgzx"
	parkCode = 5201020001
)

// classOf names the one class of err, failing the test if it has none or
// several.
func classOf(t *testing.T, err error) string {
	t.Helper()
	var got []string
	for name, class := range map[string]error{"not delivered": cmb.ErrNotDelivered, "rejected": cmb.ErrRejected, "unknown": cmb.ErrOutcomeUnknown} {
		if errors.Is(err, class) {
			got = append(got, name)
		}
	}
	if len(got) != 1 {
		t.Fatalf("error %v is in classes %v; want exactly one", err, got)
	}
	if errors.Is(err, cmb.ErrMalformed) {
		t.Errorf("error %v of an exchange matches ErrMalformed", err)
	}
	return got[0]
}

// newClient returns a Client for base whose log is checked for the secret
// at the end of the test.
func newClient(t *testing.T, base string, mod func(*cmb.Config)) *cmb.Client {
	t.Helper()
	var logs syncbuf.Buffer
	cfg := cmb.Config{BaseURL: base, AppID: appID, Secret: secret, ParkCode: parkCode,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	c, err := cmb.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		out := logs.String()
		t.Logf("client log:\n%s", out)
		if strings.Contains(out, secret) {
			t.Errorf("the log contains the secret")
		}
	})
	return c
}

// platform is a fake platform: it verifies every uplink and answers with
// answer(name, form).
func platform(t *testing.T, answer func(name string, v url.Values) (int, string)) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/api/")
		if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("request %s %s (%s); want POST /api/<Name> form", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		body, _ := io.ReadAll(r.Body)
		v, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		if v.Get("appid") != appID {
			t.Errorf("appid = %q; want %q", v.Get("appid"), appID)
		}
		if err := cmb.VerifyFor(name, v, secret); err != nil {
			t.Errorf("VerifyFor(%s, %v) = %v", name, v, err)
		}
		code, text := answer(name, v)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, text)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestClientTyped(t *testing.T) {
	var mu sync.Mutex
	got := map[string]url.Values{}
	s := platform(t, func(name string, v url.Values) (int, string) {
		mu.Lock()
		got[name] = v
		mu.Unlock()
		switch name {
		case cmb.EpIndata, cmb.EpAutoPayStatus:
			return 200, `{"status":"0","message":"success","data":{"uid":"1","limit":"5000"}}`
		case cmb.EpAutoPay:
			return 200, `{"status":0,"message":"success","data":{"vpl_number":"苏ZZ9871","pay_time":1550560954,"channel_order":"c1"}}`
		case cmb.EpPayOrderStatus:
			return 200, `{"status":0,"message":"success","data":{"vpl_number":"苏ZZ9871","amount":"500","parking_duration":7200,"channel_order":"c1"}}`
		}
		return 200, `{"status":0,"message":"success"}`
	})
	c := newClient(t, s.URL+"/", nil)
	ctx := context.Background()

	ia, err := c.Indata(ctx, cmb.Indata{InCode: 1, VplNumber: "京A12311", RecordID: "r1", InTime: 1537155122, CarType: cmb.CarSmall, PowerType: cmb.PowerNormal})
	if err != nil || ia != (cmb.IndataAnswer{UID: 1, Limit: 5000}) {
		t.Errorf("Indata = %+v, %v", ia, err)
	}
	if pc := got[cmb.EpIndata].Get("park_code"); pc != "5201020001" {
		t.Errorf("Indata park_code = %q; want the Config's", pc)
	}
	ap, err := c.AutoPay(ctx, cmb.AutoPay{VplNumber: "苏ZZ9871", RecordID: "r1", Amount: 500, RequestOrder: "o1"})
	if err != nil || ap != (cmb.AutoPayAnswer{VplNumber: "苏ZZ9871", PayTime: 1550560954, ChannelOrder: "c1"}) {
		t.Errorf("AutoPay = %+v, %v", ap, err)
	}
	ps, err := c.PayOrderStatus(ctx, cmb.PayOrderStatus{RequestOrder: "o1"})
	if err != nil || ps.Amount != 500 || ps.ParkingDuration != 7200 {
		t.Errorf("PayOrderStatus = %+v, %v", ps, err)
	}
	as, err := c.AutoPayStatus(ctx, cmb.AutoPayStatus{VplNumber: "苏ZZ9871"})
	if err != nil || !as.Contactless() {
		t.Errorf("AutoPayStatus = %+v, %v", as, err)
	}
	for name, err := range map[string]error{
		cmb.EpOutdata:   c.Outdata(ctx, cmb.Outdata{InCode: 1, OutCode: 2, VplNumber: "x", RecordID: "r1", InTime: 1537155122, OutTime: 1537155999}),
		cmb.EpSpaceInfo: c.SpaceInfo(ctx, cmb.SpaceInfo{TotalEmpty: 3, VipEmpty: 1, TmpEmpty: 2}),
		// The platform's verification skips pic_con: the fake checks that.
		cmb.EpPicUpload:    c.PicUpload(ctx, cmb.PicUpload{RecordID: "r1", InOutFlag: cmb.FlagOut, PicCon: "aGVsbG8+Pz8/+/="}),
		cmb.EpConfigUpload: c.ConfigUpload(ctx, cmb.ConfigUpload{ConfigItems: cmb.ConfigItems{ReservedOutTime: 900}}),
	} {
		if err != nil {
			t.Errorf("%s = %v; want nil", name, err)
		}
	}
	if v := got[cmb.EpPicUpload]; v.Get("pic_con") != "aGVsbG8+Pz8/+/=" {
		t.Errorf("PicUpload pic_con = %q; want the base64 text intact", v.Get("pic_con"))
	}
	if len(got) != 8 {
		t.Errorf("platform saw %d endpoints; want 8", len(got))
	}

	// An invalid request fails before any I/O, as ErrMalformed only.
	mu.Lock()
	delete(got, cmb.EpAutoPay)
	mu.Unlock()
	_, err = c.AutoPay(ctx, cmb.AutoPay{VplNumber: "x", RecordID: "r", Amount: 0, RequestOrder: "o"})
	var fe *cmb.FieldError
	if !errors.As(err, &fe) || fe.Field != "amount" || errors.Is(err, cmb.ErrNotDelivered) || got[cmb.EpAutoPay] != nil {
		t.Errorf("AutoPay(0 fen) = %v; want a FieldError for amount and nothing sent", err)
	}
}

func TestClientSend(t *testing.T) {
	var seen url.Values
	s := platform(t, func(name string, v url.Values) (int, string) {
		seen = v
		return 200, `{"status":0}`
	})
	c := newClient(t, s.URL, nil)
	params := url.Values{"park_code": {"42"}, "appid": {"stale"}, "sign": {"stale"}, "x": {"1"}}
	env, err := c.Send(context.Background(), cmb.EpSpaceInfo, params)
	if err != nil || !env.OK() {
		t.Fatalf("Send = %+v, %v", env, err)
	}
	if seen.Get("park_code") != "42" || seen.Get("appid") != appID || seen.Get("x") != "1" {
		t.Errorf("sent %v; want park_code 42 kept, appid replaced, x kept", seen)
	}
	if params.Get("sign") != "stale" || params.Get("appid") != "stale" {
		t.Errorf("Send modified its params: %v", params)
	}
}

// stall returns a server whose handler blocks until the client goes away,
// and a channel closed when the request reached the handler.
func stall(t *testing.T) (*httptest.Server, chan struct{}) {
	reached := make(chan struct{})
	var once sync.Once
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		once.Do(func() { close(reached) })
		<-r.Context().Done()
	}))
	t.Cleanup(s.Close)
	return s, reached
}

func TestClientClasses(t *testing.T) {
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	answer := func(code int, body string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(code)
			io.WriteString(w, body)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	hijack := func(partial string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			buf.WriteString(partial)
			buf.Flush()
			conn.Close()
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	tlsServer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("TLS handshake should have failed")
	}))
	t.Cleanup(tlsServer.Close)
	slow, reached := stall(t)

	// A transport whose dial never completes before the deadline.
	dialStall := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}}
	dnsFail := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}}
	}}}

	tests := []struct {
		name      string
		base      string
		doer      cmb.HTTPDoer
		timeout   time.Duration
		maxAnswer int64
		want      string
	}{
		{"connection refused", refused, nil, 0, 0, "not delivered"},
		{"DNS failure", "http://platform.invalid", dnsFail, 0, 0, "not delivered"},
		{"dial timeout", "http://10.255.255.1", dialStall, 50 * time.Millisecond, 0, "not delivered"},
		{"TLS handshake failure", tlsServer.URL, nil, 0, 0, "not delivered"},
		{"503", answer(503, "busy"), nil, 0, 0, "not delivered"},
		{"503 with envelope", answer(503, `{"status":0}`), nil, 0, 0, "not delivered"},
		{"429", answer(429, ""), nil, 0, 0, "not delivered"},
		{"404 html", answer(404, "<html>not found</html>"), nil, 0, 0, "not delivered"},
		{"302 not followed", answer(302, ""), nil, 0, 0, "not delivered"},
		{"status 1", answer(200, `{"status":1,"message":"参数错误"}`), nil, 0, 0, "rejected"},
		{"status string 3", answer(200, `{"status":"3","message":"x"}`), nil, 0, 0, "rejected"},
		{"500 with envelope status≠0", answer(500, `{"status":500,"message":"服务器内部错误, decode 编码错误"}`), nil, 0, 0, "rejected"},
		{"500 html", answer(500, "<html>oops</html>"), nil, 0, 0, "unknown"},
		{"502", answer(502, "bad gateway"), nil, 0, 0, "unknown"},
		{"504", answer(504, ""), nil, 0, 0, "unknown"},
		{"garbage 200", answer(200, "<html>hello</html>"), nil, 0, 0, "unknown"},
		{"200 without status", answer(200, `{"message":"ok"}`), nil, 0, 0, "unknown"},
		{"oversize answer", answer(200, `{"status":0,"message":"`+strings.Repeat("x", 2048)+`"}`), nil, 0, 1024, "unknown"},
		{"cut mid-answer", hijack("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"stat"), nil, 0, 0, "unknown"},
		{"cut before answer", hijack(""), nil, 0, 0, "unknown"},
		// The caller gives up once the platform has the request (not after
		// a short wall-clock timeout, which a busy machine can hit before
		// the request is even written: that would be "not delivered").
		{"given up after send", slow.URL, nil, 0, 0, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.base, func(c *cmb.Config) {
				c.HTTP, c.Timeout, c.MaxAnswerBytes = tt.doer, tt.timeout, tt.maxAnswer
			})
			ctx := context.Background()
			if tt.base == slow.URL {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				go func() {
					<-reached
					cancel()
				}()
			}
			_, err := c.AutoPay(ctx, cmb.AutoPay{VplNumber: "苏ZZ9871", RecordID: "r1", Amount: 500, RequestOrder: "o1"})
			if got := classOf(t, err); got != tt.want {
				t.Errorf("AutoPay against %s: %v: class %s; want %s", tt.name, err, got, tt.want)
			}
			var re *cmb.RejectedError
			if tt.want == "rejected" && (!errors.As(err, &re) || re.Status == 0 || re.Endpoint != cmb.EpAutoPay) {
				t.Errorf("AutoPay error %v; want a *RejectedError with the status", err)
			}
		})
	}
	select {
	case <-reached:
	default:
		t.Errorf("the slow server never received the request: 'given up after send' did not send")
	}
}

// A 200 with status 0 whose data does not decode: the platform acted, the
// answer is unreadable: unknown.
func TestClientBadData(t *testing.T) {
	s := platform(t, func(string, url.Values) (int, string) {
		return 200, `{"status":0,"data":{"pay_time":"yesterday"}}`
	})
	c := newClient(t, s.URL, nil)
	_, err := c.AutoPay(context.Background(), cmb.AutoPay{VplNumber: "x", RecordID: "r", Amount: 1, RequestOrder: "o"})
	if got := classOf(t, err); got != "unknown" {
		t.Errorf("AutoPay(bad data) = %v; want unknown", err)
	}
}

// The caller's context is honoured: cancelled before sending is not
// delivered.
func TestClientCancelled(t *testing.T) {
	s := platform(t, func(string, url.Values) (int, string) { t.Error("request sent"); return 200, `{"status":0}` })
	c := newClient(t, s.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.SpaceInfo(ctx, cmb.SpaceInfo{})
	if got := classOf(t, err); got != "not delivered" || !errors.Is(err, context.Canceled) {
		t.Errorf("SpaceInfo(cancelled) = %v; want not delivered wrapping context.Canceled", err)
	}
}

func TestNewClientErrors(t *testing.T) {
	for _, cfg := range []cmb.Config{
		{BaseURL: "", AppID: "a", Secret: "s"},
		{BaseURL: "ftp://x", AppID: "a", Secret: "s"},
		{BaseURL: "https://x", AppID: "", Secret: "s"},
		{BaseURL: "https://x", AppID: "a", Secret: ""},
		{BaseURL: "https://x", AppID: "a", Secret: "s", ParkCode: -1},
	} {
		if _, err := cmb.NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) = nil error", cfg)
		}
	}
}

// A fake doer sees exactly what would go on the wire.
func TestClientDoer(t *testing.T) {
	var got *http.Request
	var body string
	doer := cmbtest.DoerFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"status":0}`))}, nil
	})
	c := newClient(t, "https://openmain-uat.park.cmbchina.biz", func(c *cmb.Config) { c.HTTP = doer })
	if err := c.SpaceInfo(context.Background(), cmb.SpaceInfo{TotalEmpty: 700, VipEmpty: 600, TmpEmpty: 100}); err != nil {
		t.Fatal(err)
	}
	if got.URL.String() != "https://openmain-uat.park.cmbchina.biz/api/SpaceInfo" {
		t.Errorf("URL = %s", got.URL)
	}
	v, _ := url.ParseQuery(body)
	want := cmb.Sign(url.Values{"appid": {appID}, "park_code": {"5201020001"}, "total_empty": {"700"}, "vip_empty": {"600"}, "tmp_empty": {"100"}}, secret)
	if v.Get("sign") != want {
		t.Errorf("sign = %s; want %s (body %s)", v.Get("sign"), want, body)
	}
}

// TestErrorPrefixOnce: an error wrapping others of cmb says "cmb: " once
// and still matches every class and type it wraps.
func TestErrorPrefixOnce(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()
	garbled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":0,"data":{"uid":"yes"}}`))
	}))
	defer garbled.Close()
	client := func(base string) *cmb.Client {
		c, err := cmb.NewClient(cmb.Config{BaseURL: base, AppID: appID, Secret: secret, ParkCode: parkCode})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		want   string // the text's start
		is     error
		fields bool // also a *FieldError
	}{
		{"invalid request", func() error { return client(refusedURL).Outdata(ctx, cmb.Outdata{}) },
			"cmb: Outdata: field in_code: ", cmb.ErrMalformed, true},
		{"not delivered", func() error { return client(refusedURL).SpaceInfo(ctx, cmb.SpaceInfo{}) },
			"cmb: SpaceInfo: not delivered: ", cmb.ErrNotDelivered, false},
		{"answer data unreadable", func() error {
			_, err := client(garbled.URL).AutoPayStatus(ctx, cmb.AutoPayStatus{VplNumber: "京A1"})
			return err
		},
			"cmb: AutoPayStatus: outcome unknown: answer data: field data.uid: ", cmb.ErrOutcomeUnknown, false},
		{"post_url not https", func() error {
			_, err := client(garbled.URL).SendTo(ctx, "http://x/api/AutoPay", cmb.EpAutoPay, url.Values{})
			return err
		}, "cmb: AutoPay: not delivered: field post_url: ", cmb.ErrNotDelivered, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) || strings.Count(got, "cmb: ") != 1 {
				t.Errorf("error = %q; want it to start %q and say cmb: once", got, tt.want)
			}
			var fe *cmb.FieldError
			if !errors.Is(err, tt.is) || errors.As(err, &fe) != tt.fields {
				t.Errorf("error %v: Is(%v) = %v, As(*FieldError) = %v; want true, %v", err, tt.is, errors.Is(err, tt.is), errors.As(err, &fe), tt.fields)
			}
		})
	}
}
