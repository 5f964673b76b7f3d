package cmbsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// AdminPrefix is where the admin API is served.
const AdminPrefix = "/_sim/"

// maxAdminBody bounds an admin request body.
const maxAdminBody = 1 << 20

// faultJSON is a Fault on the admin API: the delay in milliseconds.
type faultJSON struct {
	Fault
	DelayMS float64 `json:"delay_ms,omitempty"`
}

// toFaultJSON is f as the admin API shows it.
func toFaultJSON(f Fault) faultJSON {
	return faultJSON{Fault: f, DelayMS: float64(f.Delay) / float64(time.Millisecond)}
}

// fault is the Fault the admin API was sent.
func (j faultJSON) fault() (Fault, error) {
	if j.DelayMS < 0 {
		return Fault{}, errors.New("delay_ms must be ≥ 0")
	}
	f := j.Fault
	f.Delay = time.Duration(j.DelayMS * float64(time.Millisecond))
	return f, nil
}

// adminRoutes lists the admin API for GET /_sim/.
var adminRoutes = []string{
	"GET    /_sim/received?endpoint=&plate=&record_id=   uplinks received",
	"GET    /_sim/orders                                   AutoPay orders",
	"GET    /_sim/violations                               uplinks out of order per record",
	"GET    /_sim/double-charges                           records charged by several orders",
	"GET    /_sim/park                                     last SpaceInfo / ConfigUpload",
	"GET    /_sim/sent                                     callbacks sent to the lane",
	"GET    /_sim/agreements                               contactless agreements",
	"POST   /_sim/agreements {plate,limit,post_url,notify} add (notify: also autoPayBind to the lane)",
	"DELETE /_sim/agreements/{plate}?notify=1              remove (notify: also autoPayUnbind)",
	"GET    /_sim/faults                                   faults in force",
	"PUT    /_sim/faults/{endpoint|*} {down,delay_ms,hold,cut,malformed,status,message,times}",
	"POST   /_sim/release-held                             let answers held by a hold fault go",
	"GET    /_sim/bank; PUT /_sim/bank {charge_delay_ms,contactless,pay_notice}  the bank's ways",
	"DELETE /_sim/faults/{endpoint|*}                      clear one; DELETE /_sim/faults clears all",
	"GET    /_sim/mode; PUT /_sim/mode {guaranteed}       AutoPay mode",
	"PUT    /_sim/fail-payments {plate,fail}               make the plate's payments fail",
	"POST   /_sim/reset                                    back to the initial state",
	"POST   /_sim/lane/calc {out_code,vpl_number}          callbacks to the lane …",
	"POST   /_sim/lane/pay {vpl_number,record_id,bill_id,amount,order}",
	"POST   /_sim/lane/bind {vpl_number,limit,serial_no,post_url}",
	"POST   /_sim/lane/unbind {vpl_number}",
	"POST   /_sim/lane/novpln {vpl_number,in_code}",
	"POST   /_sim/scan-pay {out_code[,vpl_number]}         driver scans the exit QR and pays",
	"POST   /_sim/plate-pay {vpl_number}                   driver pays by plate in advance",
	"GET    /_sim/pictures/{record_id}                     the last PicUpload per in_out_flag (decoded)",
}

func (s *Sim) adminMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_sim/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"routes": adminRoutes})
	})
	m.HandleFunc("GET /_sim/received", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		out := s.Received(Filter{Endpoint: q.Get("endpoint"), Plate: q.Get("plate"), RecordID: q.Get("record_id")})
		writeJSON(w, http.StatusOK, nonNil(out))
	})
	m.HandleFunc("GET /_sim/pictures/{record}", s.adminPictures)
	m.HandleFunc("GET /_sim/orders", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(s.Orders()))
	})
	m.HandleFunc("GET /_sim/violations", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(s.OrderViolations()))
	})
	m.HandleFunc("GET /_sim/double-charges", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(s.DoubleCharges()))
	})
	m.HandleFunc("GET /_sim/park", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Park())
	})
	m.HandleFunc("GET /_sim/sent", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(s.Sent()))
	})
	m.HandleFunc("GET /_sim/agreements", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Agreements())
	})
	m.HandleFunc("POST /_sim/agreements", s.adminAddAgreement)
	m.HandleFunc("DELETE /_sim/agreements/{plate}", s.adminRemoveAgreement)
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]faultJSON{}
		for ep, f := range s.Faults() {
			out[ep] = toFaultJSON(f)
		}
		writeJSON(w, http.StatusOK, out)
	})
	m.HandleFunc("PUT /_sim/faults/{endpoint}", s.adminSetFault)
	m.HandleFunc("POST /_sim/faults/{endpoint}", s.adminSetFault)
	m.HandleFunc("DELETE /_sim/faults/{endpoint}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.SetFault(r.PathValue("endpoint"), Fault{}); err != nil {
			writeError(w, http.StatusNotFound, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("GET /_sim/mode", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"guaranteed": s.Guaranteed()})
	})
	setMode := func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Guaranteed *bool `json:"guaranteed"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if in.Guaranteed == nil {
			writeError(w, http.StatusBadRequest, errors.New("guaranteed: required"))
			return
		}
		s.SetGuaranteed(*in.Guaranteed)
		writeJSON(w, http.StatusOK, map[string]bool{"guaranteed": *in.Guaranteed})
	}
	m.HandleFunc("PUT /_sim/mode", setMode)
	m.HandleFunc("POST /_sim/mode", setMode)
	failPay := func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Plate string `json:"plate"`
			Fail  bool   `json:"fail"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if in.Plate == "" {
			writeError(w, http.StatusBadRequest, errors.New("plate: required"))
			return
		}
		s.FailPayments(in.Plate, in.Fail)
		writeJSON(w, http.StatusOK, in)
	}
	m.HandleFunc("PUT /_sim/fail-payments", failPay)
	m.HandleFunc("POST /_sim/fail-payments", failPay)
	m.HandleFunc("POST /_sim/release-held", func(w http.ResponseWriter, r *http.Request) {
		s.ReleaseHeld()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("GET /_sim/bank", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.bankJSON())
	})
	m.HandleFunc("PUT /_sim/bank", s.adminSetBank)
	m.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	s.laneRoutes(m)
	m.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no admin route %s %s; GET /_sim/ lists them", r.Method, r.URL.Path))
	})
	return m
}

func (s *Sim) adminAddAgreement(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Plate    string `json:"plate"`
		Limit    *int64 `json:"limit"`
		Notify   bool   `json:"notify"`
		SerialNo string `json:"serial_no"`
		PostURL  string `json:"post_url"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Limit == nil {
		writeError(w, http.StatusBadRequest, errors.New("limit: required (fen)"))
		return
	}
	if err := s.AddAgreementURL(in.Plate, *in.Limit, in.PostURL); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	out := map[string]any{"plate": in.Plate, "limit": *in.Limit}
	if in.Notify {
		out["lane"] = s.laneAnswer(s.Bind(r.Context(), BindRequest{Plate: in.Plate, Limit: *in.Limit, SerialNo: in.SerialNo, PostURL: in.PostURL}))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) adminRemoveAgreement(w http.ResponseWriter, r *http.Request) {
	plate := r.PathValue("plate")
	removed := s.RemoveAgreement(plate)
	out := map[string]any{"plate": plate, "removed": removed}
	if queryBool(r, "notify") {
		out["lane"] = s.laneAnswer(s.Unbind(r.Context(), plate))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) adminSetFault(w http.ResponseWriter, r *http.Request) {
	var in faultJSON
	if !readJSON(w, r, &in) {
		return
	}
	f, err := in.fault()
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.SetFault(r.PathValue("endpoint"), f); err != nil {
		if errors.Is(err, ErrUnknownEndpoint) {
			writeError(w, http.StatusNotFound, err)
		} else {
			writeError(w, http.StatusBadRequest, err)
		}
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoint": r.PathValue("endpoint"), "fault": in})
}

// readJSON decodes the body into v, or answers 400 and returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to do
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// queryBool reads a boolean query parameter.
func queryBool(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}
