package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"laned/appliance/appliancetest"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"laned/appliance"
	"laned/appliance/config"
	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/hal"
	"laned/hal/camera"
	"laned/internal/progress"
)

// TestNetworkCameraToPicUpload runs the daemon on the sim profile with a
// network camera on the entry: a push to the camera listener admits the
// car, and its frame reaches the platform as a PicUpload, byte for byte.
func TestNetworkCameraToPicUpload(t *testing.T) {
	for _, opens := range []bool{false, true} {
		t.Run(fmt.Sprintf("opens_barrier=%v", opens), func(t *testing.T) { netCameraToPicUpload(t, opens) })
	}
}

func netCameraToPicUpload(t *testing.T, opens bool) {
	sim := cmbsim.New(cmbsim.Config{AppID: "app1", Secret: testSecret, ParkCode: 4401})
	platform := httptest.NewServer(sim.Handler())
	defer platform.Close()
	defer sim.Close()

	dir := t.TempDir()
	p := minimalConfig(t, dir, "[cameras]\nlisten = \"127.0.0.1:0\"\n")
	b, _ := os.ReadFile(p)
	s := strings.Replace(string(b), `base_url = "http://127.0.0.1:1"`, "base_url = \""+platform.URL+"\"", 1)
	s = strings.Replace(s, "code = 1\n[[lanes]]", fmt.Sprintf("code = 1\n[lanes.camera]\nkind = \"http-push\"\nsource = \"127.0.0.1\"\ntoken = \"t0k3n\"\nopens_barrier = %v\n[[lanes]]", opens), 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadValid(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cams := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveDaemon(ctx, cfg, slog.New(slog.NewTextHandler(&tlog{t: t}, nil)), appliance.Options{
			Getenv: appliancetest.Env(nil), OnCameras: func(a net.Addr) { cams <- a },
		})
	}()
	var addr net.Addr
	select {
	case addr = <-cams:
	case err := <-done:
		t.Fatalf("daemon stopped before serving: %v", err)
	}
	full, err := os.ReadFile("../../hal/camera/testdata/netcam/full.jpg")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile("../../hal/camera/testdata/netcam/push_plate.json")
	resp, err := http.Post("http://"+addr.String()+"/camera/push/in1?token=t0k3n", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The camera's relay opens only when it is the barrier's and the lane
	// opens (it does: the car is admitted).
	if want := string(camera.PushAnswer(opens)); resp.StatusCode != 200 || string(answer) != want {
		t.Fatalf("push = %d %s; want 200 and %s", resp.StatusCode, answer, want)
	}
	var recID string
	moved := func() any { return len(sim.Received(cmbsim.Filter{})) }
	progress.Until(t, "the entry's PicUpload at the platform", func() bool {
		ups := sim.Received(cmbsim.Filter{Endpoint: cmb.EpPicUpload})
		if len(ups) == 0 {
			return false
		}
		recID = ups[0].RecordID
		return true
	}, moved)
	ups := sim.Received(cmbsim.Filter{RecordID: recID})
	if len(ups) != 2 || ups[0].Endpoint != cmb.EpIndata || ups[0].Plate != "京A12345" || !ups[1].Accepted() {
		t.Fatalf("the record's uplinks = %+v; want its Indata for 京A12345, then the accepted PicUpload", ups)
	}
	pics := sim.Pictures(recID)
	if len(pics) != 1 || pics[0].InOutFlag != 1 || !bytes.Equal(pics[0].Data, full) {
		t.Fatalf("pictures at the platform = %d (%+v); want the camera's full frame", len(pics), pics)
	}
	if vs := sim.OrderViolations(); len(vs) != 0 {
		t.Errorf("platform violations: %+v", vs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon stop = %v", err)
	}
	// The picture files stay under data_dir/pictures.
	matches, _ := filepath.Glob(filepath.Join(cfg.DataDir, config.PicturesDir, "*", recID+"-in-*.jpg"))
	if len(matches) != 2 {
		t.Errorf("picture files = %v; want the frame and the plate crop", matches)
	}
}

func TestCameraPushTest(t *testing.T) {
	cam, err := camera.NewNet(camera.NetConfig{Name: "in1/camera", Family: camera.FamilyPush})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Halt()
	l := camera.NewListener(nil)
	if err := l.Add("in1", camera.NetSource{Camera: cam, Token: "tk"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l)
	defer srv.Close()
	img := filepath.Join(t.TempDir(), "frame.jpg")
	full := []byte("\xff\xd8a frame\xff\xd9")
	os.WriteFile(img, full, 0o644)
	var out, errb bytes.Buffer
	args := []string{"camera", "push-test", "-url", srv.URL + "/camera/push/in1?token=tk", "-plate", "粤B12345", "-colour", "yellow", "-conf", "77", "-image", img}
	if err := run(context.Background(), args, nil, &out, &errb); err != nil {
		t.Fatalf("laned camera push-test = %v\n%s%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "200 OK") || !strings.Contains(out.String(), `"info":"no"`) {
		t.Errorf("output = %q; want 200 and the answer", out.String())
	}
	<-cam.Events() // online
	ev := <-cam.Events()
	if ev.Kind != hal.KindPlate || ev.Plate != "粤B12345" || ev.Colour != hal.ColourYellow || ev.Conf != 77 || ev.Pictures == nil || !bytes.Equal(ev.Pictures.Full, full) {
		t.Errorf("camera read %+v; want 粤B12345 yellow 77 with the frame", ev)
	}
	out.Reset()
	args[3] = srv.URL + "/camera/push/in1?token=wrong"
	if err := run(context.Background(), args, nil, &out, &errb); err == nil || !strings.Contains(out.String(), "403") {
		t.Errorf("push-test with a wrong token = %v, %q; want a 403 failure", err, out.String())
	}
	if err := run(context.Background(), []string{"camera", "push-test", "-plate", "x"}, nil, &out, &errb); !errors.Is(err, errUsage) {
		t.Errorf("push-test without -url = %v; want a usage error", err)
	}
}
