package cmbtest

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// RefSign is the sign of spec §3.2 as written, independent of cmb.Sign,
// for tests to check it against: the non-empty parameters except sign
// (and skip, when not ""), sorted by name in ASCII order, joined as
// key=value with the raw values, the appsecret appended, MD5 in lower
// case.
func RefSign(v url.Values, secret, skip string) string {
	var keys []string
	for k, vs := range v {
		if k == "sign" || k == skip || len(vs) == 0 || vs[0] == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + v.Get(k))
	}
	sum := md5.Sum([]byte(b.String() + secret))
	return hex.EncodeToString(sum[:])
}
