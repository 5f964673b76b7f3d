package cmb_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"laned/cmb"
)

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
