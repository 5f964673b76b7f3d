package cmb

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var contactlessStateTests = []struct {
	data string
	want ContactlessState
	bad  bool
}{
	{``, ContactlessState{}, false},
	{`null`, ContactlessState{}, false},
	{`""`, ContactlessState{}, false},
	{`{}`, ContactlessState{}, false},
	{`{"limit":5000}`, ContactlessState{Limit: 5000}, false},
	{`{"uid":null,"limit":"5000"}`, ContactlessState{Limit: 5000}, false},
	{`{"uid":""}`, ContactlessState{}, false},
	{`{"uid":0}`, ContactlessState{Known: true}, false},
	{`{"uid":"0","limit":"0"}`, ContactlessState{Known: true}, false},
	{`{"uid":1,"limit":5000}`, ContactlessState{Known: true, UID: 1, Limit: 5000}, false},
	{`"{\"uid\":1,\"limit\":300}"`, ContactlessState{Known: true, UID: 1, Limit: 300}, false},
	{`{"uid":"x"}`, ContactlessState{}, true},
	{`{"uid":1,"limit":-1}`, ContactlessState{}, true},
	{`[1]`, ContactlessState{}, true},
}

func TestDecodeContactlessState(t *testing.T) {
	for _, tt := range contactlessStateTests {
		got, err := DecodeContactlessState([]byte(tt.data))
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("DecodeContactlessState(%s) = %+v, %v; want %+v, bad %v", tt.data, got, err, tt.want, tt.bad)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeContactlessState(%s) error %v is not ErrMalformed", tt.data, err)
		}
	}
	if s := (ContactlessState{}); s.Contactless() || s.NotContactless() {
		t.Error("silence reads as contactless or not contactless")
	}
}

func FuzzDecodeContactlessState(f *testing.F) {
	for _, tt := range contactlessStateTests {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeContactlessState(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if s.Limit < 0 || (!s.Known && s.UID != 0) {
			t.Fatalf("accepted %q as %+v", data, s)
		}
	})
}

func TestCheckPostURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"https://openmain.park.cmbchina.biz/api/AutoPay", true},
		{"https://10.0.0.1:8443/pay/AutoPay", true},
		{"http://openmain.park.cmbchina.biz/api/AutoPay", false},
		{"HTTP://x/AutoPay", false},
		{"ftp://x/AutoPay", false},
		{"https:///AutoPay", false},
		{"https://user:pw@x/AutoPay", false},
		{"//x/AutoPay", false},
		{"https://x/AutoPay#frag", false},
		{"://", false},
	} {
		err := CheckPostURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPostURL(%q) = %v; want ok %v", tt.url, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "post_url") {
			t.Errorf("CheckPostURL(%q) = %v; want the field named", tt.url, err)
		}
	}
}

// SendTo signs like Send and posts to the URL given; an http URL is not
// sent at all.
func TestSendTo(t *testing.T) {
	var got url.Values
	var path string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got, path = r.PostForm, r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":0,"message":"ok","data":{"vpl_number":"沪C1","pay_time":1,"channel_order":"C"}}`))
	}))
	defer srv.Close()
	c, err := NewClient(Config{BaseURL: "https://platform.invalid", AppID: "app", Secret: "s", ParkCode: 1, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{"vpl_number": {"沪C1"}, "record_id": {"R"}, "amount": {"1"}, "request_order": {"O"}}
	if _, err := c.SendTo(context.Background(), srv.URL+"/pay/AutoPay", EpAutoPay, v); err != nil {
		t.Fatalf("SendTo = %v", err)
	}
	if path != "/pay/AutoPay" || got.Get("appid") != "app" || got.Get("park_code") != "1" {
		t.Fatalf("received %s %v", path, got)
	}
	if err := VerifyFor(EpAutoPay, got, "s"); err != nil {
		t.Errorf("the post_url request does not verify: %v", err)
	}
	if _, err := c.SendTo(context.Background(), "http://127.0.0.1:1/AutoPay", EpAutoPay, v); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("SendTo(http) = %v; want ErrNotDelivered without sending", err)
	}
}
