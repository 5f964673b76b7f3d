package camera

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"

	"laned/hal/internal/halog"
)

// NetSource is one lane's network camera as the Listener serves it.
type NetSource struct {
	Camera *NetCamera
	// Allow lists the addresses (or prefixes) the camera may push from;
	// empty: any address on the LAN.
	Allow []netip.Prefix
	// Token, when set, must be given as ?token=… in the push URL.
	Token string
}

// Listener is the HTTP handler network cameras push to — a server of its
// own on the lane LAN, never the bank-facing callback server:
//
//	POST /camera/push/{lane}   family 1 (JSON), answered Response_AlarmInfoPlate
//	POST /camera/isapi/{lane}  family 2 (ISAPI multipart), answered 200, empty
//
// Bodies over MaxPushBytes are refused with 413.
type Listener struct {
	log *slog.Logger
	mux *http.ServeMux

	mu   sync.RWMutex
	cams map[string]NetSource
}

// NewListener returns a Listener with no camera; add them with Add.
func NewListener(logger *slog.Logger) *Listener {
	l := &Listener{log: halog.Or(logger), mux: http.NewServeMux(), cams: map[string]NetSource{}}
	l.mux.HandleFunc("POST /camera/push/{lane}", func(w http.ResponseWriter, r *http.Request) { l.serve(w, r, FamilyPush) })
	l.mux.HandleFunc("POST /camera/isapi/{lane}", func(w http.ResponseWriter, r *http.Request) { l.serve(w, r, FamilyISAPI) })
	return l
}

// Add serves lane's camera.
func (l *Listener) Add(lane string, src NetSource) error {
	if src.Camera == nil {
		return fmt.Errorf("camera: listener: lane %s without a camera: %w", lane, ErrConfig)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.cams[lane]; dup {
		return fmt.Errorf("camera: listener: lane %s added twice: %w", lane, ErrConfig)
	}
	l.cams[lane] = src
	return nil
}

// ServeHTTP routes a push.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.mux.ServeHTTP(w, r) }

func (l *Listener) serve(w http.ResponseWriter, r *http.Request, fam Family) {
	lane := r.PathValue("lane")
	l.mu.RLock()
	src, ok := l.cams[lane]
	l.mu.RUnlock()
	log := l.log.With("lane", lane, "from", r.RemoteAddr)
	if !ok || src.Camera.Family() != fam {
		log.Warn("camera push for no such network camera", "path", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if len(src.Allow) > 0 {
		a, ok := remoteAddr(r)
		if !ok || !allowed(src.Allow, a) {
			src.Camera.rejected.Add(1)
			log.Warn("camera push from an address not allowed")
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
	}
	if src.Token != "" && subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), []byte(src.Token)) != 1 {
		src.Camera.rejected.Add(1)
		log.Warn("camera push without the right token")
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPushBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			src.Camera.rejected.Add(1)
			log.Warn("camera push too large: refused", "limit", MaxPushBytes)
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		log.Warn("camera push: read body", "err", err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	var rd Read
	if fam == FamilyPush {
		rd, err = DecodePush(body)
	} else {
		rd, err = DecodeISAPI(r.Header.Get("Content-Type"), body)
	}
	if err == nil && len(rd.Problems) > 0 {
		log.Warn("camera push: parts left out", "problems", rd.Problems)
	}
	var open bool
	if err == nil {
		open, err = src.Camera.Deliver(r.Context(), rd)
	}
	if err != nil {
		src.Camera.rejected.Add(1)
		log.Warn("camera push refused", "err", err)
		http.Error(w, "bad push", http.StatusBadRequest)
		return
	}
	if fam == FamilyISAPI {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(PushAnswer(open))
}

func remoteAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func allowed(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
