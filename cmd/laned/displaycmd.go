package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"laned/hal"
	"laned/hal/display"
)

const displayUsage = `usage:
  laned display send -port /dev/ttyUSB0 [-baud 9600] [-parity none] [-addr 100] [-line 1] [-secs 0] [-colour red] [-say] [-volume N] TEXT
  laned display decode [-family aa55] < capture.bin

send shows TEXT on one line of a board (and with -say speaks it), without
a configuration: a bench test with a USB RS-485 adapter. decode prints
every frame of a byte capture (what a controller wrote, what a board
answered) as one JSON object a line, the command read back.
`

func runDisplay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return subcommand("display", displayUsage, args, stdout, stderr, map[string]func([]string) error{
		"send":   func(args []string) error { return displaySend(ctx, args, stdout, stderr) },
		"decode": func(args []string) error { return displayDecode(args, stdin, stdout, stderr) },
	})
}

func displaySend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("display send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.String("port", "", "serial device of the board (required)")
	baud := fs.Int("baud", 9600, "baud rate")
	parity := fs.String("parity", "none", "none, odd or even")
	family := fs.String("family", "aa55", "board family")
	addr := fs.Int("addr", 100, "the board's address")
	line := fs.Int("line", 1, "line 1–4")
	secs := fs.Int("secs", 0, "seconds to show (0: until replaced)")
	colour := fs.String("colour", "red", "red, green or yellow")
	say := fs.Bool("say", false, "also speak TEXT (voice table of the spec, the rest as text)")
	volume := fs.Int("volume", -1, "set the volume 0–9 first")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return errUsage
	}
	text := strings.Join(fs.Args(), " ")
	if *port == "" || text == "" {
		fmt.Fprintln(stderr, "laned display send: -port and TEXT are required")
		fs.Usage()
		return errUsage
	}
	c := map[string]hal.DisplayColour{"red": hal.DisplayRed, "green": hal.DisplayGreen, "yellow": hal.DisplayYellow}
	col, ok := c[*colour]
	if !ok {
		return fmt.Errorf("display send: colour %q (want red, green or yellow)", *colour)
	}
	codec, err := display.CodecByName(*family)
	if err != nil {
		return err
	}
	p, err := display.OpenPort(display.PortConfig{Path: *port, Baud: *baud, Parity: *parity, MustOpen: true})
	if err != nil {
		return err
	}
	defer p.Close()
	rec := &frameRecorder{Link: p}
	b, err := display.NewBoard(display.Config{Name: "bench", Codec: codec, Addr: *addr, Link: rec})
	if err != nil {
		return err
	}
	p.Listen(b)
	if *volume >= 0 {
		if err := b.SetVolume(ctx, *volume); err != nil {
			return err
		}
	}
	if err := b.Show(ctx, *line, text, *secs, col); err != nil {
		return err
	}
	if *say {
		if err := b.Say(ctx, display.DefaultVoices().Phrases(text)...); err != nil {
			return err
		}
	}
	for _, f := range rec.frames {
		fmt.Fprintf(stdout, "sent % X\n", f)
	}
	// A board that answers does so at once; many never do.
	time.Sleep(200 * time.Millisecond)
	st := b.Status()
	fmt.Fprintf(stdout, "answers %d, garbled %d\n", st.Answers, st.Garbled)
	return nil
}

// frameRecorder keeps the frames a bench command wrote, to print them.
type frameRecorder struct {
	display.Link
	frames [][]byte
}

func (r *frameRecorder) Write(ctx context.Context, f []byte) error {
	r.frames = append(r.frames, append([]byte(nil), f...))
	return r.Link.Write(ctx, f)
}

// displayFrameLine is the JSON line of a decoded display frame.
type displayFrameLine struct {
	Seq     int      `json:"seq"`
	Addr    int      `json:"addr"`
	Cmd     string   `json:"cmd"`
	Op      string   `json:"op,omitempty"`
	Line    int      `json:"line,omitempty"`
	Seconds int      `json:"seconds,omitempty"`
	Colour  string   `json:"colour,omitempty"`
	Text    string   `json:"text,omitempty"`
	Lines   []int    `json:"lines,omitempty"`
	Voice   []string `json:"voice,omitempty"`
	Volume  *int     `json:"volume,omitempty"`
	Time    string   `json:"time,omitempty"`
	Error   string   `json:"error,omitempty"`
	Hex     string   `json:"hex"`
}

func displayDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("display decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	family := fs.String("family", "aa55", "board family")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	codec, err := display.CodecByName(*family)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(stdin, 64<<20))
	if err != nil {
		return err
	}
	dec := codec.NewDecoder()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	voices := display.DefaultVoices()
	emit := func(res []display.Result) error {
		for _, r := range res {
			if r.Frame == nil {
				if err := enc.Encode(rejectLine{Rejected: hex.EncodeToString(r.Rejected), Reason: r.Reason}); err != nil {
					return err
				}
				continue
			}
			f := r.Frame
			l := displayFrameLine{Seq: int(f.Seq), Addr: f.Addr, Cmd: fmt.Sprintf("%02X", f.Cmd), Hex: hex.EncodeToString(f.Raw)}
			c, err := codec.Parse(f)
			if err != nil {
				l.Error = err.Error()
			} else {
				l.Op = c.Op.String()
				switch c.Op {
				case display.OpShow, display.OpIdle:
					l.Line, l.Seconds, l.Colour, l.Text = c.Line, c.Seconds, c.Colour.String(), c.Text
				case display.OpCancel:
					l.Lines = c.Lines
				case display.OpSay:
					for _, p := range c.Speech {
						if p.Indexed {
							l.Voice = append(l.Voice, fmt.Sprintf("#%02X %s", p.Index, voices.Said([]hal.Phrase{p})))
						} else {
							l.Voice = append(l.Voice, p.Text)
						}
					}
				case display.OpVolume:
					l.Volume = &c.Volume
				case display.OpClock:
					l.Time = c.Time.Format("2006-01-02 15:04:05")
				}
			}
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	if err := emit(dec.Feed(data)); err != nil {
		return err
	}
	return emit(dec.Flush())
}
