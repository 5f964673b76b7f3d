package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"laned/hal/clock"
)

// Options configure a Console.
type Options struct {
	Backend Backend      // its required roles must not be nil
	Logger  *slog.Logger // nil: discard
	// PIN, if not nil, is asked before the first command (the serial
	// console); nil for the root-only socket.
	PIN   *PINCheck
	Clock clock.Clock // nil: the real clock
	// Location is the car park's zone, for showing times; nil: UTC.
	Location *time.Location
	Prompt   string // default "laned> "
	Name     string // the session's name in the greeting and logs: "serial ttyS0"
	// Echo echoes what is typed: on for a serial terminal, which does not
	// echo locally; off for the socket client, whose terminal does.
	Echo bool
	// IdleTimeout ends a session with no input for that long; 0: never.
	IdleTimeout time.Duration
}

// Console is the command engine. One Console serves any number of
// sessions, one after the other or at once; they share its PIN lock-out.
type Console struct {
	b      Backend
	log    *slog.Logger
	pin    *PINCheck
	clk    clock.Clock
	loc    *time.Location
	prompt string
	name   string
	echo   bool
	idle   time.Duration
}

// New returns a Console over opts.Backend, whose required roles must
// not be nil.
func New(opts Options) *Console {
	if b := opts.Backend; b.Lanes == nil || b.Records == nil || b.Queue == nil || b.System == nil {
		panic("console: New without a Backend's lanes, records, queue and system")
	}
	c := &Console{
		b: opts.Backend, log: opts.Logger, pin: opts.PIN, clk: clock.Or(opts.Clock),
		loc: opts.Location, prompt: opts.Prompt, name: opts.Name, echo: opts.Echo, idle: opts.IdleTimeout,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.loc == nil {
		c.loc = time.UTC
	}
	if c.prompt == "" {
		c.prompt = "laned> "
	}
	if c.name == "" {
		c.name = "console"
	}
	return c
}

// errExit ends a session from a command.
var errExit = errors.New("exit")

type readResult struct {
	data []byte
	err  error
}

// Serve runs one session on rw: the greeting, the PIN if one is required,
// then commands until Ctrl-D on an empty line, "exit", the idle timeout,
// the end of input or ctx. It returns nil when the session ended by
// itself, ctx.Err() when ctx ended it, or the read or write error.
//
// Serve reads rw in a goroutine of its own; when Serve returns before the
// input ended, that read is still outstanding, so the caller closes rw (a
// connection, a serial port) afterwards or stops using it.
func (c *Console) Serve(ctx context.Context, rw io.ReadWriter) error {
	in := make(chan readResult)
	done := make(chan struct{})
	defer close(done)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := rw.Read(buf)
			if n == 0 && err == nil {
				continue // a serial read timeout
			}
			r := readResult{data: bytes.Clone(buf[:n]), err: err}
			select {
			case in <- r:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	s := &session{c: c, w: rw, ed: newLineEditor(MaxLine, c.echo), authed: c.pin == nil}
	var idleC <-chan time.Time
	if c.idle > 0 {
		t := c.clk.NewTimer(c.idle)
		defer t.Stop()
		idleC = t.C()
		s.idle = t
	}
	c.log.Info("console session start", "session", c.name)
	err := s.run(ctx, in, idleC)
	c.log.Info("console session end", "session", c.name, "err", err)
	return err
}

type session struct {
	c      *Console
	w      io.Writer
	ed     *lineEditor
	authed bool
	idle   clock.Timer
	out    bytes.Buffer
	// noiseAt is the monotonic reading of the last line noise; noisy
	// says there was any.
	noiseAt time.Duration
	noisy   bool
}

// noiseQuiet is how long the line must have been free of noise for a
// Ctrl-D to end the session: a burst of noise holds 0x04 bytes too.
const noiseQuiet = 2 * time.Second

// flush writes s.out with CRLF line ends.
func (s *session) flush() error {
	if s.out.Len() == 0 {
		return nil
	}
	b := crlf(s.out.Bytes())
	s.out.Reset()
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("console: write: %w", err)
	}
	return nil
}

// crlf turns lone LFs into CRLF.
func crlf(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte{'\n'}))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func (s *session) greet() {
	fmt.Fprintf(&s.out, "\nlaned technician console (%s), version %s\n", s.c.name, s.c.b.System.Version())
	if s.authed {
		s.out.WriteString("type help for the commands, Ctrl-D or exit to leave\n")
	}
}

func (s *session) promptLine() {
	if s.authed {
		s.ed.mask = false
		s.out.WriteString(s.c.prompt)
	} else {
		s.ed.mask = true
		s.out.WriteString("PIN: ")
	}
}

func (s *session) run(ctx context.Context, in <-chan readResult, idleC <-chan time.Time) error {
	s.greet()
	s.promptLine()
	if err := s.flush(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			s.out.WriteString("\nlaned is stopping: console closed\n")
			s.flush()
			return ctx.Err()
		case <-idleC:
			fmt.Fprintf(&s.out, "\nidle for %s: session closed\n", s.c.idle)
			return s.flush()
		case r := <-in:
			if s.idle != nil {
				s.idle.Reset(s.c.idle)
			}
			for i, b := range r.data {
				end, err := s.feed(ctx, b, i == len(r.data)-1)
				if err != nil || end {
					return err
				}
			}
			if err := s.flush(); err != nil {
				return err
			}
			if r.err != nil {
				if errors.Is(r.err, io.EOF) {
					return nil
				}
				return fmt.Errorf("console: read: %w", r.err)
			}
		}
	}
}

// feed handles one input byte, last when it ended its read; end reports
// that the session is over.
func (s *session) feed(ctx context.Context, b byte, last bool) (end bool, err error) {
	ev, line := s.ed.feed(b)
	s.out.Write(s.ed.takeEcho())
	if s.ed.junk {
		s.noiseAt, s.noisy = s.c.clk.Mono(), true
	}
	switch ev {
	case evNone:
		return false, nil
	case evEOF:
		// A person's Ctrl-D arrives alone, on a quiet line; one amid
		// other bytes or soon after noise is noise.
		if !last || s.noisy && s.c.clk.Mono()-s.noiseAt < noiseQuiet {
			s.noiseAt, s.noisy = s.c.clk.Mono(), true
			return false, nil
		}
		s.out.WriteString("\nbye\n")
		return true, s.flush()
	case evCancel:
	case evTooLong:
		fmt.Fprintf(&s.out, "line too long (over %d bytes): nothing done; type a shorter line\n", MaxLine)
	case evLine:
		if s.ed.noisyLine {
			// Noise is neither a PIN try nor a command.
			s.noiseAt, s.noisy = s.c.clk.Mono(), true
			if s.authed {
				s.out.WriteString("line had control or undecodable bytes: ignored\n")
			}
			break
		}
		if !s.authed {
			if strings.TrimSpace(line) != "" { // an empty line is not a try
				s.checkPIN(line)
			}
			break
		}
		if err := s.flush(); err != nil { // the echo first
			return true, err
		}
		if s.exec(ctx, line) {
			s.out.WriteString("bye\n")
			return true, s.flush()
		}
	}
	s.promptLine()
	return false, s.flush()
}

func (s *session) checkPIN(pin string) {
	err := s.c.pin.Verify(pin, s.c.clk.Mono())
	var le *LockedError
	switch {
	case err == nil:
		s.authed = true
		s.c.log.Info("console pin accepted", "session", s.c.name)
		s.out.WriteString("PIN accepted; type help for the commands, Ctrl-D or exit to leave\n")
	case errors.As(err, &le):
		s.c.log.Warn("console locked", "session", s.c.name, "remaining", le.Remaining)
		s.out.WriteString(err.Error() + "\n")
	default:
		left := s.c.pin.max - s.c.pin.Failures()
		s.c.log.Warn("console wrong pin", "session", s.c.name, "tries_left", left)
		fmt.Fprintf(&s.out, "wrong PIN: %d tries left before a %s lock; the PIN is 4 to 12 digits, then Enter\n",
			left, s.c.pin.NextLock())
	}
}

// exec runs one command line into s.out; it reports whether the session
// should end.
func (s *session) exec(ctx context.Context, line string) (exit bool) {
	args, err := tokenize(line)
	if err == nil && len(args) == 0 {
		return false
	}
	if err == nil {
		err = s.c.Exec(ctx, args, &s.out)
	}
	if errors.Is(err, errExit) {
		return true
	}
	if err != nil {
		s.out.WriteString(err.Error() + "\n")
	}
	return false
}

// Exec runs one command, already split into words, writing its output
// (LF line ends) to w. The error is the message for the technician: what
// was wrong and how to do it right. "exit" returns an error Serve ends
// the session on.
func (c *Console) Exec(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return nil
	}
	name := strings.ToLower(args[0])
	cmd, ok := commandIndex[name]
	if !ok {
		c.log.Info("console command", "session", c.name, "command", "(unknown)")
		return fmt.Errorf("unknown command %q; type help", args[0])
	}
	c.log.Info("console command", "session", c.name, "command", cmd.name)
	return cmd.run(ctx, c, w, args[1:])
}
