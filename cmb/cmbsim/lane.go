package cmbsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"laned/cmb"
)

// Callback is one downlink sent to the lane and how it went.
type Callback struct {
	Seq      int64             `json:"seq"`
	Time     int64             `json:"time"` // UNIX seconds
	Endpoint string            `json:"endpoint"`
	Params   map[string]string `json:"params"` // without appid and sign
	Status   int               `json:"status"` // the lane's answer status (when it answered)
	Message  string            `json:"message,omitempty"`
	Data     json.RawMessage   `json:"data,omitempty"`
	Err      string            `json:"error,omitempty"` // not delivered, outcome unknown, …
}

// BindRequest is an autoPayBind to send.
type BindRequest struct {
	Plate    string
	Limit    int64 // fen
	SerialNo string
	PostURL  string
}

// PayNotice is a pay callback to send; PayTime is now and PayType
// cmb.PayCMB when zero, Order a fresh number when empty.
type PayNotice struct {
	Plate    string `json:"vpl_number"`
	RecordID string `json:"record_id"`
	BillID   string `json:"bill_id,omitempty"`
	Amount   int64  `json:"amount"`
	Order    string `json:"order,omitempty"`
	PayType  int    `json:"pay_type,omitempty"`
	PayTime  int64  `json:"pay_time,omitempty"`
}

// PayResult is what a driver's payment (ScanPay, PayPlate) did.
type PayResult struct {
	Calc   cmb.CalcAnswer `json:"calc"`
	Paid   bool           `json:"paid"` // a pay notice was accepted by the lane
	Amount int64          `json:"amount"`
	Order  string         `json:"order,omitempty"` // the pay notice's order
}

// call signs and sends one callback to the lane and records it.
func (s *Sim) call(ctx context.Context, name string, params url.Values) (cmb.Envelope, error) {
	if s.cfg.LaneURL == "" {
		return cmb.Envelope{}, fmt.Errorf("cmbsim: %s: %w", name, ErrNoLane)
	}
	env, err := cmb.CallDownlinkAs(ctx, s.http, s.CallbackBody(), s.cfg.LaneURL, s.cfg.AppID, s.cfg.Secret, name, params)
	cb := Callback{Endpoint: name, Params: flatten(params), Status: env.Status, Message: env.Message, Data: env.Data}
	if err != nil && !errors.Is(err, cmb.ErrRejected) {
		cb.Err = err.Error()
	}
	s.mu.Lock()
	s.seq++
	cb.Seq = s.seq
	cb.Time = s.now().Unix()
	s.sent = appendBounded(s.sent, cb, s.maxKept)
	s.mu.Unlock()
	s.log.Info("callback", "seq", cb.Seq, "endpoint", name, "plate", params.Get("vpl_number"),
		"record_id", params.Get("record_id"), "status", env.Status, "message", env.Message, "err", cb.Err)
	return env, err
}

// Calc sends a calc: outCode only is an exit scan, plate only a plate query,
// both an unlicensed exit scan. A "no order" answer (cmb.CalcNoRecord) is returned
// as an ErrRejected error together with the answer's data (the plate).
func (s *Sim) Calc(ctx context.Context, outCode *int, plate string) (cmb.CalcAnswer, error) {
	v, err := cmb.CalcRequest{ParkCode: s.cfg.ParkCode, OutCode: outCode, VplNumber: plate}.Values()
	if err != nil {
		return cmb.CalcAnswer{}, fmt.Errorf("cmbsim: calc: %w", err)
	}
	env, err := s.call(ctx, cmb.EpCalc, v)
	data := env.Data
	var rej *cmb.RejectedError
	if errors.As(err, &rej) {
		data = rej.Data
	}
	var a cmb.CalcAnswer
	if len(data) > 0 {
		var derr error
		if a, derr = cmb.DecodeCalcAnswer(data); derr != nil && err == nil {
			err = fmt.Errorf("cmbsim: calc: answer: %w", derr)
		}
	}
	return a, err
}

// Pay sends a pay notice and returns the order it carried.
func (s *Sim) Pay(ctx context.Context, n PayNotice) (string, error) {
	if n.Order == "" {
		s.mu.Lock()
		n.Order = s.newIDLocked("SIM")
		s.mu.Unlock()
	}
	if n.PayType == 0 {
		n.PayType = int(cmb.PayCMB)
	}
	if n.PayTime == 0 {
		n.PayTime = s.now().Unix()
	}
	v, err := cmb.PayRequest{ParkCode: s.cfg.ParkCode, VplNumber: n.Plate, RecordID: n.RecordID, BillID: n.BillID,
		PayTime: n.PayTime, PayList: []cmb.PayItem{{PayType: cmb.PayType(n.PayType), Amount: n.Amount, Order: n.Order}}}.Values()
	if err != nil {
		return n.Order, fmt.Errorf("cmbsim: pay: %w", err)
	}
	_, err = s.call(ctx, cmb.EpPay, v)
	return n.Order, err
}

// Bind sends an autoPayBind. It does not touch the simulator's agreements
// (AddAgreement does).
func (s *Sim) Bind(ctx context.Context, b BindRequest) (cmb.Envelope, error) {
	v, err := cmb.AutoPayBindRequest{ParkCode: s.cfg.ParkCode, VplNumber: b.Plate, AutoPayType: cmb.ChargeThenExit,
		Limit: b.Limit, SerialNo: b.SerialNo, PostURL: b.PostURL}.Values()
	if err != nil {
		return cmb.Envelope{}, fmt.Errorf("cmbsim: bind: %w", err)
	}
	return s.call(ctx, cmb.EpAutoPayBind, v)
}

// Unbind sends an autoPayUnbind.
func (s *Sim) Unbind(ctx context.Context, plate string) (cmb.Envelope, error) {
	v, err := cmb.AutoPayUnbindRequest{ParkCode: s.cfg.ParkCode, VplNumber: plate}.Values()
	if err != nil {
		return cmb.Envelope{}, fmt.Errorf("cmbsim: unbind: %w", err)
	}
	return s.call(ctx, cmb.EpAutoPayUnbind, v)
}

// NoVpln sends a NoVpln: an unlicensed vehicle's driver scanned entry
// inCode's QR code and the platform made the virtual plate. The answer's
// status (cmb.StatusOK: the barrier opens; cmb.NoVplnLicensed,
// cmb.NoVplnNoVehicle, cmb.NoVplnCannotAdmit) is in the envelope.
func (s *Sim) NoVpln(ctx context.Context, plate string, inCode int) (cmb.Envelope, cmb.NoVplnAnswer, error) {
	req := cmb.NoVplnRequest{ParkCode: s.cfg.ParkCode, VplNumber: plate, InCode: inCode}
	v, err := req.Values()
	if err != nil {
		return cmb.Envelope{}, cmb.NoVplnAnswer{}, fmt.Errorf("cmbsim: novpln: %w", err)
	}
	env, err := s.call(ctx, cmb.EpNoVpln, v)
	if err != nil {
		return env, cmb.NoVplnAnswer{}, err
	}
	a, err := cmb.DecodeNoVplnAnswer(env.Data)
	if err == nil {
		err = a.ValidateFor(req)
	}
	if err != nil {
		return env, a, fmt.Errorf("cmbsim: novpln: answer: %w", err)
	}
	return env, a, nil
}

// ScanPay is a driver scanning exit outCode's QR code and paying: calc with
// out_code, then a pay notice for should_pay with a fresh order. Nothing is
// paid when should_pay is 0 (Paid false, no error).
func (s *Sim) ScanPay(ctx context.Context, outCode int) (PayResult, error) {
	return s.calcThenPay(ctx, &outCode, "")
}

// ScanPayUnlicensed is ScanPay for an unlicensed vehicle holding a virtual
// plate: calc with out_code and vpl_number.
func (s *Sim) ScanPayUnlicensed(ctx context.Context, outCode int, plate string) (PayResult, error) {
	return s.calcThenPay(ctx, &outCode, plate)
}

// PayPlate is a driver paying in advance by plate: calc with vpl_number,
// then pay.
func (s *Sim) PayPlate(ctx context.Context, plate string) (PayResult, error) {
	return s.calcThenPay(ctx, nil, plate)
}

func (s *Sim) calcThenPay(ctx context.Context, outCode *int, plate string) (PayResult, error) {
	a, err := s.Calc(ctx, outCode, plate)
	res := PayResult{Calc: a}
	if err != nil {
		return res, err
	}
	due := a.Charge.ShouldPay
	if due == 0 {
		return res, nil
	}
	payPlate := a.VplNumber
	if payPlate == "" {
		payPlate = plate // unlicensed scan with nothing at the exit
	}
	res.Amount = due
	res.Order, err = s.Pay(ctx, PayNotice{Plate: payPlate, RecordID: a.RecordID, BillID: a.BillID, Amount: due})
	res.Paid = err == nil
	return res, err
}

// laneAnswer reports a callback's outcome on the admin API.
type laneAnswer struct {
	Status  int             `json:"status"`
	Message string          `json:"message,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	Error   string          `json:"error,omitempty"`
	Class   string          `json:"class,omitempty"` // not_delivered, rejected, outcome_unknown
}

func newLaneAnswer(env cmb.Envelope, err error) laneAnswer {
	a := laneAnswer{Status: env.Status, Message: env.Message, Data: env.Data}
	if err != nil {
		a.Error = err.Error()
		a.Class = errClass(err)
		var rej *cmb.RejectedError
		if errors.As(err, &rej) {
			a.Status, a.Message, a.Data = rej.Status, rej.Message, rej.Data
		}
	}
	return a
}

func errClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, cmb.ErrRejected):
		return "rejected"
	case errors.Is(err, cmb.ErrNotDelivered):
		return "not_delivered"
	case errors.Is(err, cmb.ErrOutcomeUnknown):
		return "outcome_unknown"
	case errors.Is(err, ErrNoLane):
		return "no_lane"
	}
	return "error"
}

func (s *Sim) laneAnswer(env cmb.Envelope, err error) laneAnswer { return newLaneAnswer(env, err) }

// laneRoutes adds the admin routes that drive the lane's callbacks.
func (s *Sim) laneRoutes(m *http.ServeMux) {
	// Every lane route answers 200 with the outcome in the body, except
	// when no lane is configured (409) or the request is bad (400).
	reply := func(w http.ResponseWriter, v any, err error) {
		if errors.Is(err, ErrNoLane) {
			writeError(w, http.StatusConflict, err)
			return
		}
		if errors.Is(err, cmb.ErrMalformed) && !errors.Is(err, cmb.ErrRejected) && !errors.Is(err, cmb.ErrOutcomeUnknown) {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
	m.HandleFunc("POST /_sim/lane/calc", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OutCode *int   `json:"out_code"`
			Plate   string `json:"vpl_number"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		a, err := s.Calc(r.Context(), in.OutCode, in.Plate)
		out := struct {
			laneAnswer
			Calc cmb.CalcAnswer `json:"calc"`
		}{newLaneAnswer(cmb.Envelope{}, err), a}
		reply(w, out, err)
	})
	m.HandleFunc("POST /_sim/lane/pay", func(w http.ResponseWriter, r *http.Request) {
		var in PayNotice
		if !readJSON(w, r, &in) {
			return
		}
		order, err := s.Pay(r.Context(), in)
		out := struct {
			laneAnswer
			Order string `json:"order"`
		}{newLaneAnswer(cmb.Envelope{}, err), order}
		reply(w, out, err)
	})
	m.HandleFunc("POST /_sim/lane/bind", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Plate    string `json:"vpl_number"`
			Limit    int64  `json:"limit"`
			SerialNo string `json:"serial_no"`
			PostURL  string `json:"post_url"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		env, err := s.Bind(r.Context(), BindRequest{Plate: in.Plate, Limit: in.Limit, SerialNo: in.SerialNo, PostURL: in.PostURL})
		reply(w, newLaneAnswer(env, err), err)
	})
	m.HandleFunc("POST /_sim/lane/unbind", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Plate string `json:"vpl_number"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		env, err := s.Unbind(r.Context(), in.Plate)
		reply(w, newLaneAnswer(env, err), err)
	})
	m.HandleFunc("POST /_sim/lane/novpln", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Plate  string `json:"vpl_number"`
			InCode int    `json:"in_code"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		env, _, err := s.NoVpln(r.Context(), in.Plate, in.InCode)
		reply(w, newLaneAnswer(env, err), err)
	})
	payRoute := func(plateOnly bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in struct {
				OutCode *int   `json:"out_code"`
				Plate   string `json:"vpl_number"`
			}
			if !readJSON(w, r, &in) {
				return
			}
			if plateOnly && in.Plate == "" {
				writeError(w, http.StatusBadRequest, errors.New("vpl_number: required"))
				return
			}
			if !plateOnly && in.OutCode == nil {
				writeError(w, http.StatusBadRequest, errors.New("out_code: required"))
				return
			}
			if plateOnly {
				in.OutCode = nil
			}
			res, err := s.calcThenPay(r.Context(), in.OutCode, in.Plate)
			out := struct {
				laneAnswer
				PayResult
			}{newLaneAnswer(cmb.Envelope{}, err), res}
			reply(w, out, err)
		}
	}
	m.HandleFunc("POST /_sim/scan-pay", payRoute(false))
	m.HandleFunc("POST /_sim/plate-pay", payRoute(true))
}
