package cmbsim_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"laned/cmb"
	"laned/cmb/cmbsim"
)

func TestPicturesKept(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.cli.Indata(ctx, indata("京A1", "r1"))
	e.cli.Outdata(ctx, outdata("京A1", "r1"))
	in1, in2, out := []byte("\xff\xd8first"), []byte("\xff\xd8second"), []byte("\xff\xd8exit")
	for _, p := range []struct {
		flag cmb.InOutFlag
		b    []byte
	}{{cmb.FlagIn, in1}, {cmb.FlagOut, out}, {cmb.FlagIn, in2}} {
		if err := e.cli.PicUpload(ctx, cmb.PicUpload{RecordID: "r1", InOutFlag: p.flag, PicCon: base64.StdEncoding.EncodeToString(p.b)}); err != nil {
			t.Fatalf("PicUpload = %v", err)
		}
	}
	// A picture whose signed fields were altered is refused and not kept.
	form := signed(cmb.EpPicUpload, map[string][]string{"park_code": {"5201020001"}, "record_id": {"r1"}, "in_out_flag": {"1"}, "pic_con": {"/9g="}})
	form.Set("record_id", "r2")
	if _, env := postRaw(t, e.srv, "/api/PicUpload", form); env.Status == cmb.StatusOK {
		t.Errorf("PicUpload with a forged record_id accepted")
	}
	got := e.sim.Pictures("r1")
	if len(got) != 2 || got[0].InOutFlag != 1 || !bytes.Equal(got[0].Data, in2) || got[1].InOutFlag != 2 || !bytes.Equal(got[1].Data, out) || got[1].Bytes != len(out) {
		t.Errorf("Pictures(r1) = %+v; want the last entry picture and the exit one", got)
	}
	if got := e.sim.Pictures("r2"); len(got) != 0 {
		t.Errorf("Pictures(r2) = %+v; want none", got)
	}
	resp, err := http.Get(e.srv.URL + "/_sim/pictures/r1")
	if err != nil {
		t.Fatal(err)
	}
	var list []cmbsim.Picture
	decodeJSON(t, resp.Body, &list)
	resp.Body.Close()
	if len(list) != 2 || !bytes.Equal(list[0].Data, in2) || list[0].SHA256 != got[0].SHA256 {
		t.Errorf("GET /_sim/pictures/r1 = %+v", list)
	}
}
