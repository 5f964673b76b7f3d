package edge

import (
	"context"
	"sync"
	"testing"
	"time"

	"laned/hal/display"
	"laned/hal/sim"
)

// boardLog is what the sim boards showed, in order, with the barrier
// opens of their lane at that instant.
type boardLog struct {
	mu      sync.Mutex
	entries []boardEntry
}

type boardEntry struct {
	lane, shown string
	opens       int
}

var boardLogs sync.Map // *harness → *boardLog

// attachBoards gives each lane of the harness a sim AA55 board behind the
// real driver, 4 lines with voice.
func (h *harness) attachBoards(cfg *Config, lanes []LaneConfig) {
	h.boards = map[string]*sim.Display{}
	log := &boardLog{}
	boardLogs.Store(h, log)
	h.t.Cleanup(func() {
		if h.t.Failed() {
			log.mu.Lock()
			for _, e := range log.entries {
				h.t.Logf("[display %s] %s (opens %d)", e.lane, e.shown, e.opens)
			}
			log.mu.Unlock()
		}
	})
	voices := display.DefaultVoices()
	cfg.Display.Speak, cfg.Display.SpokenFee = voices.Phrases, voices.SpokenFee
	cfg.Display.Park = "测试停车场"
	for i := range lanes {
		name := lanes[i].Name
		sl := h.entry
		if lanes[i].Kind == Exit {
			sl = h.exit
		}
		sd := sim.NewDisplay(name, display.AA55{}, 100, 4, voices, h.clk, func(lane, shown string) {
			log.mu.Lock()
			log.entries = append(log.entries, boardEntry{lane, shown, opens(sl)})
			log.mu.Unlock()
		})
		b, err := display.NewBoard(display.Config{Name: name + "/display", Link: sd, Clock: h.clk})
		if err != nil {
			h.t.Fatal(err)
		}
		h.boards[name] = sd
		lanes[i].Display = &LaneDisplay{Device: b, Lines: 4, Voice: true, Volume: 5}
	}
}

// shows waits until lane's board shows want (its rendering: the lines
// joined by " | ", then the voice just said) and returns the barrier opens of the
// lane when it first did.
func (h *harness) shows(lane, want string) int {
	h.t.Helper()
	v, _ := boardLogs.Load(h)
	log := v.(*boardLog)
	opensAt := -1
	h.eventually(lane+" board shows "+want, func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, e := range log.entries {
			if e.lane == lane && e.shown == want {
				opensAt = e.opens
				return true
			}
		}
		return false
	})
	return opensAt
}

func TestDisplayEveryMoment(t *testing.T) {
	h := newHarness(t)
	h.shows("entry1", "欢迎光临 | 测试停车场 | 剩余车位 480 | 2026-03-02 09:00")
	h.shows("exit1", "一路平安 | 测试停车场 | 扫码缴费 | 2026-03-02 09:00")
	// The car passes only once the board has welcomed it, as a real car
	// takes seconds to pass: the announcer shows the lane's newest scene,
	// and a pass at once could replace the welcome before it is written.
	h.entry.Arrive("京A12345")
	if at := h.shows("entry1", "京A12345 | 欢迎光临 | 剩余车位 479 | 请入场停车 ♪ 京A12345欢迎光临"); at < 1 {
		t.Errorf("entry board showed the admission before the barrier command (opens %d)", at)
	}
	h.entry.PassThrough()
	h.eventually("entry barrier down after 京A12345", func() bool { return lastOp(h.entry) == "close" })
	h.settle()
	rec, err := h.db.OpenByPlate("京A12345")
	if err != nil {
		t.Fatalf("OpenByPlate after entry = %v", err)
	}
	h.advance(2*time.Hour + 5*time.Minute)
	before := opens(h.exit)
	h.arriveExit("京A12345")
	if at := h.shows("exit1", "京A12345 | 停车 2时05分 | 请缴费 11.00元 | 请扫码支付 ♪ 京A12345请缴费11元"); at != before {
		t.Errorf("fee due shown with %d opens; want %d (the barrier stays down)", at, before)
	}
	if _, err := h.sim.ScanPay(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if at := h.shows("exit1", "京A12345 | 停车 2时05分 | 已缴费 | 一路平安 ♪ 一路顺风"); at <= before {
		t.Errorf("paid shown before the barrier command (opens %d, before %d)", at, before)
	}
	h.leaveExit(before)
	_ = rec
	// The board's clock line follows the minute without being asked.
	h.advance(time.Minute)
	h.shows("exit1", "一路平安 | 测试停车场 | 扫码缴费 | 2026-03-02 11:06")
}

func TestDisplayRefusedUnlicensedFull(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Spaces = Spaces{Total: 2, VIP: 1} })
	h.entry.Arrive("")
	h.shows("entry1", "无牌车 | 请扫码入场 ♪ 请扫码入场")
	h.entry.Back()
	h.settle()
	h.enter("京A00001")
	h.shows("entry1", "车位已满") // idle: no temporary space left
	h.entry.Arrive("京A00002")
	h.shows("entry1", "京A00002 | 车位已满 | 请联系管理员 ♪ 车位已满")
}

func TestDisplayUnpluggedChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.boards["entry1"].Unplug(true)
	rec := h.enter("京A12345")
	if rec.ID == "" {
		t.Fatal("no record")
	}
	h.eventually("entry display reported down", func() bool {
		st, ok := h.ctl.DisplayStatus("entry1")
		return ok && !st.OK && st.LastErr != "" && st.Fails > 0
	})
	h.boards["entry1"].Unplug(false)
	h.advance(time.Minute) // the next idle refresh reaches it again
	h.eventually("entry display back", func() bool { st, _ := h.ctl.DisplayStatus("entry1"); return st.OK })
}

func TestPayQRURL(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Display.QRHost = "cmain-uat.park.cmbchina.biz" })
	got, err := h.ctl.PayQR("exit1")
	if want := "https://cmain-uat.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=&berth_number=1"; err != nil || got != want {
		t.Errorf("PayQR(empty exit) = %q, %v; want %q", got, err, want)
	}
	h.enter("京A12345")
	h.advance(time.Hour)
	h.arriveExit("京A12345")
	got, err = h.ctl.PayQR("exit1")
	if want := "https://cmain-uat.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=%E4%BA%ACA12345&berth_number=1"; err != nil || got != want {
		t.Errorf("PayQR(exit with 京A12345) = %q, %v; want %q", got, err, want)
	}
	if _, err := h.ctl.PayQR("nope"); err == nil {
		t.Error("PayQR(unknown lane) = nil error")
	}
}
