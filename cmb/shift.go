package cmb

import "net/url"

// ShiftTimes moves the times the car park stamped in the fields of an
// uplink of endpoint name (Indata's in_time; Outdata's in_time, out_time
// and charge item times) through shift, which returns the new time and
// whether it moved. It re-encodes the changed fields exactly as Values
// does and reports whether any changed. Other endpoints, and fields that
// do not decode, are left as they are: a fix-up never invents a field.
func ShiftTimes(name string, v url.Values, shift func(unix int64) (int64, bool)) bool {
	var out url.Values
	switch name {
	case EpIndata:
		r, err := DecodeIndata(v)
		if err != nil {
			return false
		}
		t, ok := shift(r.InTime)
		if !ok {
			return false
		}
		r.InTime = t
		if out, err = r.Values(); err != nil {
			return false
		}
	case EpOutdata:
		r, err := DecodeOutdata(v)
		if err != nil {
			return false
		}
		moved := false
		if t, ok := shift(r.InTime); ok {
			r.InTime, moved = t, true
		}
		if t, ok := shift(r.OutTime); ok {
			r.OutTime, moved = t, true
		}
		for i := range r.ChargeItems {
			if t, ok := shift(r.ChargeItems[i].Time); ok {
				r.ChargeItems[i].Time, moved = t, true
			}
		}
		if !moved {
			return false
		}
		if out, err = r.Values(); err != nil {
			return false
		}
	default:
		return false
	}
	for _, k := range []string{fInTime, fOutTime, fChargeItems} {
		if s := out.Get(k); s != "" {
			v.Set(k, s)
		}
	}
	return true
}
