package cmb_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbtest"
)

// TestServerRefusesHostilePlates: every callback carrying vpl_number
// refuses a plate with control or format characters, or longer than 16
// characters (autoPayBind, autoPayUnbind: licensed plates) or 30 (calc,
// pay, NoVpln, which carry unlicensed vehicles' virtual plates, 16 to 30
// characters by spec §4.5), before the Handler, with the reason given to
// OnRefused.
func TestServerRefusesHostilePlates(t *testing.T) {
	maxRunes := map[string]int{cmb.EpCalc: 30, cmb.EpPay: 30, cmb.EpNoVpln: 30, cmb.EpAutoPayBind: 16, cmb.EpAutoPayUnbind: 16}
	requests := map[string]interface{ Values() (url.Values, error) }{
		cmb.EpCalc: cmb.CalcRequest{ParkCode: parkCode, VplNumber: "京A12345"},
		cmb.EpPay: cmb.PayRequest{ParkCode: parkCode, VplNumber: "京A12345", RecordID: "r1", BillID: "b1", PayTime: 1537250000,
			PayList: []cmb.PayItem{{PayType: cmb.PayCMB, Amount: 600, Order: "o1"}}},
		cmb.EpAutoPayBind:   cmb.AutoPayBindRequest{ParkCode: parkCode, VplNumber: "粤B0D12X", Limit: 20000, SerialNo: "s1"},
		cmb.EpAutoPayUnbind: cmb.AutoPayUnbindRequest{ParkCode: parkCode, VplNumber: "粤B0D12X"},
		cmb.EpNoVpln:        cmb.NoVplnRequest{ParkCode: parkCode, VplNumber: "临A12345", InCode: 1},
	}
	plates := []struct{ name, plate, want string }{
		{"ESC sequence", "京A\x1b[2J1234", "control character"},
		{"C1 CSI", "京A\u009b2J", "control character"},
		{"DEL", "京A1234\x7f", "control character"},
		{"bidi override", "京A\u202e54321", "format character U+202E"},
		{"bidi isolate", "京A\u206612345", "format character U+2066"},
		{"zero width space", "京A\u200b12345", "format character U+200B"},
		{"zero width joiner", "京A\u200d12345", "format character U+200D"},
		{"BOM", "\ufeff京A12345", "format character U+FEFF"},
		{"line separator", "京A\u202812345", "format character U+2028"},
	}
	for ep, req := range requests {
		good, err := req.Values()
		if err != nil {
			t.Fatalf("%s: %v", ep, err)
		}
		n := maxRunes[ep]
		plates := append(plates[:len(plates):len(plates)], struct{ name, plate, want string }{
			"too long", strings.Repeat("A", n+1), fmt.Sprintf("plate of %d characters, at most %d", n+1, n)})
		for _, p := range plates {
			t.Run(ep+"/"+p.name, func(t *testing.T) {
				v := url.Values{}
				for k, x := range good {
					v[k] = x
				}
				v.Set("appid", appID)
				v.Del("sign")
				v.Set("vpl_number", p.plate)
				v.Set("sign", cmb.Sign(v, secret))
				h := &cmbtest.Handler{}
				s, refused := newServer(t, h, 0)
				_, env, err := serve(s, "POST", "/a/b/cmbParking/"+ep, form, v.Encode())
				if err != nil {
					t.Fatal(err)
				}
				if env.Status != cmb.StatusMalformed || !strings.Contains(env.Message, "vpl_number") || !strings.Contains(env.Message, p.want) {
					t.Errorf("%s with plate %q = %+v; want malformed vpl_number: %s", ep, p.plate, env, p.want)
				}
				if calls := h.Calls(); len(calls) != 0 {
					t.Errorf("Handler called %v", calls)
				}
				if r := refused.list(); len(r) != 1 || !strings.Contains(r[0], p.want) {
					t.Errorf("OnRefused = %q; want the reason counted once", r)
				}
			})
		}
		t.Run(ep+"/longest passes", func(t *testing.T) {
			v := url.Values{}
			for k, x := range good {
				v[k] = x
			}
			v.Set("appid", appID)
			v.Del("sign")
			v.Set("vpl_number", "临"+strings.Repeat("A", n-1))
			v.Set("sign", cmb.Sign(v, secret))
			h := &cmbtest.Handler{}
			s, _ := newServer(t, h, 0)
			if _, env, err := serve(s, "POST", "/a/b/cmbParking/"+ep, form, v.Encode()); err != nil || env.Status == cmb.StatusMalformed {
				t.Errorf("%s with a %d-character plate = %+v, %v; want it accepted", ep, n, env, err)
			}
		})
	}
}
