package cmbsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"laned/cmb"
)

// APIPrefix is where the uplinks are served: APIPrefix + "Indata" and so on.
const APIPrefix = "/api/"

// malformedBody is what a Malformed fault answers: an envelope cut short.
const malformedBody = `{"status":0,"message":"succ`

// Handler returns the simulator's HTTP handler: the uplinks under /api/ and
// the admin API under /_sim/.
func (s *Sim) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc(APIPrefix, s.serveAPI)
	m.HandleFunc(PostPath, s.serveAPI)
	m.Handle(AdminPrefix, s.adminMux())
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, cmb.Envelope{Status: cmb.StatusNotFound, Message: "unknown path " + r.URL.Path + " (uplinks are under /api/, the admin API under /_sim/)"})
	})
	return m
}

// answer is what processing an uplink produced.
type answer struct {
	status  int
	message string
	data    any // marshalled as the envelope's data; nil = absent
	wait    time.Duration
	notice  *notice // a pay notice the bank sends the lane around this answer
}

func refuse(status int, format string, args ...any) answer {
	return answer{status: status, message: cleanText(fmt.Sprintf(format, args...))}
}

// cleanText makes a message that echoes received text safe to answer and
// log: valid UTF-8 without control characters.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, APIPrefix)
	if r.URL.Path == PostPath {
		name = cmb.EpAutoPay
	}
	ep := ""
	for _, e := range cmb.Uplinks {
		if e == name {
			ep = e
		}
	}
	if ep == "" {
		writeEnvelope(w, cmb.Envelope{Status: cmb.StatusNotFound, Message: "unknown uplink " + name})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeEnvelope(w, cmb.Envelope{Status: cmb.StatusMethod, Message: "uplinks are POST forms"})
		return
	}

	// Read the form before anything else, so that every request is
	// recorded with what it carried.
	var params url.Values
	var parseErr error
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		parseErr = err
	}
	params = r.PostForm

	s.mu.Lock()
	fault := s.takeFaultLocked(ep)
	s.seq++
	u := Uplink{
		Seq:          s.seq,
		Time:         s.now().Unix(),
		Endpoint:     ep,
		Path:         r.URL.Path,
		Params:       flatten(params),
		Plate:        params.Get("vpl_number"),
		RecordID:     params.Get("record_id"),
		RequestOrder: params.Get("request_order"),
		Outcome:      OutcomeAnswered,
	}
	if !fault.isZero() {
		u.Fault = fault.String()
	}
	var a answer
	switch {
	case fault.Down:
		a = refuse(http.StatusServiceUnavailable, "service unavailable (fault)")
		u.Outcome = OutcomeDown
	case parseErr != nil:
		var mbe *http.MaxBytesError
		if errors.As(parseErr, &mbe) {
			a = refuse(cmb.StatusTooLarge, "body above %d bytes", s.maxBody)
		} else {
			a = refuse(cmb.StatusMalformed, "not a form body: %v", parseErr)
		}
	case fault.Status != cmb.StatusOK:
		msg := fault.Message
		if msg == "" {
			msg = "refused (fault)"
		}
		a = answer{status: fault.Status, message: cleanText(msg)}
	default:
		a = s.processLocked(ep, params, u.Seq)
		if ep == cmb.EpAutoPay {
			s.checkPostURLLocked(u)
		}
	}
	fault.Delay += a.wait
	var held chan struct{}
	if fault.Hold {
		held = s.heldLocked()
	}
	u.Status, u.Message = a.status, a.message
	// Record the outcome a fault will give before the answer goes, so
	// that a client that saw the cut finds it recorded as cut.
	switch {
	case fault.Down:
	case fault.Cut && fault.Status == cmb.StatusOK:
		u.Outcome = OutcomeCut
	case fault.Malformed && fault.Status == cmb.StatusOK:
		u.Outcome = OutcomeMalformed
	}
	s.received = appendBounded(s.received, u, s.maxKept)
	s.mu.Unlock()

	body, err := encodeAnswer(a)
	if err != nil { // a bug: our own data does not marshal
		body, _ = encodeAnswer(refuse(cmb.StatusInternal, "encode answer: %v", err))
	}

	if a.notice != nil && a.notice.timing == NoticeBefore {
		s.sendNotice(r.Context(), a.notice)
	}
	outcome := s.deliver(w, r, fault, held, body)
	if a.notice != nil && a.notice.timing == NoticeAfter && outcome == OutcomeAnswered {
		flush(w)
		s.sendNotice(context.WithoutCancel(r.Context()), a.notice)
	}
	if outcome != u.Outcome {
		s.mu.Lock()
		for i := len(s.received) - 1; i >= 0; i-- {
			if s.received[i].Seq == u.Seq {
				s.received[i].Outcome = outcome
				break
			}
		}
		s.mu.Unlock()
	}
	s.log.Info("uplink", "seq", u.Seq, "endpoint", ep, "plate", u.Plate, "record_id", u.RecordID,
		"request_order", u.RequestOrder, "status", a.status, "message", a.message, "outcome", outcome, "fault", u.Fault)
}

// deliver writes the answer as the fault says and reports the outcome.
func (s *Sim) deliver(w http.ResponseWriter, r *http.Request, f Fault, held <-chan struct{}, body []byte) string {
	if held != nil {
		select {
		case <-held:
		case <-r.Context().Done():
			return OutcomeGone
		case <-s.done:
		}
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return OutcomeGone
		case <-s.done:
			t.Stop()
		}
	}
	switch {
	case f.Down:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("service unavailable\n"))
		return OutcomeDown
	case f.Cut && f.Status == cmb.StatusOK:
		rc := http.NewResponseController(w)
		conn, _, err := rc.Hijack()
		if err != nil {
			// HTTP/2 or a recorder: abort the handler, which resets the
			// stream without an answer.
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
		return OutcomeCut
	case f.Malformed && f.Status == cmb.StatusOK:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(malformedBody))
		return OutcomeMalformed
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return OutcomeAnswered
}

func encodeAnswer(a answer) ([]byte, error) {
	env := cmb.Envelope{Status: a.status, Message: a.message}
	if env.Message == "" && a.status == 0 {
		env.Message = "success"
	}
	if a.data != nil {
		b, err := json.Marshal(a.data)
		if err != nil {
			return nil, err
		}
		env.Data = b
	}
	return json.Marshal(env)
}

func writeEnvelope(w http.ResponseWriter, env cmb.Envelope) {
	b, _ := json.Marshal(env) // an Envelope always marshals
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// maxRecordedValue bounds a recorded parameter (a picture is abbreviated).
const maxRecordedValue = 256

func flatten(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) == 0 {
			continue
		}
		val := vs[0]
		if k == "pic_con" && len(val) > maxRecordedValue { // a picture: keep its head only
			val = fmt.Sprintf("%s…(%d bytes)", val[:64], len(val))
		}
		m[k] = val
	}
	return m
}

// appendBounded appends v and drops the oldest entries beyond max.
func appendBounded[T any](list []T, v T, max int) []T {
	list = append(list, v)
	if over := len(list) - max; over > 0 {
		list = append(list[:0], list[over:]...)
	}
	return list
}
