package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"laned/board"
	"laned/hal"
	"laned/hal/camera"
)

// laneCamera returns the camera port (defaults applied) and template file
// of the named lane.
func laneCamera(cfg *Config, name string) (board.CameraPort, string, error) {
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

func init() {
	register("camera", "field tools for the cameras: decode an RS-485 capture, listen live, push-test a network camera path", runCamera)
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
	if len(args) == 0 {
		fmt.Fprint(stderr, cameraUsage)
		return errUsage
	}
	switch args[0] {
	case "decode":
		return cameraDecode(args[1:], stdin, stdout, stderr)
	case "listen":
		return cameraListen(ctx, args[1:], stdout, stderr, nil)
	case "push-test":
		return cameraPushTest(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, cameraUsage)
		return nil
	}
	fmt.Fprintf(stderr, "laned camera: unknown subcommand %q\n", args[0])
	fmt.Fprint(stderr, cameraUsage)
	return errUsage
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

// cameraListen is `laned camera listen`. pins, when set, replaces the
// board's pin source for the DE pin (tests).
func cameraListen(ctx context.Context, args []string, stdout, stderr io.Writer, pins board.PinSource) error {
	fs := flag.NewFlagSet("laned camera listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf codecFlags
	cf.register(fs)
	path := fs.String("port", "", "serial device, e.g. /dev/ttyUSB0 (required)")
	baud := fs.Int("baud", 115200, "baud rate")
	dataBits := fs.Int("databits", 8, "data bits: 7 or 8")
	parity := fs.String("parity", "none", "parity: none, odd or even")
	stopBits := fs.Int("stopbits", 1, "stop bits: 1 or 2")
	addr := fs.Int("addr", 0, "camera address to listen to and trigger (0: any, trigger broadcast)")
	rs485 := fs.String("rs485", "auto", "RS-485 direction control: auto (transceiver), kernel (TIOCSRS485) or gpio (with a DE pin)")
	config := fs.String("config", "", "configuration file: with -lane, the lane's camera wiring; with -de, the board profile")
	laneName := fs.String("lane", "", "take port, line settings, codec, RS-485 mode and DE pin from this lane of -config")
	de := fs.String("de", "", "RS-485 driver-enable pin (e.g. GPIO4), held low (receive) except while writing; \"none\" for none")
	profile := fs.String("profile", "", "board profile naming -de without -config: rpi3, rpi4, rpi5 or gpiochip")
	chip := fs.String("chip", "", "GPIO chip for -profile gpiochip (or rpi5)")
	heartbeat := fs.Duration("heartbeat", 0, "camera heartbeat period (default 10s for lane-frame; offline after 3 missed)")
	trigger := fs.Bool("trigger", false, "send one TRIGGER after opening the port")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var bc board.Config
	if *laneName != "" && *config == "" {
		fmt.Fprintln(stderr, "laned camera listen: -lane needs -config")
		return errUsage
	}
	if *config != "" {
		cfg, err := loadConfigErr(*config)
		if err != nil {
			return err
		}
		lock, err := refuseWhileRunning(cfg, "camera listen")
		if err != nil {
			return err
		}
		defer lock.release()
		bc = cfg.Board
		if *laneName != "" {
			port, tmpl, err := laneCamera(cfg, *laneName)
			if err != nil {
				return err
			}
			fromLane := map[string]func(){
				"port": func() { *path = port.Path }, "baud": func() { *baud = port.Baud },
				"parity": func() { *parity = port.Parity }, "addr": func() { *addr = port.Addr },
				"codec": func() { cf.codec = port.Codec }, "template": func() { cf.template = tmpl },
				"rs485": func() { *rs485 = port.RS485 }, "de": func() { *de = port.DEPin },
			}
			for name, take := range fromLane {
				if !set[name] {
					take()
				}
			}
		}
	} else {
		bc = board.Config{Profile: *profile, Chip: *chip}
	}
	if *path == "" {
		fmt.Fprintln(stderr, "laned camera listen: --port (or -config with -lane) is required")
		fs.Usage()
		return errUsage
	}
	codec, err := cf.load()
	if err != nil {
		return err
	}
	par, err := camera.ParseParity(*parity)
	if err != nil {
		return err
	}
	mode, err := camera.ParseRS485Mode(*rs485)
	if err != nil {
		return err
	}
	var dePin camera.DriverEnable
	if mode != camera.RS485Kernel && *de != "" && *de != board.None {
		if bc.Profile == "" {
			return fmt.Errorf("camera listen: -de %s needs the board: -config FILE or -profile: %w", *de, camera.ErrConfig)
		}
		bc.Pins = pins
		p, err := bc.PinSource()
		if err != nil {
			return fmt.Errorf("camera listen: -de %s: %w", *de, err)
		}
		pin, err := p.Pin(*de)
		if err != nil {
			return fmt.Errorf("camera listen: -de %s: %w", *de, err)
		}
		dePin, mode = dePinOut{pin}, camera.RS485GPIO
	}
	if mode == camera.RS485GPIO && dePin == nil {
		return fmt.Errorf("camera listen: --rs485 gpio needs a DE pin (-de PIN or -lane): %w", camera.ErrConfig)
	}
	out := newLineWriter(stdout)
	cfg := camera.Config{BusConfig: camera.BusConfig{
		Name: *path, Path: *path, Baud: *baud, DataBits: *dataBits, Parity: par, StopBits: *stopBits,
		Codec: codec, RS485: mode, DE: dePin, MustOpen: true,
		Logger: slog.New(slog.NewTextHandler(stderr, nil)),
		OnReject: func(r camera.Result) {
			out.put(rejectLine{At: r.At.Unix(), Rejected: hex.EncodeToString(r.Rejected), Reason: r.Reason})
		},
	}, Addr: *addr, HeartbeatPeriod: *heartbeat}
	p, err := camera.Open(ctx, cfg)
	if err != nil {
		return err
	}
	dir := "RS-485 " + mode.String()
	if dePin != nil {
		dir += ", DE " + *de + " held low (receive) except while writing"
	}
	fmt.Fprintf(stderr, "listening on %s at %d baud, codec %s, %s; Ctrl-C to stop\n", *path, *baud, codec.Name(), dir)
	if *trigger {
		if err := p.Trigger(ctx); err != nil {
			fmt.Fprintf(stderr, "trigger: %v\n", err)
		}
	}
	var werr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case ev, ok := <-p.Events():
			if !ok {
				break loop
			}
			l := eventLine(ev)
			l.At, l.Camera = ev.At.Unix(), ev.Camera
			if err := out.put(l); err != nil {
				werr = fmt.Errorf("camera listen: write: %w", err)
				break loop
			}
		}
	}
	p.Halt()
	st := p.Stats()
	fmt.Fprintf(stderr, "%d frames, %d rejected, %d duplicates, %d foreign, %d dropped, %d reopens\n",
		st.Frames, st.Rejected, st.Duplicates, st.Foreign, st.Dropped, st.Reopens)
	return werr
}
