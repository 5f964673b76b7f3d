package appliance

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"laned/edge/console"
	"laned/hal/clock"
	"laned/hal/sim"
)

// SimPlatform is the platform's side of the sim commands: the demo's
// in-process cmbsim, or the daemon's `cmbsim serve` through its admin API.
type SimPlatform interface {
	// ScanPay: the driver at exit outCode scans the QR code and pays.
	ScanPay(ctx context.Context, outCode int) (fen int64, plate string, err error)
	// PayPlate: the driver of plate pays in advance on the phone.
	PayPlate(ctx context.Context, plate string) (fen int64, err error)
	// NoVpln: the driver of a plate-less car scans entry inCode's QR code.
	NoVpln(ctx context.Context, virtual string, inCode int) (status int, message string, err error)
	// Bind: the platform binds plate for contactless payment.
	Bind(ctx context.Context, plate string, limitFen int64) error
	// Outage makes the platform unreachable, or answer again.
	Outage(ctx context.Context, down bool) error
}

// simCommands is the one parser of the console's `sim …` commands, for
// the demo and for `laned run` on the sim board.
type simCommands struct {
	lanes    []*sim.Lane
	clk      *clock.Fake // the simulated clock; nil: real time, advance refused
	zone     *time.Location
	platform SimPlatform                 // nil: the platform commands are refused
	settle   func(context.Context) error // after a command that moves things; nil: none
	kick     func()                      // the dispatcher, after an outage or a jump in time
	advanced func(time.Duration)         // told of every `sim advance`; nil: none
}

const simCommandsHelp = `sim arrive LANE PLATE   a vehicle with PLATE ("-" for none) on LANE's arming loop; the camera reads it
sim pass LANE           the vehicle drives under the barrier and away
sim enter LANE          the vehicle stops under the barrier (safety loop occupied)
sim leave LANE          the vehicle under the barrier drives away
sim back LANE           the vehicle reverses off the arming loop
sim chatter LANE N      the arming loop's contact bounces N times (the debounce hides it)
sim camera LANE on|off  the camera goes offline / comes back
sim scanpay OUT_CODE    the driver at exit OUT_CODE scans the QR code and pays
sim payplate PLATE      the driver of PLATE pays in advance on the phone
sim novpln IN_CODE      the driver of a plate-less car scans the entry QR code
sim bind PLATE YUAN     the platform binds PLATE for contactless payment
sim outage on|off       the platform becomes unreachable / answers again
sim advance DURATION    move the simulated clock forward (e.g. 2h30m)`

func (s *simCommands) lane(name string) (*sim.Lane, error) {
	names := make([]string, 0, len(s.lanes))
	for _, l := range s.lanes {
		if l.Name == name {
			return l, nil
		}
		names = append(names, l.Name)
	}
	return nil, fmt.Errorf("no sim lane %q (lanes: %s)", name, strings.Join(names, ", "))
}

func (s *simCommands) after(ctx context.Context) error {
	if s.settle == nil {
		return nil
	}
	return s.settle(ctx)
}

// run executes one command; args are the words after "sim".
func (s *simCommands) run(ctx context.Context, args []string) (string, error) {
	if len(args) == 0 || args[0] == "help" {
		return simCommandsHelp, nil
	}
	need := func(n int, usage string) error {
		if len(args) != n {
			return errors.New("usage: sim " + usage)
		}
		return nil
	}
	withLane := func(n int, usage string) (*sim.Lane, error) {
		if err := need(n, usage); err != nil {
			return nil, err
		}
		return s.lane(args[1])
	}
	switch args[0] {
	case "arrive":
		l, err := withLane(3, `arrive LANE PLATE ("-" for a vehicle without a plate)`)
		if err != nil {
			return "", err
		}
		plate := args[2]
		if plate == "-" {
			plate = ""
		}
		l.Arrive(plate)
		return "vehicle on " + l.Name + "'s arming loop", s.after(ctx)
	case "pass", "enter", "leave", "back":
		l, err := withLane(2, args[0]+" LANE")
		if err != nil {
			return "", err
		}
		switch args[0] {
		case "pass":
			l.PassThrough()
		case "enter":
			l.Enter()
		case "leave":
			l.Leave()
		case "back":
			l.Back()
		}
		return "done", s.after(ctx)
	case "chatter":
		l, err := withLane(3, "chatter LANE N")
		if err != nil {
			return "", err
		}
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 1 || n > 1000 {
			return "", fmt.Errorf("bounces %q: want 1 to 1000", args[2])
		}
		l.Arming.Chatter(n)
		return fmt.Sprintf("%d bounces; the driver has seen %d edges on the arming loop", n, l.Arming.Edges()), s.after(ctx)
	case "camera":
		l, err := withLane(3, "camera LANE on|off")
		if err != nil {
			return "", err
		}
		if args[2] != "on" && args[2] != "off" {
			return "", errors.New("usage: sim camera LANE on|off")
		}
		l.Camera.SetOnline(args[2] == "on")
		return "camera " + args[2], s.after(ctx)
	case "scanpay", "payplate", "novpln", "bind", "outage":
		if s.platform == nil {
			return "", errors.New("no platform simulator to drive: point [platform] base_url at `cmbsim serve`")
		}
		return s.runPlatform(ctx, args, need)
	case "advance":
		if err := need(2, "advance DURATION"); err != nil {
			return "", err
		}
		if s.clk == nil {
			return "", errors.New(`the clock is real: set [board] clock = "sim" to move it`)
		}
		dur, err := time.ParseDuration(args[1])
		if err != nil || dur <= 0 || dur > 30*24*time.Hour {
			return "", fmt.Errorf("duration %q: want e.g. 90m or 2h30m, at most 720h", args[1])
		}
		for left := dur; left > 0; left -= time.Minute {
			s.clk.Advance(min(left, time.Minute)) // timers fire in order, a minute at a time
		}
		if s.advanced != nil {
			s.advanced(dur)
		}
		if s.kick != nil {
			s.kick()
		}
		return "now " + s.clk.Now().In(s.zone).Format("2006-01-02 15:04:05"), s.after(ctx)
	}
	return "", fmt.Errorf("unknown sim command %q; type: sim help", args[0])
}

func (s *simCommands) runPlatform(ctx context.Context, args []string, need func(int, string) error) (string, error) {
	// code needs args[1] (usage tells how) and reads it as a lane code.
	code := func(usage, what string) (int, error) {
		if err := need(2, usage); err != nil {
			return 0, err
		}
		c, err := strconv.Atoi(args[1])
		if err != nil || c < 1 || c > 255 {
			return 0, fmt.Errorf("%s %q: want a number 1–255 such as 1", what, args[1])
		}
		return c, nil
	}
	switch args[0] {
	case "scanpay":
		c, err := code("scanpay OUT_CODE", "out code")
		if err != nil {
			return "", err
		}
		fen, plate, err := s.platform.ScanPay(ctx, c)
		if err != nil {
			return "", err
		}
		return "paid " + console.FormatFen(fen) + " yuan for " + plate, s.after(ctx)
	case "payplate":
		if err := need(2, "payplate PLATE"); err != nil {
			return "", err
		}
		fen, err := s.platform.PayPlate(ctx, args[1])
		if err != nil {
			return "", err
		}
		return "paid " + console.FormatFen(fen) + " yuan", s.after(ctx)
	case "novpln":
		c, err := code("novpln IN_CODE", "in code")
		if err != nil {
			return "", err
		}
		now := time.Now()
		if s.clk != nil {
			now = s.clk.Now()
		}
		virtual := fmt.Sprintf("临%016d", now.UnixNano()%1e16)
		status, msg, err := s.platform.NoVpln(ctx, virtual, c)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("NoVpln answered %d (%s), plate %s", status, msg, virtual), s.after(ctx)
	case "bind":
		if err := need(3, "bind PLATE YUAN"); err != nil {
			return "", err
		}
		y, err := strconv.Atoi(args[2])
		if err != nil || y <= 0 || y > 1_000_000 {
			return "", fmt.Errorf("limit %q: want whole yuan such as 100", args[2])
		}
		return "bound", s.platform.Bind(ctx, args[1], int64(y)*100)
	case "outage":
		if err := need(2, "outage on|off"); err != nil {
			return "", err
		}
		if args[1] != "on" && args[1] != "off" {
			return "", errors.New("usage: sim outage on|off")
		}
		if err := s.platform.Outage(ctx, args[1] == "on"); err != nil {
			return "", err
		}
		if args[1] == "on" {
			return "the platform is unreachable", nil
		}
		if s.kick != nil {
			s.kick()
		}
		return "the platform answers again", nil
	}
	return "", fmt.Errorf("unknown sim command %q; type: sim help", args[0])
}
