package cmb_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbtest"
)

// Issue 11 item 11: the platform's callbacks arrive urlencoded with or
// without a charset, without a Content-Type, or as multipart/form-data;
// each is verified over all its fields (an unknown one too) and decoded the
// same.
func TestServerAcceptsEveryFormBody(t *testing.T) {
	req := cmb.AutoPayBindRequest{ParkCode: parkCode, VplNumber: "京A12345", AutoPayType: 3, Limit: 5000, SerialNo: "s1",
		Extra: url.Values{"new_field": {"x y&z"}}}
	v, err := req.Values()
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []cmb.BodyEncoding{cmb.BodyForm, cmb.BodyFormCharset, cmb.BodyNoType, cmb.BodyMultipart} {
		t.Run(enc.String(), func(t *testing.T) {
			h := &cmbtest.Handler{}
			s, refused := newServer(t, h, 0)
			srv := httptest.NewServer(s)
			defer srv.Close()
			if _, err := cmb.CallDownlinkAs(context.Background(), nil, enc, srv.URL+"/a/b/", appID, secret, cmb.EpAutoPayBind, v); err != nil {
				t.Fatalf("CallDownlinkAs(%s) = %v; want status 0", enc, err)
			}
			calls := h.Calls()
			if len(calls) != 1 || !reflect.DeepEqual(calls[0].Request, req) {
				t.Errorf("handler got %+v; want %+v", calls, req)
			}
			if r := refused.list(); len(r) != 0 {
				t.Errorf("refusals %v; want none", r)
			}
			// Signed with another secret: refused in every encoding.
			_, err := cmb.CallDownlinkAs(context.Background(), nil, enc, srv.URL+"/a/b/", appID, "wrong-secret", cmb.EpAutoPayBind, v)
			var re *cmb.RejectedError
			if !errors.As(err, &re) || re.Status != cmb.StatusUnauthorized {
				t.Errorf("CallDownlinkAs(%s, wrong secret) = %v; want 401", enc, err)
			}
		})
	}
}

func TestParseBodyEncoding(t *testing.T) {
	for _, enc := range []cmb.BodyEncoding{cmb.BodyForm, cmb.BodyFormCharset, cmb.BodyNoType, cmb.BodyMultipart} {
		if got, err := cmb.ParseBodyEncoding(enc.String()); err != nil || got != enc {
			t.Errorf("ParseBodyEncoding(%q) = %v, %v", enc, got, err)
		}
	}
	if _, err := cmb.ParseBodyEncoding("json"); err == nil || !strings.Contains(err.Error(), "multipart") {
		t.Errorf("ParseBodyEncoding(json) = %v; want an error listing the names", err)
	}
}
