package cmb

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
)

// Names of the common parameters (§3.1).
const (
	ParamAppID = "appid"
	ParamSign  = "sign"
)

// paramPicCon is PicUpload's picture, which is not signed (§5.6).
const paramPicCon = "pic_con"

// signInput builds the string that is hashed: the parameters except sign and
// those in skip, with non-empty values, sorted by name in byte order, joined
// as k=v with raw values, followed by the secret. Of a repeated name only the
// first value counts.
func signInput(params url.Values, secret string, skip string) []byte {
	names := make([]string, 0, len(params))
	n := len(secret)
	for k, vs := range params {
		if k == ParamSign || k == skip || len(vs) == 0 || vs[0] == "" {
			continue
		}
		names = append(names, k)
		n += len(k) + len(vs[0]) + 2
	}
	slices.Sort(names) // string order is byte order
	b := make([]byte, 0, n)
	for i, k := range names {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, params[k][0]...)
	}
	return append(b, secret...)
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// Sign computes the sign of params as §3.2 writes it: drop sign and the
// empty values, sort the names by byte value, join k=v&… with the raw
// (unescaped) values, append the secret, MD5, lower-case hex. When a name
// has several values, only the first is signed (and Verify refuses such a
// set: the platform never repeats a name).
func Sign(params url.Values, secret string) string {
	return md5hex(signInput(params, secret, ""))
}

// SignFor is Sign for the named endpoint: PicUpload's pic_con is not signed.
func SignFor(endpoint string, params url.Values, secret string) string {
	return md5hex(signInput(params, secret, skipFor(endpoint)))
}

func skipFor(endpoint string) string {
	if endpoint == EpPicUpload {
		return paramPicCon
	}
	return ""
}

// Verify checks the sign parameter of params against everything else
// received, unknown fields included, in constant time. A missing or wrong
// sign is ErrBadSign; a repeated parameter is a *FieldError (ErrMalformed).
// The hex is compared case-insensitively.
func Verify(params url.Values, secret string) error {
	return verify("", params, secret)
}

// VerifyFor is Verify for the named endpoint (PicUpload skips pic_con).
func VerifyFor(endpoint string, params url.Values, secret string) error {
	return verify(endpoint, params, secret)
}

func verify(endpoint string, params url.Values, secret string) error {
	for k, vs := range params {
		if len(vs) > 1 {
			return fieldErr(k, "repeated %d times", len(vs))
		}
	}
	got := params.Get(ParamSign)
	if got == "" {
		return ErrBadSign
	}
	want := md5hex(signInput(params, secret, skipFor(endpoint)))
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) != 1 {
		return ErrBadSign
	}
	return nil
}
