package cmb

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
)

// BodyEncoding is how a form travels in a POST body. The document says
// POST-FORM; the platform has been seen to send urlencoded bodies with and
// without a charset, without a Content-Type, and multipart/form-data. The
// Server accepts them all; Client sends BodyForm.
type BodyEncoding int

const (
	BodyForm        BodyEncoding = iota // application/x-www-form-urlencoded
	BodyFormCharset                     // application/x-www-form-urlencoded; charset=UTF-8
	BodyNoType                          // urlencoded, no Content-Type header
	BodyMultipart                       // multipart/form-data, one part per field
)

// String is the encoding's name, as ParseBodyEncoding reads it.
func (e BodyEncoding) String() string {
	switch e {
	case BodyForm:
		return "form"
	case BodyFormCharset:
		return "form-charset"
	case BodyNoType:
		return "no-type"
	case BodyMultipart:
		return "multipart"
	}
	return fmt.Sprintf("BodyEncoding(%d)", int(e))
}

// ParseBodyEncoding reads a BodyEncoding's name.
func ParseBodyEncoding(s string) (BodyEncoding, error) {
	for e := BodyForm; e <= BodyMultipart; e++ {
		if e.String() == s {
			return e, nil
		}
	}
	return 0, fmt.Errorf("cmb: body encoding %q: want form, form-charset, no-type or multipart", s)
}

// encode returns the body and its Content-Type ("" for none).
func (e BodyEncoding) encode(form url.Values) ([]byte, string, error) {
	switch e {
	case BodyForm:
		return []byte(form.Encode()), "application/x-www-form-urlencoded", nil
	case BodyFormCharset:
		return []byte(form.Encode()), "application/x-www-form-urlencoded; charset=UTF-8", nil
	case BodyNoType:
		return []byte(form.Encode()), "", nil
	case BodyMultipart:
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		keys := make([]string, 0, len(form))
		for k := range form {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range form[k] {
				if err := w.WriteField(k, v); err != nil {
					return nil, "", err
				}
			}
		}
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		return b.Bytes(), w.FormDataContentType(), nil
	}
	return nil, "", fmt.Errorf("cmb: unknown body encoding %d", int(e))
}

// errNotForm: the body is neither urlencoded nor multipart/form-data.
var errNotForm = errors.New("body is not a form")

// decodeBody parses a callback body by its Content-Type: urlencoded (with
// any parameters, or no Content-Type at all) or multipart/form-data (text
// fields only; a file part is refused). max bounds what multipart parsing
// keeps in memory (the body is already bounded by the caller).
func decodeBody(ctype string, body []byte, max int64) (url.Values, error) {
	if ctype == "" {
		return url.ParseQuery(string(body))
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return nil, fmt.Errorf("%w: Content-Type %q: %v", errNotForm, ctype, err)
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return url.ParseQuery(string(body))
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, fmt.Errorf("%w: multipart/form-data without a boundary", errNotForm)
		}
		f, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(max)
		if err != nil {
			return nil, fmt.Errorf("multipart body: %w", err)
		}
		defer f.RemoveAll()
		if len(f.File) > 0 {
			return nil, fmt.Errorf("multipart body: file parts are not accepted")
		}
		return url.Values(f.Value), nil
	}
	return nil, fmt.Errorf("%w: Content-Type %q", errNotForm, ctype)
}
