package cmbsim

import "laned/cmb"

// SetCallbackBody sets how later callbacks are encoded: a plain
// urlencoded form, with a charset, without a Content-Type, or
// multipart/form-data, as the bank sends them.
func (s *Sim) SetCallbackBody(enc cmb.BodyEncoding) { s.body.Store(int32(enc)) }

// CallbackBody reports how callbacks are encoded.
func (s *Sim) CallbackBody() cmb.BodyEncoding { return cmb.BodyEncoding(s.body.Load()) }
