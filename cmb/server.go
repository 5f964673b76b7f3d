package cmb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
)

// Handler serves the five downlinks, one typed method each. It is called
// only for a POSTed form whose appid, sign and park_code were checked and
// whose fields decoded. To answer a non-zero status, return an
// *AnswerError; with calc, return the answer too when it carries data
// (status 2 "no order" with data.vpl_number). Any other error answers
// StatusInternal without its text.
type Handler interface {
	Calc(ctx context.Context, r CalcRequest) (CalcAnswer, error)
	Pay(ctx context.Context, r PayRequest) error
	AutoPayBind(ctx context.Context, r AutoPayBindRequest) error
	AutoPayUnbind(ctx context.Context, r AutoPayUnbindRequest) error
	NoVpln(ctx context.Context, r NoVplnRequest) (NoVplnAnswer, error)
}

// DefaultMaxBody is the default limit of a callback's body.
const DefaultMaxBody = 64 << 10

// ServerConfig configures a Server.
type ServerConfig struct {
	AppID    string
	Secret   string // never logged
	ParkCode int64  // callbacks for another park_code are refused
	// Prefix is the path before "cmbParking/", e.g. "/" or "/a/b/" (§6.10);
	// "" means "/".
	Prefix  string
	MaxBody int64 // 0 means DefaultMaxBody
	Logger  *slog.Logger
	// OnRefused, if set, is called for every refused callback (for the
	// audit log), synchronously before the answer is written: keep it
	// quick. endpoint is the downlink name, or the path if unknown.
	OnRefused func(endpoint, reason string)
}

// Server is the http.Handler of the callbacks: POST
// {Prefix}cmbParking/{calc,pay,autoPayBind,autoPayUnbind,NoVpln}. It
// answers every request with the JSON envelope; a refusal (wrong method,
// unknown path, body too large, not a form, appid, sign, park_code,
// malformed field) has status ≠ 0 and a message that says why, is logged
// and never reaches the Handler.
type Server struct {
	cfg    ServerConfig
	h      Handler
	log    *slog.Logger
	routes map[string]func(context.Context, url.Values) result
}

var _ http.Handler = (*Server)(nil)

// NewServer returns a Server calling h.
func NewServer(cfg ServerConfig, h Handler) (*Server, error) {
	if cfg.AppID == "" || cfg.Secret == "" {
		return nil, errors.New("cmb: new server: appid and secret are required")
	}
	if cfg.ParkCode <= 0 {
		return nil, fmt.Errorf("cmb: new server: park_code %d: must be positive", cfg.ParkCode)
	}
	if h == nil {
		return nil, errors.New("cmb: new server: nil handler")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") {
		cfg.Prefix = "/" + cfg.Prefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, h: h, log: log}
	s.routes = map[string]func(context.Context, url.Values) result{
		EpCalc: func(ctx context.Context, v url.Values) result {
			r, err := DecodeCalcRequest(v)
			if err != nil {
				return malformed(err)
			}
			a, err := h.Calc(ctx, r)
			if !a.IsZero() {
				if verr := a.Validate(); verr != nil {
					err = fmt.Errorf("calc answer: %w", verr)
				}
			}
			// "No order" (status 2) always answers data, the plate empty
			// when nothing stands at the exit (§4.1's table).
			var ae *AnswerError
			noOrder := errors.As(err, &ae) && ae.Status == CalcNoRecord
			return s.answer(EpCalc, a, a.IsZero() && !noOrder, err)
		},
		EpPay:           noData(s, EpPay, DecodePayRequest, h.Pay),
		EpAutoPayBind:   noData(s, EpAutoPayBind, DecodeAutoPayBindRequest, h.AutoPayBind),
		EpAutoPayUnbind: noData(s, EpAutoPayUnbind, DecodeAutoPayUnbindRequest, h.AutoPayUnbind),
		EpNoVpln: func(ctx context.Context, v url.Values) result {
			r, err := DecodeNoVplnRequest(v)
			if err != nil {
				return malformed(err)
			}
			a, err := h.NoVpln(ctx, r)
			if err == nil {
				if a.VplNumber == "" {
					a.VplNumber = r.VplNumber // keep the platform's plate
				}
				if verr := a.ValidateFor(r); verr != nil {
					err = fmt.Errorf("NoVpln answer: %w", verr)
				}
			}
			return s.answer(EpNoVpln, a, a.VplNumber == "", err)
		},
	}
	return s, nil
}

// noData is the route of a callback answered without data: decode, then
// handle.
func noData[R any](s *Server, endpoint string, decode func(url.Values) (R, error), handle func(context.Context, R) error) func(context.Context, url.Values) result {
	return func(ctx context.Context, v url.Values) result {
		r, err := decode(v)
		if err != nil {
			return malformed(err)
		}
		return s.answer(endpoint, nil, true, handle(ctx, r))
	}
}

// refusal is a callback refused before the Handler.
type refusal struct {
	http    int
	status  int
	message string
}

// result is what a route answers; refused marks a malformed request.
type result struct {
	status  int
	msg     string
	data    any
	refused bool
}

// malformed refuses a request whose fields did not decode, naming the
// field.
func malformed(err error) result {
	var fe *FieldError
	if errors.As(err, &fe) {
		return result{StatusMalformed, fe.Field + ": " + fe.Problem, nil, true}
	}
	return result{StatusMalformed, err.Error(), nil, true}
}

// answer turns a Handler's result into status, message and data.
func (s *Server) answer(endpoint string, data any, zero bool, err error) result {
	if zero {
		data = nil
	}
	if err == nil {
		return result{status: StatusOK, msg: "success", data: data}
	}
	var ae *AnswerError
	if errors.As(err, &ae) && ae.Status != StatusOK {
		return result{status: ae.Status, msg: ae.Message, data: data}
	}
	s.log.Error("cmb: handler failed", "endpoint", endpoint, "err", err)
	return result{status: StatusInternal, msg: "internal error"}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, s.cfg.Prefix+DownlinkPath)
	route := s.routes[name]
	if !ok || route == nil {
		s.refuse(w, r, r.URL.Path, refusal{http.StatusNotFound, StatusNotFound, "unknown path " + strconv.Quote(r.URL.Path)})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.refuse(w, r, name, refusal{http.StatusMethodNotAllowed, StatusMethod, "method " + r.Method + " not allowed: use POST"})
		return
	}
	v, ref := s.readForm(w, r)
	if ref != nil {
		s.refuse(w, r, name, *ref)
		return
	}
	if ref := s.check(name, v); ref != nil {
		s.refuse(w, r, name, *ref)
		return
	}
	res := s.call(r.Context(), name, route, v)
	if res.refused {
		s.refuse(w, r, name, refusal{http.StatusOK, res.status, res.msg})
		return
	}
	s.write(w, http.StatusOK, res.status, res.msg, res.data)
}

// call runs a route, turning a panic into StatusInternal.
func (s *Server) call(ctx context.Context, name string, route func(context.Context, url.Values) result, v url.Values) (res result) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("cmb: handler panicked", "endpoint", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res = result{status: StatusInternal, msg: "internal error"}
		}
	}()
	return route(ctx, v)
}

// readForm reads a form body only (the query string is ignored).
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *refusal) {
	if r.ContentLength > s.cfg.MaxBody {
		return nil, &refusal{http.StatusRequestEntityTooLarge, StatusTooLarge, fmt.Sprintf("body over %d bytes", s.cfg.MaxBody)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &refusal{http.StatusRequestEntityTooLarge, StatusTooLarge, fmt.Sprintf("body over %d bytes", s.cfg.MaxBody)}
		}
		return nil, &refusal{http.StatusBadRequest, StatusMalformed, "read body: " + err.Error()}
	}
	// The platform's message for a body that is not a form is "appid 不能为空"
	// (§6.1); keep those words so a technician recognises it.
	v, err := decodeBody(r.Header.Get("Content-Type"), body, s.cfg.MaxBody)
	if err != nil {
		return nil, &refusal{http.StatusOK, StatusMalformed, "appid 不能为空: body is not a form (urlencoded or multipart/form-data; Content-Type " + strconv.Quote(clip(r.Header.Get("Content-Type"))) + "): " + clip(err.Error())}
	}
	return v, nil
}

// check verifies appid, sign and park_code, in that order, before any
// field is decoded.
func (s *Server) check(name string, v url.Values) *refusal {
	for k, vs := range v {
		if len(vs) > 1 {
			return &refusal{http.StatusOK, StatusMalformed, k + ": repeated parameter"}
		}
	}
	switch appid := v.Get(ParamAppID); {
	case appid == "":
		return &refusal{http.StatusOK, StatusUnauthorized, "appid 不能为空: appid missing"}
	case appid != s.cfg.AppID:
		return &refusal{http.StatusOK, StatusUnauthorized, "wrong appid " + strconv.Quote(clip(appid))}
	}
	if err := VerifyFor(name, v, s.cfg.Secret); err != nil {
		if v.Get(ParamSign) == "" {
			return &refusal{http.StatusOK, StatusUnauthorized, "bad sign: sign missing"}
		}
		return &refusal{http.StatusOK, StatusUnauthorized, "bad sign: verification failed (check appsecret and the signed fields)"}
	}
	pc := v.Get(fParkCode)
	if pc == "" {
		return &refusal{http.StatusOK, StatusMalformed, "park_code: missing"}
	}
	if n, err := strconv.ParseInt(pc, 10, 64); err != nil || n != s.cfg.ParkCode {
		return &refusal{http.StatusOK, StatusWrongPark, "wrong park_code " + strconv.Quote(clip(pc)) + ": this is " + strconv.FormatInt(s.cfg.ParkCode, 10)}
	}
	return nil
}

// refuse logs a refused callback, tells OnRefused and answers it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, endpoint string, ref refusal) {
	s.log.Warn("cmb: callback refused", "endpoint", endpoint, "remote", r.RemoteAddr, "status", ref.status, "reason", ref.message)
	if s.cfg.OnRefused != nil {
		s.cfg.OnRefused(endpoint, ref.message)
	}
	s.write(w, ref.http, ref.status, ref.message, nil)
}

// write answers the JSON envelope with data (nil: none); calc and NoVpln
// answers are encoded by hand, the hot path.
func (s *Server) write(w http.ResponseWriter, code, status int, msg string, data any) {
	b := make([]byte, 0, 512)
	b = appendInt(append(b, '{'), "status", int64(status), true)
	b = appendStr(b, "message", msg, false)
	switch d := data.(type) {
	case nil:
	case CalcAnswer:
		b = d.appendJSON(append(b, `,"data":`...))
	case NoVplnAnswer:
		b = d.appendJSON(append(b, `,"data":`...))
	default:
		j, err := marshalCompact(d)
		if err != nil {
			s.log.Error("cmb: encode answer", "err", err)
			b = appendInt(append(b[:0], '{'), "status", StatusInternal, true)
			b = appendStr(b, "message", "internal error", false)
			break
		}
		b = append(append(b, `,"data":`...), j...)
	}
	b = append(b, '}')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
