// Package cmbtest provides fakes for tests of code that uses package cmb: a
// recording cmb.Handler and an HTTPDoer made of a function.
package cmbtest

import (
	"context"
	"net/http"
	"sync"

	"laned/cmb"
)

// Call is one call the Handler received.
type Call struct {
	Endpoint string // cmb.EpCalc, …
	Request  any    // cmb.CalcRequest, cmb.PayRequest, …
}

// Handler is a fake cmb.Handler. Each method records the call and then
// calls its Func if set, or answers success with a zero answer. It is safe
// for concurrent use.
type Handler struct {
	CalcFunc          func(context.Context, cmb.CalcRequest) (cmb.CalcAnswer, error)
	PayFunc           func(context.Context, cmb.PayRequest) error
	AutoPayBindFunc   func(context.Context, cmb.AutoPayBindRequest) error
	AutoPayUnbindFunc func(context.Context, cmb.AutoPayUnbindRequest) error
	NoVplnFunc        func(context.Context, cmb.NoVplnRequest) (cmb.NoVplnAnswer, error)

	mu    sync.Mutex
	calls []Call
}

var _ cmb.Handler = (*Handler)(nil)

func (h *Handler) record(endpoint string, r any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, Call{Endpoint: endpoint, Request: r})
}

// Calls returns a copy of the calls so far.
func (h *Handler) Calls() []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Call(nil), h.calls...)
}

// Calc implements cmb.Handler.
func (h *Handler) Calc(ctx context.Context, r cmb.CalcRequest) (cmb.CalcAnswer, error) {
	h.record(cmb.EpCalc, r)
	if h.CalcFunc != nil {
		return h.CalcFunc(ctx, r)
	}
	return cmb.CalcAnswer{}, nil
}

// Pay implements cmb.Handler.
func (h *Handler) Pay(ctx context.Context, r cmb.PayRequest) error {
	h.record(cmb.EpPay, r)
	if h.PayFunc != nil {
		return h.PayFunc(ctx, r)
	}
	return nil
}

// AutoPayBind implements cmb.Handler.
func (h *Handler) AutoPayBind(ctx context.Context, r cmb.AutoPayBindRequest) error {
	h.record(cmb.EpAutoPayBind, r)
	if h.AutoPayBindFunc != nil {
		return h.AutoPayBindFunc(ctx, r)
	}
	return nil
}

// AutoPayUnbind implements cmb.Handler.
func (h *Handler) AutoPayUnbind(ctx context.Context, r cmb.AutoPayUnbindRequest) error {
	h.record(cmb.EpAutoPayUnbind, r)
	if h.AutoPayUnbindFunc != nil {
		return h.AutoPayUnbindFunc(ctx, r)
	}
	return nil
}

// NoVpln implements cmb.Handler.
func (h *Handler) NoVpln(ctx context.Context, r cmb.NoVplnRequest) (cmb.NoVplnAnswer, error) {
	h.record(cmb.EpNoVpln, r)
	if h.NoVplnFunc != nil {
		return h.NoVplnFunc(ctx, r)
	}
	return cmb.NoVplnAnswer{}, nil
}

// DoerFunc is a cmb.HTTPDoer made of a function.
type DoerFunc func(*http.Request) (*http.Response, error)

var _ cmb.HTTPDoer = DoerFunc(nil)

// Do implements cmb.HTTPDoer.
func (f DoerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
