package cmb_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbtest"
)

// calcBody is a signed exit-scan calc.
func calcBody() string {
	return signedForm(map[string]string{"vpl_number": "京A12345"}, true).Encode()
}

func benchServe(b *testing.B, h http.Handler, path string) {
	body := calcBody()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", form)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("HTTP %d", rec.Code)
		}
	}
}

// BenchmarkServerCalc: the Server's calc path (verify, decode, handler,
// answer), in process.
func BenchmarkServerCalc(b *testing.B) {
	h := &cmbtest.Handler{CalcFunc: func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error) {
		return cmb.CalcAnswer{VplNumber: "京A12345", RecordID: "r1", InTime: 1537243165, OutTime: 1537250365, Duration: 7200,
			Charge: cmb.Charge{TotalPrice: 1000, ShouldPay: 600, Paid: 400}}, nil
	}}
	s, err := cmb.NewServer(cmb.ServerConfig{AppID: appID, Secret: secret, ParkCode: parkCode}, h)
	if err != nil {
		b.Fatal(err)
	}
	benchServe(b, s, "/cmbParking/calc")
}

// BenchmarkBareCalc: the design's yardstick, a bare net/http handler that
// parses the same form and checks the same MD5 sign (refSign, the tests'
// own reading of the algorithm).
func BenchmarkBareCalc(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(body))
		if cmbtest.RefSign(v, secret, "") != v.Get("sign") {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":0,"message":"success"}`)
	})
	benchServe(b, h, "/cmbParking/calc")
}

func BenchmarkSign(b *testing.B) {
	v := signedForm(nil, true)
	b.ReportAllocs()
	for b.Loop() {
		cmb.Sign(v, secret)
	}
}
