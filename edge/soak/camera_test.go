package soak

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"laned/hal"
	"laned/hal/camera"
	"laned/hal/camera/cameratest"
	"laned/internal/progress"
)

// lineRate is 115200 baud, 8N1, in bytes per second.
const lineRate = 11520

// TestCameraGarbage feeds a camera port random bytes at the full line
// rate of 115200 baud with valid PLATE frames and torn frames interleaved,
// and halfway through the USB adapter vanishes and comes back: the port
// must not crash, its heap must stay flat, and every valid frame sent
// while the adapter was there must be decoded.
func TestCameraGarbage(t *testing.T) {
	lv := soakLevel()
	link := filepath.Join(t.TempDir(), "ttyUSB0")
	master, slave := cameratest.OpenPTY(t)
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background()) // go test's -timeout is the hang guard
	defer cancel()
	port, err := camera.Open(ctx, camera.Config{BusConfig: camera.BusConfig{Name: "exit1/camera", Path: link, MustOpen: true,
		ReopenMin: 50 * time.Millisecond, ReopenMax: 200 * time.Millisecond}, Addr: 1, HeartbeatPeriod: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Halt()

	var mu sync.Mutex
	got := map[string]int{}
	others := 0
	events := make(chan struct{})
	go func() {
		defer close(events)
		for ev := range port.Events() {
			if ev.Kind != hal.KindPlate {
				continue
			}
			mu.Lock()
			if len(ev.Plate) > 0 && ev.Conf == 96 {
				got[ev.Plate]++
			} else {
				others++
			}
			mu.Unlock()
		}
	}()
	drainACKs := func(m *os.File) { go io.Copy(io.Discard, m) } // the port's ACKs
	drainACKs(master)

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	rnd := rand.New(rand.NewPCG(5, 6))
	var sent []string
	var garbageBytes, torn int
	seq := byte(0)
	frame := func(i int) ([]byte, string) {
		seq++
		plate := fmt.Sprintf("京A%05d", i)
		b, err := camera.EncodePlate(1, seq, hal.PlateEvent{Kind: hal.KindPlate, Plate: plate, Colour: hal.ColourBlue, Conf: 96, Trigger: hal.TriggerIO, CameraTime: time.Unix(1700000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		return b, plate
	}
	// One tick is 100 ms of line time: garbage, a valid frame, sometimes
	// a torn one.
	const tick = 100 * time.Millisecond
	ticks := int(lv.garbage / tick)
	var heapStart, heapPeak uint64
	var unplugged bool
	var reopensBefore uint64
	n := 0
	for k := range ticks {
		if k == 5 {
			heapStart = heap()
		}
		if k == ticks/2 && !unplugged { // the adapter vanishes
			unplugged = true
			reopensBefore = port.Stats().Reopens
			master.Close()
			os.Remove(link)
			time.Sleep(300 * time.Millisecond)
			var slave2 string
			master, slave2 = cameratest.OpenPTY(t)
			if err := os.Symlink(slave2, link); err != nil {
				t.Fatal(err)
			}
			drainACKs(master)
			until(t, "the port reopened", func() bool { return port.Stats().Reopens > reopensBefore })
		}
		g := make([]byte, lineRate/10)
		for i := range g {
			g[i] = byte(rnd.Uint32())
		}
		f, plate := frame(n)
		n++
		at := rnd.IntN(len(g))
		chunk := append(append(append([]byte{}, g[:at]...), f...), g[at:]...)
		if k%4 == 1 { // a torn frame: the first half of one, cut off
			tf, _ := frame(900000 + k)
			chunk = append(chunk, tf[:len(tf)/2]...)
			torn++
		}
		t0 := time.Now()
		if _, err := master.Write(chunk); err != nil {
			t.Fatalf("write to the pty: %v", err)
		}
		sent = append(sent, plate)
		garbageBytes += len(g)
		if k%10 == 0 {
			heapPeak = max(heapPeak, heap())
		}
		time.Sleep(tick - time.Since(t0))
	}
	// Every valid frame arrives: the wait ends when none is missing or
	// when nothing was decoded for progress.Stall.
	missing := func() int {
		mu.Lock()
		defer mu.Unlock()
		m := 0
		for _, p := range sent {
			if got[p] == 0 {
				m++
			}
		}
		return m
	}
	w := progress.NewWatch(func() any { return missing() })
	for missing() > 0 && !w.Stalled() {
		time.Sleep(10 * time.Millisecond)
	}
	heapEnd := heap()
	st := port.Stats()
	miss := missing()
	if miss > 0 {
		t.Errorf("%d of %d valid frames never decoded", miss, len(sent))
	}
	mu.Lock()
	dups := 0
	for _, c := range got {
		if c > 1 {
			dups++
		}
	}
	mu.Unlock()
	if dups > 0 {
		t.Errorf("%d plates reported more than once", dups)
	}
	if st.Reopens < 1 {
		t.Errorf("Stats().Reopens = %d; want ≥ 1 after the adapter came back", st.Reopens)
	}
	const slack = 2 << 20
	if heapEnd > heapStart+slack || heapPeak > heapStart+slack {
		t.Errorf("heap grew: %d KiB at the start, peak %d KiB, %d KiB at the end; want within %d KiB", heapStart>>10, heapPeak>>10, heapEnd>>10, slack>>10)
	}
	port.Halt()
	<-events
	report(t, "level %s: %v of garbage at %d B/s (%d KiB) with %d valid frames and %d torn ones; the adapter vanished for 300 ms halfway (reopens %d)",
		lv.name, lv.garbage, lineRate, garbageBytes>>10, len(sent), torn, st.Reopens)
	report(t, "decoded %d of %d valid frames (%d missing, %d duplicated, %d other plates out of the garbage); port stats: frames %d, rejected %d, duplicates %d, foreign %d, dropped %d",
		len(sent)-miss, len(sent), miss, dups, others, st.Frames, st.Rejected, st.Duplicates, st.Foreign, st.Dropped)
	report(t, "heap after GC: %d KiB at the start, peak %d KiB, %d KiB at the end", heapStart>>10, heapPeak>>10, heapEnd>>10)
}
