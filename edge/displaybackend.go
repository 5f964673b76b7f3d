package edge

import (
	"context"
	"fmt"
	"strings"

	"laned/cmb"
	"laned/edge/console"
	"laned/hal"
)

var _ console.DisplayBackend = (*Console)(nil)

// Display implements console.DisplayBackend.
func (b *Console) Display(lane string) (console.DisplayInfo, error) {
	if _, ok := b.Ctl.lane(lane); !ok {
		return console.DisplayInfo{}, console.ErrNotFound
	}
	st, ok := b.Ctl.DisplayStatus(lane)
	if !ok {
		return console.DisplayInfo{}, console.ErrNoDisplay
	}
	return console.DisplayInfo{Device: st.Device, Moment: st.Moment, Lines: st.Lines, Said: st.Said, OK: st.OK, LastErr: st.LastErr, LastOK: st.LastOK, Fails: st.Fails}, nil
}

// DisplayTest implements console.DisplayBackend: the pattern goes out
// from the lane's announcer, after what it is showing.
func (b *Console) DisplayTest(_ context.Context, lane string) error {
	a, err := b.Ctl.announcerOf(lane)
	if err != nil {
		return err
	}
	b.Ctl.audit("display", 0, "%s: %s sent a test pattern to %s's board", lane, b.who(), lane)
	a.post(&scene{moment: momentTest})
	return nil
}

// Say implements console.DisplayBackend.
func (b *Console) Say(_ context.Context, lane, text string) error {
	a, err := b.Ctl.announcerOf(lane)
	if err != nil {
		return err
	}
	ps := b.Ctl.cfg.Display.Speak(text)
	if len(ps) == 0 {
		return fmt.Errorf("nothing to say")
	}
	a.sayNow(ps)
	return nil
}

// PayQR implements console.DisplayBackend.
func (b *Console) PayQR(lane string) (string, error) {
	return b.Ctl.PayQR(lane)
}

// PayQR is the dynamic pay QR code's URL of lane (cmb §3.5): the park,
// the plate standing there (none when the lane is empty) and the lane's
// code as berth number.
func (c *Controller) PayQR(lane string) (string, error) {
	l, ok := c.lane(lane)
	if !ok {
		return "", console.ErrNotFound
	}
	if c.cfg.Display.QRHost == "" {
		return "", fmt.Errorf("no QR host: the platform is configured by base_url, not environment")
	}
	plate := l.status().Vehicle
	if strings.HasPrefix(plate, "(") {
		plate = ""
	}
	return cmb.QRURL(c.cfg.Display.QRHost, c.cfg.ParkCode, plate, fmt.Sprint(l.cfg.Code)), nil
}

func (c *Controller) announcerOf(lane string) (*announcer, error) {
	l, ok := c.lane(lane)
	if !ok {
		return nil, console.ErrNotFound
	}
	a := l.disp.Load()
	if a == nil {
		return nil, console.ErrNoDisplay
	}
	return a, nil
}

// momentTest is the console's test pattern.
const momentTest = "test"

var testMoment = Moment{Lines: []string{"1 显示测试 红", "2 显示测试 绿", "3 显示测试 黄", "4 {time}"}, Say: "欢迎光临"}

func (a *announcer) sayNow(ps []hal.Phrase) {
	a.mu.Lock()
	a.say = ps
	a.mu.Unlock()
	a.poke()
}

// displayText is a lane's board for the lane table: "" none, "ok",
// "NOT REACHED: …".
func (c *Controller) displayText(lane string) string {
	st, ok := c.DisplayStatus(lane)
	switch {
	case !ok:
		return ""
	case st.OK:
		return "ok"
	case st.LastErr == "":
		return "starting"
	}
	return "NOT REACHED: " + st.LastErr
}
