package display_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/clock"
	"laned/hal/display"
)

// recLink keeps the frames written.
type recLink struct {
	frames [][]byte
	err    error
}

func (l *recLink) Write(_ context.Context, f []byte) error {
	if l.err != nil {
		return l.err
	}
	l.frames = append(l.frames, bytes.Clone(f))
	return nil
}

func TestBoardScreen(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	link := &recLink{}
	b, err := display.NewBoard(display.Config{Name: "exit1/display", Link: link, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.SetIdle(ctx, 1, "一路平安", hal.DisplayGreen))
	must(b.SetIdle(ctx, 2, "停车场", hal.DisplayGreen))
	must(b.Show(ctx, 1, "京A12345", 5, hal.DisplayRed))
	must(b.Say(ctx, display.DefaultVoices().Phrases("京A12345请缴费11元")...))
	s := b.Screen()
	if got, want := s.Format(clk.Now(), 4, t0), "京A12345 | 停车场 ♪ 京A12345请缴费11元"; got != want {
		t.Errorf("Format = %q; want %q", got, want)
	}
	clk.Advance(5 * time.Second)
	if got, want := s.Format(clk.Now(), 4, clk.Now()), "一路平安 | 停车场"; got != want {
		t.Errorf("Format after 5 s = %q; want %q", got, want)
	}
	link.err = errors.New("unplugged")
	if err := b.Show(ctx, 1, "x", 0, 0); err == nil {
		t.Error("Show on a failing link = nil; want an error")
	}
	st := b.Status()
	if st.Writes != 4 || st.Failed != 1 || st.LastErr == "" {
		t.Errorf("Status = %+v; want 4 writes, 1 failed, an error", st)
	}
	if b.CanShowQR() {
		t.Error("CanShowQR on AA55 = true")
	}
	if err := b.ShowQR(ctx, "https://x", "", 0); !errors.Is(err, display.ErrUnsupported) {
		t.Errorf("ShowQR = %v; want ErrUnsupported", err)
	}
}

func TestBoardAnswers(t *testing.T) {
	b, err := display.NewBoard(display.Config{Link: &recLink{}})
	if err != nil {
		t.Fatal(err)
	}
	ans := specFrame(3, 0x64, 0x27, 0x00)
	b.Heard(ans[:5])
	b.Heard(ans[5:])
	b.Heard([]byte{0xAA, 0x55, 1, 0x64, 0})
	b.Gap() // the partial one is garbled
	st := b.Status()
	if st.Answers != 1 || st.Garbled != 1 {
		t.Errorf("Status = %+v; want 1 answer, 1 garbled", st)
	}
}

func TestVoices(t *testing.T) {
	v := display.DefaultVoices()
	tests := []struct {
		text string
		want []hal.Phrase
	}{
		{"京A12345欢迎光临", []hal.Phrase{{Text: "京A"}, {Text: "1", Index: 0x31, Indexed: true}, {Text: "2", Index: 0x32, Indexed: true},
			{Text: "3", Index: 0x33, Indexed: true}, {Text: "4", Index: 0x34, Indexed: true}, {Text: "5", Index: 0x35, Indexed: true},
			{Text: "欢迎光临", Index: 0x01, Indexed: true}}},
		{"请缴费 15 元", []hal.Phrase{{Text: "请缴费", Index: 0x0B, Indexed: true}, {Text: "1", Index: 0x31, Indexed: true},
			{Text: "5", Index: 0x35, Indexed: true}, {Text: "元", Index: 0x2D, Indexed: true}}},
		{"一路顺风", []hal.Phrase{{Text: "一路顺风", Index: 0x5F, Indexed: true}}},
		{"无牌车", []hal.Phrase{{Text: "无牌车"}}},
	}
	for _, tt := range tests {
		got := v.Phrases(tt.text)
		if len(got) != len(tt.want) {
			t.Fatalf("Phrases(%q) = %+v; want %+v", tt.text, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Phrases(%q)[%d] = %+v; want %+v", tt.text, i, got[i], tt.want[i])
			}
		}
	}
	withPoint := display.DefaultVoices()
	withPoint["点"] = 0x2E
	fees := []struct {
		fen      int64
		v        display.Voices
		want     string
		wantSaid []byte
	}{
		{1550, withPoint, "15点5", []byte{0x31, 0x35, 0x2E, 0x35}},
		{1505, withPoint, "15点05", []byte{0x31, 0x35, 0x2E, 0x30, 0x35}},
		{1500, withPoint, "15", []byte{0x31, 0x35}},
		{1550, v, "15", []byte{0x31, 0x35}},
		{99, v, "0", []byte{0x30}},
	}
	for _, f := range fees {
		got := f.v.SpokenFee(f.fen)
		if got != f.want {
			t.Errorf("SpokenFee(%d) = %q; want %q", f.fen, got, f.want)
		}
		var idx []byte
		for _, p := range f.v.Phrases(got) {
			if !p.Indexed {
				t.Fatalf("Phrases(%q) has text %q; want indexes only", got, p.Text)
			}
			idx = append(idx, p.Index)
		}
		if !bytes.Equal(idx, f.wantSaid) {
			t.Errorf("Phrases(%q) = % X; want % X", got, idx, f.wantSaid)
		}
	}
}
