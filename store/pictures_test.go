package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"laned/store"
	"laned/store/storetest"
)

func TestPicturesPrune(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pictures")
	p, err := store.OpenPictures(dir, store.PictureOptions{MaxBytes: 3000, MaxAge: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	pic := bytes.Repeat([]byte{0xff}, 1000)
	var names []string
	for i, at := range []time.Time{day(-40), day(1), day(2), day(3), day(4), day(5)} {
		name, err := p.Save(at, "R"+string(rune('A'+i)), "in", "full", pic)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if want := day(1).Format("20060102") + "/RB-in-full.jpg"; names[1] != want {
		t.Errorf("name = %q; want %q", names[1], want)
	}
	if p.Usage() != 6000 || !p.Over() {
		t.Errorf("usage = %d; want 6000, over", p.Usage())
	}
	// RB's PicUpload is still queued: kept although it is the oldest.
	keep := func(name string) bool { return name == names[1] }
	n, freed, err := p.Prune(day(5), keep)
	if err != nil {
		t.Fatal(err)
	}
	// RA is 45 days old: by age; then RC and RD by size (RB is kept).
	if n != 3 || freed != 3000 || p.Usage() != 3000 {
		t.Errorf("Prune = %d, %d (usage %d); want 3, 3000 (usage 3000)", n, freed, p.Usage())
	}
	for i, name := range names {
		_, err := p.Read(name)
		gone := errors.Is(err, store.ErrNotFound)
		if want := i == 0 || i == 2 || i == 3; gone != want {
			t.Errorf("%s gone = %v (%v); want %v", name, gone, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, names[0][:8])); !os.IsNotExist(err) {
		t.Errorf("the emptied day directory %s stays: %v", names[0][:8], err)
	}
	// Reopened: the usage is counted from the files.
	q, err := store.OpenPictures(dir, store.PictureOptions{MaxBytes: 3000})
	if err != nil || q.Usage() != 3000 {
		t.Errorf("reopened usage = %d, %v; want 3000", q.Usage(), err)
	}
	// Once its PicUpload is gone, the next prune may take it.
	if n, _, _ := p.Prune(day(5), nil); n != 0 {
		t.Errorf("prune within budget deleted %d; want 0", n)
	}
}

func TestPicturesBadNames(t *testing.T) {
	p, err := store.OpenPictures(t.TempDir(), store.PictureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "../x", "a/b"} {
		if _, err := p.Save(t0, id, "in", "full", []byte{1}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Save(%q) = %v; want ErrInvalid", id, err)
		}
	}
	if _, err := p.Save(t0, "R1", "sideways", "full", []byte{1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Save(sideways) = %v; want ErrInvalid", err)
	}
	for _, name := range []string{"../../etc/passwd", "20260101/../x.jpg", "2026010/x.jpg", "20260101/x.png"} {
		if _, err := p.Read(name); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Read(%q) = %v; want ErrInvalid", name, err)
		}
	}
}

func TestQueuedPictures(t *testing.T) {
	db, _ := storetest.Open(t, opts())
	db.OpenRecord(store.Record{ID: "A", Plate: "京A1", InTime: t0}, indata("A"),
		store.Message{Kind: store.KindPicUpload, RecordID: "A", Params: map[string]string{store.PicFileParam: "20260101/A-in-full.jpg"}})
	got, err := db.QueuedPictures()
	if err != nil || len(got) != 1 || !got["20260101/A-in-full.jpg"] {
		t.Fatalf("QueuedPictures = %v, %v; want A's", got, err)
	}
	msgs, _ := db.Messages(0, 10)
	for _, m := range msgs {
		db.Ack(m.Seq)
	}
	if got, _ := db.QueuedPictures(); len(got) != 0 {
		t.Errorf("QueuedPictures after delivery = %v; want none", got)
	}
}
