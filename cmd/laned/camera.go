package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"laned/appliance/config"
	"laned/board"
	"laned/hal"
	"laned/hal/camera"
)

// laneCamera returns the camera port (defaults applied) and template file
// of the named lane.
func laneCamera(cfg *config.Config, name string) (board.CameraPort, string, error) {
	hw := cfg.Board.WithDefaults().Lanes
	for i, l := range cfg.Lanes {
		if l.Name == name && i < len(hw) {
			return hw[i].Camera, l.Camera.Template, nil
		}
	}
	var names []string
	for _, l := range cfg.Lanes {
		names = append(names, l.Name)
	}
	return board.CameraPort{}, "", fmt.Errorf("no lane %q in %s (lanes: %s)", name, cfg.Path, strings.Join(names, ", "))
}

const cameraUsage = `usage:
  laned camera decode [--codec lane-frame|template] [--template FILE] < capture.bin
  laned camera listen --port /dev/ttyUSB0 [--baud 115200] [--codec …] [flags]
  laned camera listen -config /etc/laned/laned.conf -lane NAME [flags]
  laned camera push-test -url http://BOX:8081/camera/push/LANE -plate 京A12345 [-image FILE]

decode prints every frame of a byte capture and every rejected stretch of
bytes with its reason, one JSON object a line. listen does the same live on
a serial port, acknowledging frames as the controller would; stop it with
Ctrl-C. With -lane it takes the lane's camera wiring from the configuration
(port, line settings, codec, RS-485 mode and DE pin); with a DE pin (the
lane's or -de) it holds the transceiver in receive, raising DE only while
it writes an ACK. push-test sends one network camera push (臻识 JSON) and
prints the answer. Run 'laned camera SUBCOMMAND -h' for flags.
`

// runCamera is `laned camera`.
func runCamera(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return subcommand("camera", cameraUsage, args, stdout, stderr, map[string]func([]string) error{
		"decode":    func(args []string) error { return cameraDecode(args, stdin, stdout, stderr) },
		"listen":    func(args []string) error { return cameraListen(ctx, args, stdout, stderr, nil) },
		"push-test": func(args []string) error { return cameraPushTest(ctx, args, stdout, stderr) },
	})
}

// codecFlags are the flags choosing the codec, common to decode and listen.
type codecFlags struct {
	codec, template, zone string
}

func (c *codecFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.codec, "codec", "lane-frame", "frame codec: lane-frame or template")
	fs.StringVar(&c.template, "template", "", "template file for --codec template")
	fs.StringVar(&c.zone, "zone", "", "car park time zone for time14 fields (default: the template's zone, else "+camera.DefaultZone+")")
}

func (c *codecFlags) load() (camera.Codec, error) {
	var tmpl *camera.Template
	if c.template != "" {
		t, err := camera.LoadTemplate(c.template)
		if err != nil {
			return nil, err
		}
		if c.zone != "" {
			t.Location = camera.LoadZone(c.zone)
		}
		tmpl = t
	}
	if c.codec != "template" && c.template != "" {
		return nil, fmt.Errorf("camera: --template is only for --codec template: %w", camera.ErrConfig)
	}
	return camera.CodecByName(c.codec, tmpl)
}

// parseFlags parses args, reporting -h as done (nil error, ok false) and a
// bad flag as errUsage.
func parseFlags(fs *flag.FlagSet, args []string) (ok bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, nil
		}
		return false, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return false, errUsage
	}
	return true, nil
}

// frameLine is the JSON line of a decoded frame.
type frameLine struct {
	At         int64  `json:"at,omitempty"` // UNIX seconds received (listen)
	Camera     string `json:"camera,omitempty"`
	Offset     *int64 `json:"offset,omitempty"` // stream offset (decode)
	Kind       string `json:"kind"`
	Addr       int    `json:"addr"`
	Seq        *int   `json:"seq,omitempty"`
	Cmd        string `json:"cmd,omitempty"`
	AckSeq     *int   `json:"ack_seq,omitempty"`
	Plate      string `json:"plate,omitempty"`
	Colour     *int   `json:"colour,omitempty"`
	Conf       *int   `json:"conf,omitempty"`
	Trigger    string `json:"trigger,omitempty"`
	CameraTime int64  `json:"camera_time,omitempty"`
	Status     *int   `json:"status,omitempty"`
	Detail     string `json:"detail,omitempty"`
	Hex        string `json:"hex,omitempty"`
}

// rejectLine is the JSON line of a rejected stretch of bytes.
type rejectLine struct {
	At       int64  `json:"at,omitempty"`
	Offset   *int64 `json:"offset,omitempty"`
	Rejected string `json:"rejected"`
	Reason   string `json:"reason"`
}

func cmdName(c byte) string {
	switch c {
	case camera.CmdPlate:
		return "plate"
	case camera.CmdHeartbeat:
		return "heartbeat"
	case camera.CmdAck:
		return "ack"
	case camera.CmdTrigger:
		return "trigger"
	}
	return ""
}

func eventLine(ev hal.PlateEvent) frameLine {
	l := frameLine{Kind: ev.Kind.String(), Addr: ev.Addr, Plate: ev.Plate, Detail: ev.Detail}
	if !ev.CameraTime.IsZero() {
		l.CameraTime = ev.CameraTime.Unix()
	}
	switch ev.Kind {
	case hal.KindPlate, hal.KindNoPlate:
		l.Colour, l.Conf, l.Trigger = &ev.Colour, &ev.Conf, ev.Trigger.String()
	case hal.KindHeartbeat:
		l.Status = &ev.Status
	}
	return l
}

func resultLine(r camera.Result) any {
	off := r.Offset
	if r.Frame == nil {
		return rejectLine{Offset: &off, Rejected: hex.EncodeToString(r.Rejected), Reason: r.Reason}
	}
	f := r.Frame
	l := eventLine(f.Event)
	if f.Event.Kind == 0 {
		l.Kind = cmdName(f.Cmd)
	}
	l.Offset, l.Addr, l.Cmd, l.Hex = &off, f.Addr, cmdName(f.Cmd), hex.EncodeToString(f.Raw)
	if f.Seq >= 0 {
		l.Seq = &f.Seq
	}
	if f.AckSeq >= 0 {
		l.AckSeq = &f.AckSeq
	}
	return l
}

// lineWriter writes JSON lines from several goroutines.
type lineWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newLineWriter(w io.Writer) *lineWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &lineWriter{enc: enc}
}

func (w *lineWriter) put(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(v)
}

func cameraDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("laned camera decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf codecFlags
	cf.register(fs)
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	codec, err := cf.load()
	if err != nil {
		return err
	}
	if stdin == nil {
		return fmt.Errorf("camera decode: no input")
	}
	out := newLineWriter(stdout)
	dec := codec.NewDecoder()
	buf := make([]byte, 32*1024)
	var frames, rejected int
	emit := func(res []camera.Result) error {
		for _, r := range res {
			if r.Frame != nil {
				frames++
			} else {
				rejected++
			}
			if err := out.put(resultLine(r)); err != nil {
				return fmt.Errorf("camera decode: write: %w", err)
			}
		}
		return nil
	}
	for {
		n, rerr := stdin.Read(buf)
		if err := emit(dec.Feed(buf[:n], time.Time{})); err != nil {
			return err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("camera decode: read: %w", rerr)
		}
	}
	if err := emit(dec.Flush(time.Time{})); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d frames, %d rejected stretches\n", frames, rejected)
	return nil
}
