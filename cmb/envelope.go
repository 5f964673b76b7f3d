package cmb

import (
	"encoding/json"
	"math"
)

// Envelope is the JSON answer of every endpoint in both directions (§3.4):
// status 0 is success; data is absent when there is nothing to return.
type Envelope struct {
	Status  int             `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// OK reports status 0.
func (e Envelope) OK() bool { return e.Status == StatusOK }

// DecodeEnvelope reads an answer leniently: status may be a JSON number or
// a numeric string, message a string or a number, data absent, null or an
// object (kept raw; null reads as nil). A body that is not a JSON object or
// has no status is malformed.
func DecodeEnvelope(body []byte) (Envelope, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return Envelope{}, fieldErr("envelope", "not a JSON object")
	}
	raw, ok := m["status"]
	if !ok {
		return Envelope{}, fieldErr("status", "missing")
	}
	v, fe := parseJSON(raw, "status")
	if fe != nil {
		return Envelope{}, fe
	}
	st, ok, fe := jsonInt(v, "status")
	if fe != nil {
		return Envelope{}, fe
	}
	if !ok {
		return Envelope{}, fieldErr("status", "missing")
	}
	if st < math.MinInt32 || st > math.MaxInt32 {
		return Envelope{}, fieldErr("status", "out of range: %d", st)
	}
	env := Envelope{Status: int(st)}
	if raw, ok := m["message"]; ok {
		// Any text is accepted (a stack trace with newlines included), clipped:
		// an unreadable message must not turn a rejection into an unknown.
		v, fe := parseJSON(raw, "message")
		if fe != nil {
			return Envelope{}, fe
		}
		switch x := v.(type) {
		case string:
			env.Message = clipN(x, maxMessage)
		case json.Number:
			env.Message = x.String()
		}
	}
	if raw, ok := m["data"]; ok && string(raw) != "null" {
		env.Data = raw
	}
	return env, nil
}

// maxMessage clips a received message.
const maxMessage = 1024

// dataObj parses an answer's data: absent, null, an object, or (lenient) a
// string holding an object's JSON text or nothing.
func dataObj(data []byte) (*jobj, *FieldError) {
	if len(data) == 0 {
		return &jobj{m: map[string]any{}, path: "data."}, nil
	}
	v, fe := parseJSON(data, "data")
	if fe != nil {
		return nil, fe
	}
	if s, ok := v.(string); ok {
		if s == "" {
			return &jobj{m: map[string]any{}, path: "data."}, nil
		}
		if v, fe = parseJSON([]byte(s), "data"); fe != nil {
			return nil, fe
		}
	}
	return asObj(v, "data", "data.")
}
