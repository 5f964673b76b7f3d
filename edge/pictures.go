package edge

import (
	"encoding/base64"
	"net/url"
	"sync"
	"time"

	"laned/cmb"
	"laned/edge/console"
	"laned/edge/tariff"
	"laned/hal"
	"laned/store"
)

// Network cameras' pictures and PicUpload (shared/spec/camera-network.md).
//
// A read's pictures are written as files (store.Pictures) before the
// record's transaction that names them; the PicUpload is queued in that
// transaction after the record's Indata or Outdata, so the outbox never
// sends it ahead of them, and it is droppable: it never holds a record's
// data back and may be evicted or dead-lettered. The queued message names
// its file (store.PicFileParam); the dispatcher reads the file and sends
// it as pic_con at send time, so that the outbox holds no picture.

// picNote is one picture upload as the console shows it.
type picNote struct {
	Lane     string
	RecordID string
	Flag     cmb.InOutFlag
	Full     int // bytes of the full frame saved
	Plate    int // bytes of the plate crop saved
	Result   string
	At       time.Time
}

// picLog keeps the last picture uploads for the console.
type picLog struct {
	mu    sync.Mutex
	notes []picNote
}

const keepPicNotes = 20

func (p *picLog) add(n picNote) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.notes {
		if p.notes[i].RecordID == n.RecordID && p.notes[i].Flag == n.Flag {
			if n.Full == 0 && n.Plate == 0 {
				n.Full, n.Plate = p.notes[i].Full, p.notes[i].Plate
			}
			if n.Lane == "" {
				n.Lane = p.notes[i].Lane
			}
			p.notes = append(p.notes[:i], p.notes[i+1:]...)
			break
		}
	}
	p.notes = append(p.notes, n)
	if len(p.notes) > keepPicNotes {
		p.notes = p.notes[len(p.notes)-keepPicNotes:]
	}
}

func (p *picLog) list() []picNote {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]picNote(nil), p.notes...)
}

// pictureMsgs saves the pictures of a read for a record's entry (flag in)
// or exit (out) and returns the PicUpload to queue after the record's
// Indata or Outdata: none when the read has no picture (an RS-485
// camera) or no picture store is configured. A picture that cannot be
// written is logged and left out: a picture never stops a barrier.
func (c *Controller) pictureMsgs(lane, recordID string, flag cmb.InOutFlag, at time.Time, pics *hal.Pictures) []store.Message {
	if c.pics == nil || pics == nil || (len(pics.Full) == 0 && len(pics.Plate) == 0) {
		return nil
	}
	io := "in"
	if flag == cmb.FlagOut {
		io = "out"
	}
	local := at.In(c.tariff.Load().Location())
	note := picNote{Lane: lane, RecordID: recordID, Flag: flag, At: at, Result: "queued"}
	var upload string
	if len(pics.Plate) > 0 {
		if _, err := c.pics.Save(local, recordID, io, "plate", pics.Plate); err != nil {
			c.log.Error("picture not saved", "record", recordID, "kind", "plate", "err", err)
		} else {
			note.Plate = len(pics.Plate)
		}
	}
	if len(pics.Full) > 0 {
		name, err := c.pics.Save(local, recordID, io, "full", pics.Full)
		if err != nil {
			c.log.Error("picture not saved", "record", recordID, "kind", "full", "err", err)
		} else {
			upload, note.Full = name, len(pics.Full)
		}
	}
	if upload == "" && note.Plate > 0 {
		upload = store.PictureName(local, recordID, io, "plate") // no frame: the crop goes up
	}
	if upload == "" {
		return nil
	}
	// pic_con is filled at send time; validate the rest now.
	v, err := cmb.PicUpload{ParkCode: c.cfg.ParkCode, RecordID: recordID, InOutFlag: flag, PicCon: "-"}.Values()
	if err != nil {
		c.log.Error("picture upload not queued", "record", recordID, "err", err)
		return nil
	}
	v.Del("pic_con")
	v.Set(store.PicFileParam, upload)
	c.picLog.add(note)
	return []store.Message{c.msg(store.KindPicUpload, recordID, v)}
}

// uplinkForm is the form of a queued message as sent: a PicUpload gets
// its picture read from its file. ok=false: the picture is gone (pruned,
// lost) and the message must be dropped.
func (c *Controller) uplinkForm(m store.Message) (url.Values, bool) {
	v := params(m.Params)
	name := v.Get(store.PicFileParam)
	if m.Kind != store.KindPicUpload || name == "" {
		return v, true
	}
	v.Del(store.PicFileParam)
	if c.pics == nil {
		return v, false
	}
	b, err := c.pics.Read(name)
	if err != nil {
		c.log.Warn("picture upload dropped: its picture is gone", "record", m.RecordID, "picture", name, "err", err)
		return v, false
	}
	v.Set("pic_con", base64.StdEncoding.EncodeToString(b))
	return v, true
}

// picResult records what became of a PicUpload.
func (c *Controller) picResult(m store.Message, result string) {
	if m.Kind != store.KindPicUpload {
		return
	}
	flag := cmb.FlagIn
	if m.Params["in_out_flag"] == "2" {
		flag = cmb.FlagOut
	}
	c.picLog.add(picNote{RecordID: m.RecordID, Flag: flag, Result: result, At: c.now()})
}

// prunePictures keeps the pictures within their budget, never deleting
// one whose PicUpload is still queued.
func (c *Controller) prunePictures(now time.Time) {
	if c.pics == nil {
		return
	}
	queued, err := c.db.QueuedPictures()
	if err != nil {
		c.log.Error("pictures: queued uploads", "err", err)
		return
	}
	n, freed, err := c.pics.Prune(now, func(name string) bool { return queued[name] })
	if err != nil {
		c.log.Error("pictures: prune", "err", err)
	}
	if n > 0 {
		c.log.Info("pictures pruned", "deleted", n, "bytes", freed)
	}
}

// afterPictures has the maintenance prune at once when saving took the
// pictures over their budget (instead of at its hourly run).
func (c *Controller) afterPictures() {
	if c.pics == nil || !c.pics.Over() {
		return
	}
	select {
	case c.picsOver <- struct{}{}:
	default:
	}
}

// readCarType is carType with what a network camera's plate type adds:
// an official plate is military/police, a large vehicle's plate large.
func readCarType(class tariff.Class, military bool, read hal.PlateEvent) int {
	if read.Large && class != tariff.Large && !military && !read.Official {
		class = tariff.Large
	}
	return carType(class, military || read.Official)
}

// tellCamera gives a network camera whose relay opens the barrier the
// lane's decision on its read: open when the lane raised the barrier for
// it. A decision still pending (a payment under way) is told later, by
// raise, or never (the camera stops waiting and keeps its relay shut).
func (l *lane) tellCamera() {
	d := l.decision
	if d == nil {
		return
	}
	v := l.veh
	if v != nil && v.read.Decision == d && v.state == vAutoPay {
		return
	}
	l.decision = nil
	// Only for the vehicle this read identified: a read kept for the next
	// car in the queue, or a repeat of a car decided already, is a "no"
	// (the barrier is driven by the lane either way).
	d.Decide(v != nil && v.read.Decision == d && v.state == vReleased && l.wantUp)
}

// openCamera tells a waiting network camera the barrier opens.
func (l *lane) openCamera() {
	if d := l.decision; d != nil {
		l.decision = nil
		d.Decide(true)
	}
}

// frameExtras is what a network camera's read adds to the console's view
// of a frame: its picture sizes and whether its confidence is below the
// lane's minimum.
func frameExtras(l *lane, f hal.PlateEvent) (full, crop int, low bool) {
	if p := f.Pictures; p != nil {
		full, crop = len(p.Full), len(p.Plate)
	}
	low = f.Kind == hal.KindPlate && l.cfg.MinConfidence > 0 && f.Conf < l.cfg.MinConfidence
	return full, crop, low
}

// uploadsOf lists the last picture uploads of records of lane l's kind
// and code, newest first.
func (c *Controller) uploadsOf(l *lane) []console.UploadInfo {
	var out []console.UploadInfo
	notes := c.picLog.list()
	for i := len(notes) - 1; i >= 0; i-- {
		n := notes[i]
		if n.Lane != l.cfg.Name {
			continue
		}
		io := "in"
		if n.Flag == cmb.FlagOut {
			io = "out"
		}
		out = append(out, console.UploadInfo{RecordID: n.RecordID, InOut: io, Full: n.Full, Plate: n.Plate, Result: n.Result})
	}
	return out
}
