package demo

import (
	"context"
	"errors"
	"fmt"
	"laned/appliance"
	"laned/cmb/cmbsim"
	"laned/edge"
	"laned/edge/console"
	"time"
)

// forever keeps the demo running in real time with the console on a
// local socket, so a newcomer can drive the lanes with `sim …` commands.
func (d *demo) forever(ctx context.Context, socket string) error {
	b := &edge.Console{
		Ctl: d.ctl, Who: "console demo", Zone: d.zone, VersionText: d.version,
		ConfigText:  func() string { return "demo configuration: sim board, platform simulator, appsecret = ****" },
		NetEndpoint: "platform simulator",
		SimF:        d.app.SimCommand,
	}
	c := console.New(console.Options{Backend: b.Roles(), Clock: d.clk, Location: d.zone, Name: "laned demo"})
	fmt.Fprintf(d.out, "\nThe demo keeps running in real time. In another terminal:\n  laned console -socket %s\nthen try: help, status, sim help. Ctrl-C here ends the demo.\n", socket)
	// Simulated time now follows real time.
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.clk.Advance(100 * time.Millisecond)
			}
		}
	}()
	err := appliance.ServeConsoleSocket(ctx, socket, c)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// localPlatform is the demo's platform: cmbsim in process.
type localPlatform struct{ sim *cmbsim.Sim }

func (p localPlatform) ScanPay(ctx context.Context, outCode int) (int64, string, error) {
	res, err := p.sim.ScanPay(ctx, outCode)
	return res.Amount, res.Calc.VplNumber, err
}

func (p localPlatform) PayPlate(ctx context.Context, plate string) (int64, error) {
	res, err := p.sim.PayPlate(ctx, plate)
	return res.Amount, err
}

func (p localPlatform) NoVpln(ctx context.Context, virtual string, inCode int) (int, string, error) {
	env, _, err := p.sim.NoVpln(ctx, virtual, inCode)
	return env.Status, env.Message, err
}

func (p localPlatform) Bind(ctx context.Context, plate string, limit int64) error {
	if err := p.sim.AddAgreement(plate, limit); err != nil {
		return err
	}
	_, err := p.sim.Bind(ctx, cmbsim.BindRequest{Plate: plate, Limit: limit})
	return err
}

func (p localPlatform) Outage(ctx context.Context, down bool) error {
	if down {
		return p.sim.SetFault(cmbsim.AllEndpoints, cmbsim.Fault{Down: true})
	}
	p.sim.ClearFaults()
	return nil
}
