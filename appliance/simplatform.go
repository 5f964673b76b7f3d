package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"laned/cmb"
)

// adminPlatform is a `cmbsim serve` reached through its admin API
// (/_sim/…) at the platform's base URL: the daemon's sim commands play
// the driver's and the bank's part there.
type adminPlatform struct {
	base string // e.g. http://127.0.0.1:8900/
	http *http.Client
}

func newAdminPlatform(base string) adminPlatform {
	return adminPlatform{base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: 30 * time.Second}}
}

// laneAnswer is the outcome of a callback the simulator sent to the lane.
type laneAnswer struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Paid    bool   `json:"paid"`
	Amount  int64  `json:"amount"`
	Calc    struct {
		Plate string `json:"vpl_number"`
	} `json:"calc"`
	Lane *laneAnswer `json:"lane"`
}

func (p adminPlatform) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return fmt.Errorf("platform simulator: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("platform simulator at %s: %w", p.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("platform simulator: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("the platform at %s has no simulator admin API (%s): is it `cmbsim serve`?", p.base, path)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("platform simulator %s: HTTP %d: %s", path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("platform simulator %s: answer: %w", path, err)
	}
	return nil
}

func (a *laneAnswer) err(what string) error {
	switch {
	case a.Error != "":
		return fmt.Errorf("%s: %s", what, a.Error)
	case a.Status != cmb.StatusOK:
		return fmt.Errorf("%s: the lane answered %d (%s)", what, a.Status, a.Message)
	}
	return nil
}

func (p adminPlatform) pay(ctx context.Context, path string, in any) (int64, string, error) {
	var a laneAnswer
	if err := p.call(ctx, http.MethodPost, path, in, &a); err != nil {
		return 0, "", err
	}
	if err := a.err("payment"); err != nil {
		return 0, "", err
	}
	if !a.Paid {
		return 0, "", errors.New("payment: nothing was paid (nothing owed?)")
	}
	return a.Amount, a.Calc.Plate, nil
}

func (p adminPlatform) ScanPay(ctx context.Context, outCode int) (int64, string, error) {
	return p.pay(ctx, "/_sim/scan-pay", map[string]any{"out_code": outCode})
}

func (p adminPlatform) PayPlate(ctx context.Context, plate string) (int64, error) {
	fen, _, err := p.pay(ctx, "/_sim/plate-pay", map[string]any{"vpl_number": plate})
	return fen, err
}

func (p adminPlatform) NoVpln(ctx context.Context, virtual string, inCode int) (int, string, error) {
	var a laneAnswer
	if err := p.call(ctx, http.MethodPost, "/_sim/lane/novpln", map[string]any{"vpl_number": virtual, "in_code": inCode}, &a); err != nil {
		return 0, "", err
	}
	if a.Error != "" && a.Status == cmb.StatusOK {
		return 0, "", fmt.Errorf("NoVpln: %s", a.Error)
	}
	return a.Status, a.Message, nil
}

func (p adminPlatform) Bind(ctx context.Context, plate string, limit int64) error {
	var out struct {
		Lane *laneAnswer `json:"lane"`
	}
	if err := p.call(ctx, http.MethodPost, "/_sim/agreements", map[string]any{"plate": plate, "limit": limit, "notify": true}, &out); err != nil {
		return err
	}
	if out.Lane != nil {
		return out.Lane.err("autoPayBind")
	}
	return nil
}

func (p adminPlatform) Outage(ctx context.Context, down bool) error {
	if down {
		return p.call(ctx, http.MethodPut, "/_sim/faults/*", map[string]any{"down": true}, nil)
	}
	return p.call(ctx, http.MethodDelete, "/_sim/faults", nil, nil)
}
