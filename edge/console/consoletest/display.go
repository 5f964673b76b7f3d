package consoletest

import (
	"context"
	"net/url"

	"laned/edge/console"
)

var _ console.DisplayBackend = (*Backend)(nil)

// displays are the fake boards: entry1 idle and reached, exit1 showing a
// fee and not reached.
func (b *Backend) displays() map[string]console.DisplayInfo {
	return map[string]console.DisplayInfo{
		"entry1": {Device: "entry1/display", Lines: []string{"欢迎光临", "停车场", "剩余车位 12", "2025-03-01 14:03"}, OK: true, LastOK: b.Now.Add(-3e9)},
		"exit1": {Device: "exit1/display", Moment: "exit_due", Lines: []string{"京A12345", "停车 2时05分", "请缴费 12.34元", "请扫码支付"},
			Said: "京A12345请缴费12元", LastErr: "write /dev/ttyUSB1: input/output error", Fails: 4},
	}
}

// Display implements console.DisplayBackend.
func (b *Backend) Display(lane string) (console.DisplayInfo, error) {
	b.Lock()
	defer b.Unlock()
	d, ok := b.displays()[lane]
	if !ok {
		return console.DisplayInfo{}, console.ErrNoDisplay
	}
	return d, nil
}

// DisplayTest implements console.DisplayBackend.
func (b *Backend) DisplayTest(_ context.Context, lane string) error {
	b.Lock()
	defer b.Unlock()
	b.Calls = append(b.Calls, "display test "+lane)
	return nil
}

// Say implements console.DisplayBackend.
func (b *Backend) Say(_ context.Context, lane, text string) error {
	b.Lock()
	defer b.Unlock()
	b.Calls = append(b.Calls, "say "+lane+" "+text)
	return nil
}

// PayQR implements console.DisplayBackend: the UAT host, park
// 5201020001, the plate waiting at exit1.
func (b *Backend) PayQR(lane string) (string, error) {
	plate := ""
	if lane == "exit1" {
		plate = "京A12345"
	}
	return "https://cmain-uat.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=" + url.QueryEscape(plate) + "&berth_number=1", nil
}
