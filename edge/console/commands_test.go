package console_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"laned/edge/console"
	"laned/edge/console/consoletest"
)

var t0 = consoletest.T0 // 14:03:22 in Shanghai

func newConsole(t *testing.T, opts console.Options) (*console.Console, *consoletest.Backend) {
	t.Helper()
	return consoletest.NewConsole(t, opts)
}

// TestExec runs each command as run(args, stdout) and checks what it says.
func TestExec(t *testing.T) {
	tests := []struct {
		args      string // split at spaces
		setup     func(b *consoletest.Backend)
		want      []string // in the output, in order
		wantErr   string   // in the error
		wantCalls []string
	}{
		{args: "help", want: []string{"help [CMD]", "status", "lane N open|close REASON", "quote PLATE|MINUTES", "sim ARGS…", "exit"}},
		{args: "help lane", want: []string{"usage: lane N open|close REASON", "REASON is required"}},
		{args: "HELP Status", want: []string{"usage: status"}},
		{args: "help nope", wantErr: `help: no command "nope"; type help for the list`},
		{args: "help a b", wantErr: "help: usage: help [CMD]"},
		{args: "nope", wantErr: `unknown command "nope"; type help`},
		{args: "status", want: []string{
			"clock     2025-03-01 14:03:22 Asia/Shanghai",
			"platform  UNREACHABLE (checked 10s ago): dial tcp: i/o timeout",
			"queue     3 pending, oldest 5m0s ago, last error: post outdata: connection refused",
			"spaces    12 free of 200",
			"#  LANE    KIND   BARRIER  STATE                CAMERA   DISPLAY",
			"1  entry1  entry  closed   idle                 online   ok",
			"2  exit1   exit   closed   waiting for payment  OFFLINE  NOT REACHED: write /dev/ttyUSB1: input/output error",
		}},
		{args: "status", setup: func(b *consoletest.Backend) {
			b.ClockSet = false
			b.NetInfo = console.NetInfo{Reachable: true, CheckedAt: b.Now.Add(-time.Second)}
			b.QueueInfo = console.QueueInfo{}
		}, want: []string{"NOT SET: estimated", "platform  reachable (checked 1s ago)", "queue     empty"}},
		{args: "status now", wantErr: "status: takes no arguments; type just: status"},
		{args: "lanes", want: []string{"1  entry1  entry", "2  exit1   exit"}},
		{args: "display 1", want: []string{"board     entry1/display", "link      reached (last command 3s ago)", "showing   idle", "  line 1  欢迎光临", "  line 3  剩余车位 12"}},
		{args: "display exit1", want: []string{"link       NOT REACHED (4 failed commands): write /dev/ttyUSB1: input/output error", "showing    exit_due", "last said  京A12345请缴费12元"}},
		{args: "display 1 test", want: []string{"entry1: test pattern sent", "board     entry1/display"}, wantCalls: []string{"display test entry1"}},
		{args: "display 1 tset", wantErr: "display: usage: display N [test]"},
		{args: "display 9", wantErr: "display 9: no such lane"},
		{args: "say exit1 请缴费 15 元", want: []string{`exit1: saying "请缴费 15 元"`}, wantCalls: []string{"say exit1 请缴费 15 元"}},
		{args: "say exit1", wantErr: "say: usage: say N TEXT"},
		{args: "qr 2", want: []string{"https://cmain-uat.park.cmbchina.biz/ytc/login?type=1&park_code=5201020001&vpl_number=%E4%BA%ACA12345&berth_number=1", "\n██"}},
		{args: "qr", wantErr: "qr: usage: qr N"},
		{args: "lane exit1 open fire drill", want: []string{"lane exit1: barrier up commanded (audited: fire drill)"}, wantCalls: []string{"open exit1 fire drill"}},
		{args: "lane 1 close stuck", want: []string{"lane entry1: barrier down commanded"}, wantCalls: []string{"close entry1 stuck"}},
		{args: "lane EXIT1 OPEN x", want: []string{"lane exit1: barrier up"}, wantCalls: []string{"open exit1 x"}},
		{args: "lane 3 open test", wantErr: "lane 3: no such lane (lanes: entry1, exit1, or their numbers 1 to 2)"},
		{args: "lane 9 open", wantErr: "lane 9: no such lane (lanes: entry1, exit1"},
		{args: "lane 1 open", wantErr: "lane 1 open: a reason is required for the audit log: lane 1 open REASON"},
		{args: "lane 1 raise x", wantErr: `lane 1: "raise" is not open or close; usage: lane N open|close REASON`},
		{args: "lane", wantErr: "lane: usage: lane N open|close REASON (help lane explains)"},
		{args: "lane 2 close x", setup: func(b *consoletest.Backend) { b.LaneErr = errors.New("safety loop occupied") },
			wantErr: "lane exit1 close: safety loop occupied"},
		{args: "loops", want: []string{"LANE    LOOP    STATE     SINCE      FAULT", "entry1  arming  free      1m30s ago", "exit1   arming  occupied  12s ago", "exit1   safety  free      -          stuck occupied"}},
		{args: "camera 1", want: []string{"camera    entry1  /dev/ttyUSB0 @ 9600", "online    yes, last frame 3s ago", "rejected  2 frames", "2025-03-01 14:02:22  plate      京A12345  blue    97", "bad        -", "-     crc mismatch"}},
		{args: "camera exit1", want: []string{"online    NO, last frame never", "no frames yet"}},
		{args: "camera 2", setup: func(b *consoletest.Backend) {
			b.Cameras["exit1"] = console.CameraInfo{Lane: "exit1", Port: "camera http-push on :8081/camera/push/exit1", Online: true, LastSeen: b.Now,
				Frames: []console.FrameInfo{
					{At: b.Now, Kind: "plate", Plate: "京B12345", Colour: "blue", Conf: 61, LowConf: true, Full: 183211, Crop: 5120},
					{At: b.Now.Add(-time.Minute), Kind: "no-plate", Full: 900},
				},
				Uploads: []console.UploadInfo{{RecordID: "R9", InOut: "out", Full: 183211, Plate: 5120, Result: "delivered"}, {RecordID: "R8", InOut: "in", Full: 1000, Result: "queued"}},
			}
		}, want: []string{"camera    exit1  camera http-push on :8081/camera/push/exit1", "FRAME", "CROP", "京B12345", "61 (low)", "178.9 kB", "5.0 kB", "900 B", "pictures:", "R9", "delivered", "R8", "queued"}},
		{args: "camera 7", wantErr: "camera 7: no such lane"},
		{args: "camera", wantErr: "camera: usage: camera N"},
		{args: "records", want: []string{"ID  PLATE", "R2  沪B77777  open", "R1  京A12345  paid   entry1 2025-03-01 11:03:22  exit1 2025-03-01 13:03:22  12.34  12.34"}},
		{args: "records 京a12345", want: []string{"R1  京A12345"}},
		{args: "records XX000", want: []string{"no records for plate XX000"}},
		{args: "records", setup: func(b *consoletest.Backend) { b.Recs = nil }, want: []string{"no records yet"}},
		// Outside text is printed quoted when it holds anything unprintable:
		// a plate or message can never drive the terminal.
		{args: "records", setup: func(b *consoletest.Backend) { b.Recs[0].Plate = "京A\x1b[2J\u202e1" },
			want: []string{`R2  "京A\x1b[2J\u202e1"  open`}},
		{args: "record R1", setup: func(b *consoletest.Backend) { b.Recs[1].Plate = "京A\u200b12345" }, want: []string{`plate  "京A\u200b12345" blue`}},
		{args: "log 1", setup: func(b *consoletest.Backend) {
			b.Audit[0].Detail = "refused calc: vpl_number \u009b31m"
		}, want: []string{`"refused calc: vpl_number \u009b31m"`}},
		{args: "record R1", want: []string{"id     R1", "plate  京A12345 blue", "exit   exit1 2025-03-01 13:03:22", "fee    12.34", "paid   12.34 contactless"}},
		{args: "record R9", wantErr: "record R9: no such record; find its ID with: records [PLATE]"},
		{args: "records", setup: func(b *consoletest.Backend) {
			b.Recs[1].OwedFen, b.Recs[1].Owing = 500, "arrears (欠费)"
		}, want: []string{"PAID   OWED", "12.34  5.00 arrears (欠费)"}},
		{args: "record R1", setup: func(b *consoletest.Backend) {
			b.Recs[1].OwedFen, b.Recs[1].Owing, b.Recs[1].Note = 500, "owed, contactless outcome pending", "released owing"
		}, want: []string{"owed   5.00 owed, contactless outcome pending", "note   released owing"}},
		{args: "arrears", want: []string{"no arrears"}},
		{args: "arrears 沪c88888", setup: func(b *consoletest.Backend) {
			b.Arrs = []console.ArrearInfo{{Plate: "沪C88888", RecordID: "R7", AmountFen: 500, Since: b.Now.Add(-time.Hour), Reason: "no agreement"}, {Plate: "京A1", RecordID: "R8", AmountFen: 100}}
		}, want: []string{"PLATE    RECORD  OWED  SINCE                WHY", "沪C88888  R7      5.00  2025-03-01 13:03:22  no agreement", "total            5.00"}},
		{args: "arrears a b", wantErr: "arrears: usage: arrears [PLATE]"},
		{args: "record", wantErr: "record: usage: record ID"},
		{args: "queue", want: []string{"pending     3 (autopay 1, outdata 2)", "oldest      2025-03-01 13:58:22 (5m0s ago)", "last error  post outdata: connection refused (30s ago)"}},
		{args: "queue", setup: func(b *consoletest.Backend) { b.QueueInfo = console.QueueInfo{} }, want: []string{"pending     0", "last sent   -", "last error  none"}},
		{args: "queue", setup: func(b *consoletest.Backend) {
			b.QueueInfo.Dead, b.QueueInfo.DeadTotal = 1, 2
			b.QueueInfo.DeadLast = []string{"2025-03-01 14:00:00 Outdata record r1: refused 5 times in a row: status 7: bad"}
		}, want: []string{"pending     3", "dead-lettered: 1 kept, 2 ever", "Outdata record r1: refused 5 times"}},
		{args: "status", setup: func(b *consoletest.Backend) { b.QueueInfo.DeadTotal = 2 },
			want: []string{"queue     3 pending", "; 2 dead-lettered (see queue)"}},
		{args: "queue retry", want: []string{"queue: sending now, 3 uplinks due"}, wantCalls: []string{"retry"}},
		{args: "report 2025-03-01", setup: func(b *consoletest.Backend) { b.ReportText = "report for 2025-03-01 (Asia/Shanghai)\n" },
			want: []string{"report for 2025-03-01"}},
		{args: "report 2025-02-30", setup: func(b *consoletest.Backend) { b.ReportErr = errors.New("date must be YYYY-MM-DD") }, wantErr: "report: date must be YYYY-MM-DD"},
		{args: "report a b", wantErr: "report: usage: report [YYYY-MM-DD]"},
		{args: "queue retry", setup: func(b *consoletest.Backend) { b.RetryErr = errors.New("outbox stopped") }, wantErr: "queue retry: outbox stopped"},
		{args: "queue flush", wantErr: "queue: usage: queue [retry]"},
		{args: "quote 沪B77777", want: []string{"plate     沪B77777 (record R2)", "stay      30 min", "fee       5.00", "due       5.00"}},
		{args: "quote 90", want: []string{"stay  90 min", "fee   10.00", "due   10.00"}},
		{args: "quote 10", want: []string{"fee   0.00", "note  free period"}},
		{args: "quote 京A12345", wantErr: "quote 京A12345: no car inside with that plate; check it with: records 京A12345"},
		{args: "quote 99999999999999999999", wantErr: "minutes must be 0 to 527040"},
		{args: "quote", wantErr: "quote: usage: quote PLATE|MINUTES"},
		{args: "spaces", want: []string{"12 free of 200 (188 occupied)"}},
		{args: "config", want: []string{"park_code = P001", "secret = ****"}},
		{args: "net", want: []string{"platform https://open.example/api: UNREACHABLE: dial tcp: i/o timeout", "check the cable"}},
		{args: "net", setup: func(b *consoletest.Backend) {
			b.NetInfo = console.NetInfo{Endpoint: "https://p", Reachable: true, Latency: 123456 * time.Microsecond}
		}, want: []string{"platform https://p: reachable in 123ms"}},
		{args: "net", setup: func(b *consoletest.Backend) { b.NetErr = errors.New("no route") }, wantErr: "net: no route"},
		{args: "time", want: []string{"2025-03-01 14:03:22 Asia/Shanghai (UNIX 1740809002)"}},
		{args: "time", setup: func(b *consoletest.Backend) { b.ClockSet = false }, want: []string{"wall clock NOT SET"}},
		{args: "log", want: []string{"TIME", "2025-03-01 12:03:22  platform  pay notice  R1 12.34"}},
		{args: "log 0", wantErr: "log: N must be a number from 1 to 200, as in: log 50"},
		{args: "log x", wantErr: "log: N must be a number from 1 to 200"},
		{args: "log", setup: func(b *consoletest.Backend) { b.Audit = nil }, want: []string{"audit log is empty"}},
		{args: "update status", want: []string{"running v1.2.3, previous v1.2.2"}},
		{args: "update apply /media/usb/laned.bundle", want: []string{"installed v1.2.4 from /media/usb/laned.bundle"}, wantCalls: []string{"apply /media/usb/laned.bundle"}},
		{args: "update apply /x", setup: func(b *consoletest.Backend) { b.UpdateErr = errors.New("bad manifest signature") }, wantErr: "update apply /x: bad manifest signature", wantCalls: []string{"apply /x"}},
		{args: "update", wantErr: "update: usage: update status|apply PATH"},
		{args: "version", want: []string{"v1.2.3"}},
		{args: "sim plate entry1 京A12345", wantErr: "sim: this is not the sim board"},
		{args: "sim plate entry1 京A12345", setup: func(b *consoletest.Backend) { b.IsSim = true }, want: []string{"sim: plate entry1 京A12345: done"}, wantCalls: []string{"sim plate entry1 京A12345"}},
		{args: "sim", wantErr: "sim: usage: sim ARGS…"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			c, b := newConsole(t, console.Options{})
			if tt.setup != nil {
				tt.setup(b)
			}
			var out bytes.Buffer
			err := c.Exec(context.Background(), strings.Fields(tt.args), &out)
			got := out.String()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Exec(%q) = %v; want nil", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Exec(%q) = %v; want an error containing %q", tt.args, err, tt.wantErr)
			}
			consoletest.WantInOrder(t, fmt.Sprintf("Exec(%q)", tt.args), got, tt.want...)
			if calls := b.CallList(); !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("Exec(%q) backend calls = %q; want %q", tt.args, calls, tt.wantCalls)
			}
		})
	}
}

func TestLaneIsAudited(t *testing.T) {
	c, _ := newConsole(t, console.Options{})
	var out bytes.Buffer
	if err := c.Exec(context.Background(), []string{"lane", "exit1", "open", "fire drill"}, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := c.Exec(context.Background(), []string{"log", "1"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "lane open  exit1: fire drill") {
		t.Errorf("log 1 after lane open = %q; want the audited open", out.String())
	}
	out.Reset()
	c.Exec(context.Background(), []string{"lanes"}, &out)
	if !strings.Contains(out.String(), "2  exit1   exit   open") {
		t.Errorf("lanes after open = %q; want exit1 open", out.String())
	}
}

func TestFormatFen(t *testing.T) {
	tests := []struct {
		fen  int64
		want string
	}{
		{0, "0.00"}, {5, "0.05"}, {10, "0.10"}, {99, "0.99"}, {100, "1.00"}, {1234, "12.34"},
		{-5, "-0.05"}, {-1234, "-12.34"}, {123456789, "1234567.89"},
		{9223372036854775807, "92233720368547758.07"}, {-9223372036854775808, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := console.FormatFen(tt.fen); got != tt.want {
			t.Errorf("FormatFen(%d) = %q; want %q", tt.fen, got, tt.want)
		}
	}
}

// TestOptionalRoles: a Backend without the update, sim or display role
// answers as a controller without updates, sim board or boards.
func TestOptionalRoles(t *testing.T) {
	tests := []struct {
		args    string
		want    string // the output
		wantErr string // the whole error
	}{
		{args: "update status", want: "updates are not configured\n"},
		{args: "update apply /x", wantErr: "update apply /x: updates are not configured on this controller"},
		{args: "sim plate entry1 京A12345", wantErr: "sim: this is not the sim board: sim commands drive simulated hardware only; use lane, loops and camera here"},
		{args: "display 1", wantErr: "display: entry1: the lane has no display board"},
		{args: "say 2 hello", wantErr: "say: exit1: the lane has no display board"},
		{args: "qr 2", wantErr: "qr: exit1: not available"},
		{args: "version", want: "v1.2.3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			b := consoletest.New(t0)
			roles := b.Roles()
			roles.Update, roles.Sim, roles.Display = nil, nil, nil
			c, _ := newConsole(t, console.Options{Backend: roles})
			var out bytes.Buffer
			err := c.Exec(context.Background(), strings.Fields(tt.args), &out)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if out.String() != tt.want || gotErr != tt.wantErr {
				t.Errorf("Exec(%q) = %q, %q; want %q, %q", tt.args, out.String(), gotErr, tt.want, tt.wantErr)
			}
			if calls := b.CallList(); len(calls) != 0 {
				t.Errorf("Exec(%q) backend calls = %q; want none", tt.args, calls)
			}
		})
	}
}

// TestNewWantsRequiredRoles: a Backend missing a required role is a
// wiring mistake New reports at once, not a nil call later.
func TestNewWantsRequiredRoles(t *testing.T) {
	full := consoletest.New(t0).Roles()
	for name, drop := range map[string]func(*console.Backend){
		"lanes":   func(b *console.Backend) { b.Lanes = nil },
		"records": func(b *console.Backend) { b.Records = nil },
		"queue":   func(b *console.Backend) { b.Queue = nil },
		"system":  func(b *console.Backend) { b.System = nil },
	} {
		t.Run(name, func(t *testing.T) {
			b := full
			drop(&b)
			defer func() {
				if recover() == nil {
					t.Errorf("New without %s did not panic", name)
				}
			}()
			console.New(console.Options{Backend: b})
		})
	}
}
