package cmb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// HTTPDoer sends an HTTP request; *http.Client satisfies it.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

var _ HTTPDoer = (*http.Client)(nil)

// Defaults of Config and CallDownlink.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAnswerBytes = 256 << 10
)

// Config configures a Client.
type Config struct {
	BaseURL  string // platform base, e.g. APIBase(EnvUAT); requests go to {BaseURL}/api/<Name>
	AppID    string
	Secret   string // never logged
	ParkCode int64  // optional: used when a request's ParkCode is 0 or Send's params lack park_code
	// HTTP sends the requests; nil means NewHTTPClient().
	HTTP HTTPDoer
	// Timeout bounds one exchange, connect to last answer byte; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxAnswerBytes caps an answer's body; 0 means DefaultMaxAnswerBytes.
	MaxAnswerBytes int64
	// Logger gets one Debug line per exchange (endpoint, HTTP code, class);
	// failures are returned, not logged above Debug. nil: discard.
	Logger *slog.Logger
}

// Client sends the uplinks. It is safe for concurrent use.
//
// Every failed exchange is classified as exactly one of ErrNotDelivered,
// ErrRejected (a *RejectedError) or ErrOutcomeUnknown; see classify. An
// invalid typed request is refused before any I/O with a *FieldError
// (ErrMalformed).
type Client struct {
	base     string
	appID    string
	secret   string
	parkCode int64
	x        exchanger
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cmb: new client: base URL %q: want http(s)://host[/path]", cfg.BaseURL)
	}
	if cfg.AppID == "" || cfg.Secret == "" {
		return nil, errors.New("cmb: new client: appid and secret are required")
	}
	if cfg.ParkCode < 0 {
		return nil, fmt.Errorf("cmb: new client: park_code %d: must be positive", cfg.ParkCode)
	}
	return &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/") + "/api/",
		appID:    cfg.AppID,
		secret:   cfg.Secret,
		parkCode: cfg.ParkCode,
		x:        newExchanger(cfg.HTTP, cfg.Timeout, cfg.MaxAnswerBytes, cfg.Logger),
	}, nil
}

// NewHTTPClient returns the default HTTPDoer: HTTP/1.1, redirects not
// followed (a redirected POST would become a GET), dial and TLS handshake
// bounded, and idle connections dropped after 15 s so that a request is
// rarely written into a connection the server has already closed (which
// would be classed unknown).
func NewHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 0, // the exchange's context bounds it
			IdleConnTimeout:       15 * time.Second,
			MaxIdleConnsPerHost:   4,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Send signs params for endpoint name and POSTs them: appid is set, sign is
// computed now (PicUpload without pic_con), park_code is filled from the
// Config when absent. params is not modified. The outbox stores params and
// sends through Send. On success the envelope has status 0; on ErrRejected
// the envelope is returned too.
func (c *Client) Send(ctx context.Context, name string, params url.Values) (Envelope, error) {
	return c.x.exchange(ctx, name, c.base+name, c.signed(name, params))
}

// signed is params with appid, park_code (when absent) and sign set.
func (c *Client) signed(name string, params url.Values) url.Values {
	v := make(url.Values, len(params)+2)
	for k, vs := range params {
		v[k] = vs
	}
	if c.parkCode != 0 && v.Get(fParkCode) == "" {
		v.Set(fParkCode, strconv.FormatInt(c.parkCode, 10))
	}
	v.Set(ParamAppID, c.appID)
	v.Del(ParamSign)
	v.Set(ParamSign, SignFor(name, v, c.secret))
	return v
}

// valuer is a typed message: it validates and encodes itself.
type valuer interface{ Values() (url.Values, error) }

// tell sends a typed uplink whose answer carries no data.
func (c *Client) tell(ctx context.Context, name string, r valuer) error {
	_, err := c.ask(ctx, name, r)
	return err
}

// ask sends a typed uplink and returns the answer's envelope; an invalid
// r is refused before any I/O.
func (c *Client) ask(ctx context.Context, name string, r valuer) (Envelope, error) {
	v, err := r.Values()
	if err != nil {
		return Envelope{}, errorf("cmb: %s: %w", name, err)
	}
	return c.Send(ctx, name, v)
}

// askData is ask with the answer's data decoded; data that does not
// decode makes the outcome unknown.
func askData[A any](ctx context.Context, c *Client, name string, r valuer, decode func([]byte) (A, error)) (A, error) {
	var zero A
	env, err := c.ask(ctx, name, r)
	if err != nil {
		return zero, err
	}
	a, err := decode(env.Data)
	if err != nil {
		return zero, errorf("cmb: %s: %w: answer data: %v", name, ErrOutcomeUnknown, err)
	}
	return a, nil
}

// park is p, or the Config's park_code when p is 0.
func (c *Client) park(p int64) int64 {
	if p == 0 {
		return c.parkCode
	}
	return p
}

// Indata reports an entry.
func (c *Client) Indata(ctx context.Context, r Indata) (IndataAnswer, error) {
	r.ParkCode = c.park(r.ParkCode)
	return askData(ctx, c, EpIndata, r, DecodeIndataAnswer)
}

// Outdata reports an exit.
func (c *Client) Outdata(ctx context.Context, r Outdata) error {
	r.ParkCode = c.park(r.ParkCode)
	return c.tell(ctx, EpOutdata, r)
}

// AutoPay asks the platform to charge a contactless exit. On
// ErrOutcomeUnknown, resolve with PayOrderStatus before sending it again.
func (c *Client) AutoPay(ctx context.Context, r AutoPay) (AutoPayAnswer, error) {
	r.ParkCode = c.park(r.ParkCode)
	return askData(ctx, c, EpAutoPay, r, DecodeAutoPayAnswer)
}

// PayOrderStatus asks for an AutoPay's outcome; ErrRejected means no such
// order.
func (c *Client) PayOrderStatus(ctx context.Context, r PayOrderStatus) (PayOrderStatusAnswer, error) {
	r.ParkCode = c.park(r.ParkCode)
	return askData(ctx, c, EpPayOrderStatus, r, DecodePayOrderStatusAnswer)
}

// AutoPayStatus asks whether a plate has contactless pay.
func (c *Client) AutoPayStatus(ctx context.Context, r AutoPayStatus) (AutoPayStatusAnswer, error) {
	r.ParkCode = c.park(r.ParkCode)
	return askData(ctx, c, EpAutoPayStatus, r, DecodeAutoPayStatusAnswer)
}

// SpaceInfo reports free spaces.
func (c *Client) SpaceInfo(ctx context.Context, r SpaceInfo) error {
	r.ParkCode = c.park(r.ParkCode)
	return c.tell(ctx, EpSpaceInfo, r)
}

// PicUpload sends a picture.
func (c *Client) PicUpload(ctx context.Context, r PicUpload) error {
	r.ParkCode = c.park(r.ParkCode)
	return c.tell(ctx, EpPicUpload, r)
}

// ConfigUpload reports the configuration.
func (c *Client) ConfigUpload(ctx context.Context, r ConfigUpload) error {
	r.ParkCode = c.park(r.ParkCode)
	return c.tell(ctx, EpConfigUpload, r)
}

// CallDownlink sends a downlink to a lane controller (the platform
// simulator, a technician's tool): params are signed with appid and secret
// and POSTed to {laneBase}cmbParking/<name> (laneBase is the "API address"
// of §6.10, e.g. "http://host/a/b/"). doer nil means NewHTTPClient(). The
// exchange is bounded by DefaultTimeout (or ctx) and classified as the
// Client's.
func CallDownlink(ctx context.Context, doer HTTPDoer, laneBase, appid, secret, name string, params url.Values) (Envelope, error) {
	return CallDownlinkAs(ctx, doer, BodyForm, laneBase, appid, secret, name, params)
}

// CallDownlinkAs is CallDownlink with the body encoded as enc: the
// platform's callbacks come in more than one form (spec §2).
func CallDownlinkAs(ctx context.Context, doer HTTPDoer, enc BodyEncoding, laneBase, appid, secret, name string, params url.Values) (Envelope, error) {
	v := make(url.Values, len(params)+2)
	for k, vs := range params {
		v[k] = vs
	}
	v.Set(ParamAppID, appid)
	v.Del(ParamSign)
	v.Set(ParamSign, SignFor(name, v, secret))
	if !strings.HasSuffix(laneBase, "/") {
		laneBase += "/"
	}
	x := newExchanger(doer, 0, 0, nil)
	x.enc = enc
	return x.exchange(ctx, name, laneBase+DownlinkPath+name, v)
}

// exchanger POSTs a signed form and classifies the outcome.
type exchanger struct {
	enc       BodyEncoding
	doer      HTTPDoer
	timeout   time.Duration
	maxAnswer int64
	log       *slog.Logger
}

// newExchanger fills in the defaults of a nil doer, timeout, size cap and
// logger.
func newExchanger(doer HTTPDoer, timeout time.Duration, maxAnswer int64, log *slog.Logger) exchanger {
	if doer == nil {
		doer = defaultHTTP
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxAnswer <= 0 {
		maxAnswer = DefaultMaxAnswerBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return exchanger{doer: doer, timeout: timeout, maxAnswer: maxAnswer, log: log}
}

var defaultHTTP = NewHTTPClient()

// exchange POSTs form to u. The boundary between "not delivered" and
// "outcome unknown" is httptrace's WroteRequest: before it reports the
// request written without error, nothing the peer could act on has left
// (dial, DNS, TLS, a refused connection, a failed write of an incomplete
// request, a deadline before sending). After it, a missing or unreadable
// answer means the peer may have acted. WroteRequest fires when the request
// is in the transport's buffer, so a flush failure right after it is classed
// unknown too: conservative, never the other way round.
//
// With an answer in hand: 408, 429, 501, 503 and 505 are not delivered
// whatever the body; an envelope with status ≠ 0 is rejected; a 2xx
// envelope with status 0 is success. Without a decodable envelope, or with
// status 0 on a non-2xx code: 3xx and 4xx are not delivered (the server
// refused before processing), 2xx and the other 5xx (500 may come after the
// work, 502/504 from a gateway that forwarded the request) are unknown, as
// is an answer over the size cap or cut short.
func (x exchanger) exchange(ctx context.Context, name, u string, form url.Values) (Envelope, error) {
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(ctx, trace), x.timeout)
	defer cancel()
	reqBody, ctype, err := x.enc.encode(form)
	if err != nil {
		return x.fail(name, 0, ErrNotDelivered, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(reqBody))
	if err != nil {
		return x.fail(name, 0, ErrNotDelivered, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := x.doer.Do(req)
	if err != nil {
		if sent.Load() {
			return x.fail(name, 0, ErrOutcomeUnknown, err)
		}
		return x.fail(name, 0, ErrNotDelivered, err)
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusNotImplemented,
		http.StatusServiceUnavailable, http.StatusHTTPVersionNotSupported:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return x.fail(name, code, ErrNotDelivered, fmt.Errorf("http %d", code))
	}
	// Not processed by the server: 3xx, 4xx. Maybe processed: 2xx, 5xx.
	noAnswer := ErrOutcomeUnknown
	if code >= 300 && code < 500 {
		noAnswer = ErrNotDelivered
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, x.maxAnswer+1))
	if err != nil {
		return x.fail(name, code, noAnswer, fmt.Errorf("read answer: %w", err))
	}
	if int64(len(body)) > x.maxAnswer {
		return x.fail(name, code, noAnswer, fmt.Errorf("answer over %d bytes", x.maxAnswer))
	}
	env, derr := DecodeEnvelope(body)
	switch {
	case derr == nil && env.Status != StatusOK:
		x.log.Debug("cmb: rejected", "endpoint", name, "http", code, "status", env.Status, "message", env.Message)
		return env, &RejectedError{Endpoint: name, Status: env.Status, Message: env.Message, Data: env.Data}
	case derr == nil && code >= 200 && code < 300:
		x.log.Debug("cmb: sent", "endpoint", name, "http", code)
		return env, nil
	case derr == nil:
		return x.fail(name, code, noAnswer, fmt.Errorf("http %d with status 0", code))
	default:
		// The decode error is text, not wrapped: this is not ErrMalformed.
		return x.fail(name, code, noAnswer, fmt.Errorf("http %d: answer: %v", code, derr))
	}
}

// fail logs a failed exchange at Debug and returns it as an error of
// class, with its cause.
func (x exchanger) fail(name string, code int, class, cause error) (Envelope, error) {
	x.log.Debug("cmb: exchange failed", "endpoint", name, "http", code, "class", class.Error(), "err", cause.Error())
	return Envelope{}, errorf("cmb: %s: %w: %w", name, class, cause)
}
