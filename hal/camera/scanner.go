package camera

import (
	"bytes"
	"time"
)

// framer is what a codec tells the shared frame scanner about its
// frames once a candidate starts: how long it is and what it says. The
// scanner owns the search for the start marker, the buffer, the stream
// offsets and the rejected stretches, so that both codecs resynchronise
// after garbage the same way.
type framer interface {
	// measure looks at the candidate at the start of b (stream offset
	// off) and returns its length n when b holds all of it (reason "");
	// or why it cannot be a frame, with the n bytes it considered; or
	// n 0 and reason "" when the candidate needs more bytes.
	measure(b []byte, off int64) (n int, reason string)
	// parse decodes a complete candidate.
	parse(frame []byte) (*Frame, error)
}

// scanner is the streaming Decoder both codecs share: it buffers what is
// fed, finds candidates by their start marker, asks its framer about
// them, reports frames and rejected stretches in stream order, and keeps
// only an incomplete candidate.
type scanner struct {
	f framer
	// mark starts every frame (STX, a template's header); nil when
	// frames follow each other with no marker.
	mark []byte
	// dropWhole says that a candidate whose framing held but which
	// failed in parse is dropped whole, not resynchronised inside.
	dropWhole bool
	// maxCap bounds the buffer's capacity kept between scans.
	maxCap int

	buf  []byte // unconsumed bytes; buf[0] is at stream offset base
	base int64
	rej  rejecter
}

func (s *scanner) Pending() int { return len(s.buf) + len(s.rej.buf) }

func (s *scanner) Feed(p []byte, at time.Time) []Result {
	s.buf = append(s.buf, p...)
	s.scan(at, false)
	return s.rej.take()
}

func (s *scanner) Flush(at time.Time) []Result {
	s.scan(at, true)
	s.rej.emit(at)
	return s.rej.take()
}

// resync is how many bytes of a failed candidate of n bytes to drop: one
// when a marker starts frames (the search resumes at the next byte), else
// the whole candidate.
func (s *scanner) resync(n int) int {
	if len(s.mark) > 0 {
		return 1
	}
	return max(n, 1)
}

func (s *scanner) scan(at time.Time, flush bool) {
	i := 0
	defer func() {
		// Keep only the incomplete candidate; never let buf grow past
		// one maximal frame plus what the last Feed brought.
		n := copy(s.buf, s.buf[i:])
		s.buf = s.buf[:n]
		s.base += int64(i)
		if cap(s.buf) > s.maxCap {
			s.buf = append([]byte(nil), s.buf...)
		}
	}()
	for i < len(s.buf) {
		off := s.base + int64(i)
		if len(s.mark) > 0 {
			var j int
			if len(s.mark) == 1 {
				j = bytes.IndexByte(s.buf[i:], s.mark[0]) // STX: spare a flood the call through Index
			} else {
				j = bytes.Index(s.buf[i:], s.mark)
			}
			if j < 0 {
				keep := 0
				if !flush {
					keep = partialSuffix(s.buf[i:], s.mark)
				}
				s.rej.drop(s.buf[i:len(s.buf)-keep], off, reasonGarbage, at)
				i = len(s.buf) - keep
				return
			}
			if j > 0 {
				s.rej.drop(s.buf[i:i+j], off, reasonGarbage, at)
				i += j
				off += int64(j)
			}
		}
		rest := s.buf[i:]
		n, reason := s.f.measure(rest, off)
		if reason == "" && n == 0 {
			if !flush {
				return
			}
			n, reason = len(rest), reasonIncomplete
		}
		if reason != "" {
			c := s.resync(n)
			s.rej.drop(rest[:c], off, reason, at)
			i += c
			continue
		}
		f, err := s.f.parse(rest[:n])
		if err != nil {
			c := n
			if !s.dropWhole {
				c = s.resync(n)
			}
			s.rej.drop(rest[:c], off, err.Error(), at)
			i += c
			continue
		}
		f.Event.At = at
		s.rej.frame(f, off, at)
		i += n
	}
}

// partialSuffix is the length of the longest proper suffix of b that is a
// prefix of mark: the start of a marker torn across two reads.
func partialSuffix(b, mark []byte) int {
	for n := min(len(b), len(mark)-1); n > 0; n-- {
		if bytes.HasPrefix(mark, b[len(b)-n:]) {
			return n
		}
	}
	return 0
}

// rejecter accumulates dropped bytes into stretches, so that a run of
// garbage is reported once with the reason that started it.
type rejecter struct {
	buf    []byte
	reason string
	off    int64
	out    []Result
	// fullEnd and fullReason are where and why the last stretch ended
	// because it was full: the garbage right after it continues that
	// reason, so a long flood stays one reason in 256-byte pieces.
	fullEnd    int64
	fullReason string
}

// drop records p (at stream offset off) as rejected for reason. A
// "garbage" drop, or one for the reason of the stretch in progress,
// continues that stretch (a flood of false starts is one stretch per 256
// bytes, not one per byte); any other reason starts a new one.
func (r *rejecter) drop(p []byte, off int64, reason string, at time.Time) {
	if n := len(r.buf); n > 0 && n+len(p) < maxRejectSpan && r.off+int64(n) == off && (reason == reasonGarbage || reason == r.reason) {
		r.buf = append(r.buf, p...) // the common case of a flood: extend the stretch
		return
	}
	r.dropSlow(p, off, reason, at)
}

func (r *rejecter) dropSlow(p []byte, off int64, reason string, at time.Time) {
	if len(p) == 0 {
		return
	}
	contiguous := len(r.buf) > 0 && r.off+int64(len(r.buf)) == off
	if len(r.buf) > 0 && (!contiguous || (reason != reasonGarbage && reason != r.reason)) {
		r.emit(at)
	}
	if len(r.buf) > 0 {
		reason = r.reason // garbage continues the stretch in progress
	} else if reason == reasonGarbage && off == r.fullEnd && r.fullReason != "" {
		reason = r.fullReason
	}
	for len(p) > 0 {
		if len(r.buf) == 0 {
			r.off, r.reason = off, reason
		}
		n := min(len(p), maxRejectSpan-len(r.buf))
		if r.buf == nil {
			r.buf = make([]byte, 0, maxRejectSpan)
		}
		r.buf = append(r.buf, p[:n]...)
		p, off = p[n:], off+int64(n)
		if len(r.buf) == maxRejectSpan {
			r.fullEnd, r.fullReason = off, r.reason
			r.emit(at)
		}
	}
}

func (r *rejecter) emit(at time.Time) {
	if len(r.buf) == 0 {
		return
	}
	if r.off+int64(len(r.buf)) != r.fullEnd {
		r.fullReason = ""
	}
	r.out = append(r.out, Result{Rejected: r.buf, Reason: r.reason, Offset: r.off, At: at})
	r.buf = nil
}

// frame reports a valid frame after any rejected stretch before it.
func (r *rejecter) frame(f *Frame, off int64, at time.Time) {
	r.emit(at)
	r.out = append(r.out, Result{Frame: f, Offset: off, At: at})
}

// take returns the results so far.
func (r *rejecter) take() []Result {
	out := r.out
	r.out = nil
	return out
}

const reasonGarbage = "garbage"
