package tariff

import (
	"testing"
	"time"
)

func benchQuote(b *testing.B, cfg Config, stay time.Duration) {
	e := mustNew(b, cfg)
	q := Query{Class: Small, Entry: at("2024-03-04 09:17:23"), Paid: 300}
	q.Exit = q.Entry.Add(stay)
	b.ReportAllocs()
	var sink int64
	for b.Loop() {
		got, err := e.Quote(q)
		if err != nil {
			b.Fatal(err)
		}
		sink += got.Due
	}
	if sink == 0 {
		b.Fatal("nothing due")
	}
}

func BenchmarkQuote1h(b *testing.B) { benchQuote(b, shenzhen(), time.Hour+time.Minute) }

func BenchmarkQuote30d(b *testing.B) { benchQuote(b, shenzhen(), 30*24*time.Hour+time.Hour) }

func BenchmarkQuote30dCalendar(b *testing.B) {
	cfg := shenzhen()
	cfg.CapMode = CapCalendarDay
	benchQuote(b, cfg, 30*24*time.Hour+time.Hour)
}

func BenchmarkQuote1hSegments(b *testing.B) {
	cfg := shenzhen()
	cfg.Small = dayNight()
	benchQuote(b, cfg, time.Hour+time.Minute)
}

func BenchmarkQuote30dSegments(b *testing.B) {
	cfg := shenzhen()
	cfg.Small = dayNight()
	cfg.Small.DailyCap = 3500
	cfg.CapMode = CapCalendarDay
	benchQuote(b, cfg, 30*24*time.Hour+time.Hour)
}
