package board

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"laned/hal/clock"
)

// fakeOps records what would reach the kernel, in order.
type fakeOps struct {
	mu     sync.Mutex
	calls  []string
	levels map[int]bool // fd → level
}

func (f *fakeOps) request(chip string, r gpioV2LineRequest) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.levels == nil {
		f.levels = map[int]bool{}
	}
	if r.NumLines != 1 || r.Config.Flags != gpioV2LineFlagOutput || r.Config.NumAttrs != 1 ||
		r.Config.Attrs[0].Attr.ID != gpioV2LineAttrIDOutValue || r.Config.Attrs[0].Mask != 1 {
		return -1, fmt.Errorf("request %+v is not one output line with its value", r.Config)
	}
	high := r.Config.Attrs[0].Attr.Value&1 == 1
	fd := 100 + int(r.Offsets[0])
	f.levels[fd] = high
	f.calls = append(f.calls, fmt.Sprintf("request %d %v", r.Offsets[0], pgpio.Level(high)))
	return fd, nil
}

func (f *fakeOps) set(fd int, high bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.levels[fd] = high
	f.calls = append(f.calls, fmt.Sprintf("set %d %v", fd-100, pgpio.Level(high)))
	return nil
}

func (f *fakeOps) get(fd int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.levels[fd], nil
}

func (f *fakeOps) first(offset int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, fmt.Sprintf("request %d ", offset)) || strings.HasPrefix(c, fmt.Sprintf("set %d ", offset)) {
			return c
		}
	}
	return ""
}

func TestOutputRequestLayout(t *testing.T) {
	if runtime.GOOS == "linux" {
		if got := unsafe.Sizeof(gpioV2LineRequest{}); got != 592 {
			t.Errorf("sizeof(gpio_v2_line_request) = %d; want 592", got)
		}
		if got := unsafe.Offsetof(gpioV2LineRequest{}.FD); got != 588 {
			t.Errorf("offsetof(fd) = %d; want 588", got)
		}
	}
	for _, high := range []bool{false, true} {
		r := outputRequest(17, high, "laned")
		a := r.Config.Attrs[0]
		if r.Offsets[0] != 17 || r.NumLines != 1 || r.Config.Flags != gpioV2LineFlagOutput || r.Config.NumAttrs != 1 ||
			a.Attr.ID != gpioV2LineAttrIDOutValue || a.Mask != 1 || (a.Attr.Value == 1) != high || string(r.Consumer[:5]) != "laned" {
			t.Errorf("outputRequest(17, %v) = %+v; want line 17 as an output with value %v in the request", high, r, high)
		}
	}
}

func TestOutLineRequestsAtFirstLevel(t *testing.T) {
	ops := &fakeOps{}
	o := newOutLine(&gpiotest.Pin{N: "GPIO5", Num: 5}, "/dev/gpiochip0", 5, ops)
	for _, l := range []pgpio.Level{pgpio.High, pgpio.Low, pgpio.High} {
		if err := o.Out(l); err != nil {
			t.Fatal(err)
		}
		if got := o.Read(); got != l {
			t.Errorf("Read() after Out(%v) = %v", l, got)
		}
	}
	want := "[request 5 High set 5 Low set 5 High]"
	if got := fmt.Sprint(ops.calls); got != want {
		t.Errorf("kernel calls = %s; want %s (the request carries the first level)", got, want)
	}
}

// fakeChip hands out every pin as an outLine over ops, as chipPins does
// on a real chip.
type fakeChip struct {
	ops   *fakeOps
	mu    sync.Mutex
	lines map[int]*outLine
}

func (f *fakeChip) Pin(name string) (pgpio.PinIO, error) {
	n, ok := bcm(name)
	if !ok {
		return nil, fmt.Errorf("unknown pin %q", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if o, ok := f.lines[n]; ok {
		return o, nil
	}
	p := &gpiotest.Pin{N: fmt.Sprintf("GPIO%d", n), Num: n, EdgesChan: make(chan pgpio.Level, 1)}
	o := newOutLine(p, "/dev/gpiochip0", n, f.ops)
	f.lines[n] = o
	return o, nil
}

// TestNoRelayBlipAtStart: on the character device every relay of the rpi5
// default wiring (active-low) is requested already inactive (High): no
// instant at Low, where an active-low relay energises.
func TestNoRelayBlipAtStart(t *testing.T) {
	ops := &fakeOps{}
	b, err := Open(context.Background(), Config{
		Profile: ProfileRPi5, Clock: clock.NewFake(time.Unix(1700000000, 0)),
		Pins: &fakeChip{ops: ops, lines: map[int]*outLine{}},
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer b.Halt()
	for _, relay := range []int{5, 6, 13, 19, 26, 21} {
		if got, want := ops.first(relay), fmt.Sprintf("request %d High", relay); got != want {
			t.Errorf("GPIO%d first kernel call = %q; want %q", relay, got, want)
		}
	}
}

func TestNoChipsSaysWhy(t *testing.T) {
	denied := func(p string) error { return &os.PathError{Op: "open", Path: p, Err: syscall.EACCES} }
	tests := []struct {
		paths []string
		open  func(string) error
		want  string
	}{
		{nil, nil, "no /dev/gpiochip* found"},
		{[]string{"/dev/gpiochip0", "/dev/gpiochip4"}, denied, "open /dev/gpiochip0: permission denied; open /dev/gpiochip4: permission denied"},
		{[]string{"/dev/gpiochip0"}, func(string) error { return nil }, "periph registered none of /dev/gpiochip0"},
	}
	for _, tt := range tests {
		if got := noChips(tt.paths, tt.open); got != tt.want {
			t.Errorf("noChips(%v) = %q; want %q", tt.paths, got, tt.want)
		}
	}
}
