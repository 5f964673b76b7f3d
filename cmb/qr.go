package cmb

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Environment names a platform environment (§3.3, §3.5).
type Environment string

const (
	EnvST   Environment = "st"
	EnvUAT  Environment = "uat" // the integration environment
	EnvProd Environment = "prod"
)

var envs = map[Environment]struct{ api, qr string }{
	EnvST:   {"https://openmain-st.park.cmbchina.biz", "cmain-st.park.cmbchina.biz"},
	EnvUAT:  {"https://openmain-uat.park.cmbchina.biz", "cmain-uat.park.cmbchina.biz"},
	EnvProd: {"https://openmain.park.cmbchina.biz", "cmain.park.cmbchina.biz"},
}

// ParseEnvironment reads "st", "uat", "prod" or "production" (any case).
func ParseEnvironment(s string) (Environment, error) {
	e := Environment(strings.ToLower(strings.TrimSpace(s)))
	if e == "production" {
		e = EnvProd
	}
	if _, ok := envs[e]; !ok {
		return "", fmt.Errorf("cmb: unknown environment %q (want st, uat or prod)", s)
	}
	return e, nil
}

// APIBase is the platform's uplink base URL of env ("" if unknown).
func APIBase(env Environment) string { return envs[env].api }

// QRHost is the host of env's dynamic QR codes ("" if unknown).
func QRHost(env Environment) string { return envs[env].qr }

// QRURL builds a dynamic QR code's URL (§3.5):
// https://{host}/ytc/login?type=1&park_code=…&vpl_number=…&berth_number=…
// with the values query-escaped. host is a bare host (QRHost(env)) or a
// base URL with its scheme. berth is the berth or exit number; vplNumber may
// be empty (an exit screen before a plate is known).
func QRURL(host string, parkCode int64, vplNumber, berth string) string {
	base := strings.TrimRight(host, "/")
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	return base + "/ytc/login?type=1&park_code=" + strconv.FormatInt(parkCode, 10) +
		"&vpl_number=" + url.QueryEscape(vplNumber) + "&berth_number=" + url.QueryEscape(berth)
}
