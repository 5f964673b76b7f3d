package cmbsim

import (
	"errors"
	"net/url"
	"strconv"

	"laned/cmb"
)

// processLocked checks and applies one uplink, as the platform would, and
// returns its answer. Called with s.mu held; no I/O.
func (s *Sim) processLocked(ep string, params url.Values, seq int64) answer {
	switch appid := params.Get(cmb.ParamAppID); {
	case appid == "":
		return refuse(cmb.StatusUnauthorized, "appid 不能为空 (appid is empty: send the parameters as a form body)")
	case appid != s.cfg.AppID:
		return refuse(cmb.StatusUnauthorized, "unknown appid %q", appid)
	}
	if err := cmb.VerifyFor(ep, params, s.cfg.Secret); err != nil {
		if errors.Is(err, cmb.ErrBadSign) {
			return refuse(cmb.StatusUnauthorized, "签名校验失败 (sign does not verify)")
		}
		return refuse(cmb.StatusMalformed, "%v", err)
	}
	switch ep {
	case cmb.EpIndata:
		m, err := cmb.DecodeIndata(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		r := s.recordLocked(m.RecordID)
		r.indata = true
		if r.plate == "" {
			r.plate = m.VplNumber
		}
		r.inTime = m.InTime
		return answer{data: s.contactlessAnswerLocked(ep, m.VplNumber)}

	case cmb.EpOutdata:
		m, err := cmb.DecodeOutdata(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		r := s.recordLocked(m.RecordID)
		if !r.indata {
			s.violateLocked(seq, ep, m.RecordID, "Outdata before the record's Indata")
		}
		r.outdata = true
		if r.plate == "" {
			r.plate = m.VplNumber
		}
		return answer{}

	case cmb.EpAutoPay:
		m, err := cmb.DecodeAutoPay(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		return s.autoPayLocked(m, seq)

	case cmb.EpPayOrderStatus:
		m, err := cmb.DecodePayOrderStatus(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		o, ok := s.orders[m.RequestOrder]
		if !ok || !o.Charged {
			return refuse(StatusNoSuchOrder, "无此订单 (no such order: %s)", m.RequestOrder)
		}
		return answer{data: cmb.PayOrderStatusAnswer{VplNumber: o.Plate, Amount: o.Amount, ParkingDuration: o.Duration, ChannelOrder: o.ChannelOrder}}

	case cmb.EpAutoPayStatus:
		m, err := cmb.DecodeAutoPayStatus(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		return answer{data: s.contactlessAnswerLocked(ep, m.VplNumber)}

	case cmb.EpSpaceInfo:
		m, err := cmb.DecodeSpaceInfo(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		s.park.TotalEmpty, s.park.VIPEmpty, s.park.TmpEmpty = int64(m.TotalEmpty), int64(m.VipEmpty), int64(m.TmpEmpty)
		s.park.SpaceInfoAt = s.now().Unix()
		return answer{}

	case cmb.EpPicUpload:
		m, err := cmb.DecodePicUpload(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		r := s.recordLocked(m.RecordID)
		switch {
		case m.InOutFlag == cmb.FlagIn && !r.indata:
			s.violateLocked(seq, ep, m.RecordID, "entry picture before the record's Indata")
		case m.InOutFlag == cmb.FlagOut && !r.outdata:
			s.violateLocked(seq, ep, m.RecordID, "exit picture before the record's Outdata")
		}
		s.keepPictureLocked(m)
		return answer{}

	case cmb.EpConfigUpload:
		m, err := cmb.DecodeConfigUpload(params)
		if a, bad := s.badLocked(err, m.ParkCode); bad {
			return a
		}
		s.park.ReservedOutTime = m.ConfigItems.ReservedOutTime
		s.park.ConfigAt = s.now().Unix()
		return answer{}
	}
	return refuse(cmb.StatusNotFound, "unknown uplink %s", ep)
}

// badLocked turns a decode error or a foreign park_code into a refusal.
func (s *Sim) badLocked(err error, park int64) (answer, bool) {
	if err != nil {
		return refuse(cmb.StatusMalformed, "%v", err), true
	}
	if park != s.cfg.ParkCode {
		return refuse(cmb.StatusWrongPark, "park_code %d is not this platform's car park", park), true
	}
	return answer{}, false
}

func (s *Sim) contactlessLocked(plate string) cmb.IndataAnswer {
	if a, ok := s.agreements[plate]; ok {
		return cmb.IndataAnswer{UID: cmb.UIDContactless, Limit: a.Limit}
	}
	return cmb.IndataAnswer{}
}

// autoPayLocked charges at most once per request_order: a repeat gets the
// first answer.
func (s *Sim) autoPayLocked(m cmb.AutoPay, seq int64) answer {
	r := s.recordLocked(m.RecordID)
	if !r.indata {
		s.violateLocked(seq, cmb.EpAutoPay, m.RecordID, "AutoPay before the record's Indata")
	}
	if o, ok := s.orders[m.RequestOrder]; ok {
		o.Requests++
		if o.Plate != m.VplNumber || o.RecordID != m.RecordID || o.Amount != m.Amount {
			s.violateLocked(seq, cmb.EpAutoPay, m.RecordID, "request_order "+m.RequestOrder+" reused for a different payment (first: "+
				o.Plate+" "+o.RecordID+" "+strconv.FormatInt(o.Amount, 10)+" fen)")
		}
		return orderAnswer(o)
	}
	o := &Order{RequestOrder: m.RequestOrder, Plate: m.VplNumber, RecordID: m.RecordID, Amount: m.Amount,
		Guaranteed: s.guaranteed, Requests: 1}
	s.orders[m.RequestOrder] = o
	s.orderSeq = append(s.orderSeq, m.RequestOrder)
	ag, ok := s.agreements[m.VplNumber]
	fails := s.failPay[m.VplNumber]
	switch {
	case !ok:
		o.Status, o.Message = StatusNoAgreement, "未开通无感支付 (no contactless agreement for "+m.VplNumber+")"
	case m.Amount > ag.Limit:
		o.Status, o.Message = StatusOverLimit, "超过无感限额 (amount "+strconv.FormatInt(m.Amount, 10)+" fen above the limit "+strconv.FormatInt(ag.Limit, 10)+")"
	case fails && !s.guaranteed:
		o.Status, o.Message = StatusPaymentFailed, "扣款失败 (payment failed)"
	default:
		now := s.now().Unix()
		o.Charged = true
		o.Collected = !fails
		o.PayTime = now
		o.ChannelOrder = s.newIDLocked("CMB")
		if r.indata && now > r.inTime {
			o.Duration = now - r.inTime
		}
		r.chargedOrders = append(r.chargedOrders, m.RequestOrder)
	}
	a := orderAnswer(o)
	if !s.guaranteed {
		// Non-guaranteed: the answer comes once the charge went through
		// (or failed). Guaranteed: at once, the bank completes it later.
		a.wait = s.bank.chargeDelay
	}
	a.notice = s.contactlessNoticeLocked(o)
	return a
}

func orderAnswer(o *Order) answer {
	if !o.Charged {
		return answer{status: o.Status, message: o.Message}
	}
	return answer{data: cmb.AutoPayAnswer{VplNumber: o.Plate, PayTime: o.PayTime, ChannelOrder: o.ChannelOrder}}
}
