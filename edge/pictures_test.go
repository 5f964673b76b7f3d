package edge

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"laned/cmb"
	"laned/cmb/cmbsim"
	"laned/hal"
	"laned/store"
)

// decisionRec records the lane's decisions on a read.
type decisionRec struct {
	mu  sync.Mutex
	got []bool
}

func (d *decisionRec) Decide(open bool) {
	d.mu.Lock()
	d.got = append(d.got, open)
	d.mu.Unlock()
}

func (d *decisionRec) list() []bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bool(nil), d.got...)
}

func TestPicturesUploaded(t *testing.T) {
	var pics *store.Pictures
	dir := filepath.Join(t.TempDir(), "pictures")
	h := newHarnessDeps(t, func(d *Deps) {
		var err error
		if pics, err = store.OpenPictures(dir, store.PictureOptions{}); err != nil {
			t.Fatal(err)
		}
		d.Pictures = pics
	})
	full, crop := []byte("\xff\xd8entry frame\xff\xd9"), []byte("\xff\xd8entry plate\xff\xd9")
	exitFull := []byte("\xff\xd8exit frame\xff\xd9")

	// Entry: a network read with both pictures and a large plate type.
	dec := &decisionRec{}
	n := opens(h.entry)
	h.entry.Arming.Set(true)
	h.entry.Camera.ShowEvent(hal.PlateEvent{Kind: hal.KindPlate, Plate: "粤B12345", Colour: hal.ColourBlue, Conf: 95, Large: true,
		Pictures: &hal.Pictures{Full: full, Plate: crop}, Decision: dec})
	h.eventually("entry barrier up", func() bool { return opens(h.entry) > n })
	h.entry.PassThrough()
	rec, err := h.db.OpenByPlate("粤B12345")
	if err != nil {
		t.Fatal(err)
	}
	if rec.CarType != int(cmb.CarLarge) {
		t.Errorf("car type = %d; want large (the camera's plate type)", rec.CarType)
	}
	h.eventually("the camera told", func() bool { return len(dec.list()) > 0 }) // told right after the barrier's command
	h.settle()
	if got := dec.list(); len(got) != 1 || !got[0] {
		t.Errorf("decisions = %v; want one: open", got)
	}
	local := rec.InTime.In(h.ctl.tariff.Load().Location())
	for _, p := range []struct {
		kind string
		want []byte
	}{{"full", full}, {"plate", crop}} {
		b, err := pics.Read(store.PictureName(local, rec.ID, "in", p.kind))
		if err != nil || !bytes.Equal(b, p.want) {
			t.Errorf("entry %s picture = %q, %v; want the camera's", p.kind, b, err)
		}
	}
	h.drain()
	ups := h.received("", rec.ID)
	if len(ups) != 2 || ups[0].Endpoint != cmb.EpIndata || ups[1].Endpoint != cmb.EpPicUpload || !ups[1].Accepted() {
		t.Fatalf("uplinks of the record = %+v; want Indata, then an accepted PicUpload", ups)
	}
	got := h.sim.Pictures(rec.ID)
	if len(got) != 1 || got[0].InOutFlag != 1 || !bytes.Equal(got[0].Data, full) {
		t.Fatalf("platform pictures = %+v; want the entry frame", got)
	}

	// Exit within the free minutes, with a frame only.
	h.advance(5 * time.Minute)
	n = opens(h.exit)
	h.exit.Arming.Set(true)
	h.exit.Camera.ShowEvent(hal.PlateEvent{Kind: hal.KindPlate, Plate: "粤B12345", Colour: hal.ColourBlue, Conf: 90,
		Pictures: &hal.Pictures{Full: exitFull}})
	h.leaveExit(n)
	h.drain()
	ups = h.received("", rec.ID)
	if len(ups) != 4 || ups[2].Endpoint != cmb.EpOutdata || ups[3].Endpoint != cmb.EpPicUpload {
		t.Fatalf("uplinks of the record = %+v; want Indata, PicUpload, Outdata, PicUpload", ups)
	}
	got = h.sim.Pictures(rec.ID)
	if len(got) != 2 || got[1].InOutFlag != 2 || !bytes.Equal(got[1].Data, exitFull) {
		t.Errorf("platform pictures = %+v; want the entry and the exit frame", got)
	}
	notes := h.ctl.picLog.list()
	if len(notes) != 2 || notes[0].Result != "delivered" || notes[0].Full != len(full) || notes[0].Plate != len(crop) || notes[1].Flag != cmb.FlagOut {
		t.Errorf("picture log = %+v", notes)
	}

	// An RS-485 read has no picture: no PicUpload.
	other := h.enter("粤C55555")
	h.drain()
	if ups := h.received(cmb.EpPicUpload, other.ID); len(ups) != 0 {
		t.Errorf("PicUpload for an RS-485 read: %+v", ups)
	}
	h.checkPlatform()
}

func TestPictureGoneIsDropped(t *testing.T) {
	var pics *store.Pictures
	h := newHarnessDeps(t, func(d *Deps) {
		var err error
		if pics, err = store.OpenPictures(t.TempDir(), store.PictureOptions{}); err != nil {
			t.Fatal(err)
		}
		d.Pictures = pics
	})
	h.sim.SetFault(cmb.EpIndata, cmbsim.Fault{Down: true})
	n := opens(h.entry)
	h.entry.Arming.Set(true)
	h.entry.Camera.ShowEvent(hal.PlateEvent{Kind: hal.KindPlate, Plate: "粤B7", Conf: 95, Pictures: &hal.Pictures{Full: []byte("\xff\xd8x")}})
	// The barrier does not wait for the platform, nor for the picture.
	h.eventually("entry barrier up while the platform is away", func() bool { return opens(h.entry) > n })
	h.entry.PassThrough()
	rec, _ := h.db.OpenByPlate("粤B7")
	if _, _, err := pics.Prune(h.clk.Now().Add(365*24*time.Hour), nil); err != nil { // lost behind our back
		t.Fatal(err)
	}
	h.sim.ClearFaults()
	h.advance(10 * time.Minute)
	h.drain()
	if ups := h.received(cmb.EpPicUpload, rec.ID); len(ups) != 0 {
		t.Errorf("PicUpload of a lost picture sent: %+v", ups)
	}
	if ups := h.received(cmb.EpIndata, rec.ID); len(ups) == 0 || !ups[len(ups)-1].Accepted() {
		t.Errorf("Indata not delivered: %+v", ups)
	}
}

// TestPicturesOverBudgetPruned: a save that takes the pictures over their
// budget has the controller's maintenance (a goroutine Run owns and stops)
// prune at once, not at its hourly run: the plate crop goes, the frame its
// queued PicUpload names stays.
func TestPicturesOverBudgetPruned(t *testing.T) {
	var pics *store.Pictures
	dir := filepath.Join(t.TempDir(), "pictures")
	h := newHarnessDeps(t, func(d *Deps) {
		var err error
		if pics, err = store.OpenPictures(dir, store.PictureOptions{MaxBytes: 8}); err != nil {
			t.Fatal(err)
		}
		d.Pictures = pics
	})
	if err := h.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true}); err != nil {
		t.Fatal(err) // the PicUpload stays queued
	}
	n := opens(h.entry)
	h.entry.Arming.Set(true)
	h.entry.Camera.ShowEvent(hal.PlateEvent{Kind: hal.KindPlate, Plate: "粤B54321", Colour: hal.ColourBlue, Conf: 95,
		Pictures: &hal.Pictures{Full: []byte("\xff\xd8entry frame\xff\xd9"), Plate: []byte("\xff\xd8entry plate\xff\xd9")}})
	h.eventually("entry barrier up", func() bool { return opens(h.entry) > n })
	h.entry.PassThrough()
	rec, err := h.db.OpenByPlate("粤B54321")
	if err != nil {
		t.Fatal(err)
	}
	local := rec.InTime.In(h.ctl.tariff.Load().Location())
	h.eventually("the crop pruned", func() bool {
		_, err := pics.Read(store.PictureName(local, rec.ID, "in", "plate"))
		return err != nil
	})
	if _, err := pics.Read(store.PictureName(local, rec.ID, "in", "full")); err != nil {
		t.Errorf("the frame of the queued PicUpload: %v; want kept", err)
	}
}
