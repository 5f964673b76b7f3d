package edge

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Moment is what a lane's board shows and says at one moment: its lines
// (folded onto the board's lines when it has fewer) and a sentence to say
// ("" for none). Both may hold the placeholders of Placeholders.
type Moment struct {
	Lines []string `toml:"lines"`
	Say   string   `toml:"say"`
}

// The moments a lane's display has, by configuration name.
const (
	MomentIdleEntry       = "idle_entry"
	MomentIdleExit        = "idle_exit"
	MomentEntryAdmitted   = "entry_admitted"
	MomentEntryRefused    = "entry_refused"
	MomentExitDue         = "exit_due"
	MomentExitPaid        = "exit_paid"
	MomentExitFree        = "exit_free"
	MomentExitContactless = "exit_contactless"
	MomentExitAutoPay     = "exit_autopay"
	MomentExitUnknown     = "exit_unknown"
	MomentUnlicensedEntry = "unlicensed_entry"
	MomentUnlicensedExit  = "unlicensed_exit"
	MomentFull            = "full"
)

// DefaultMoments are the texts of display-rs485.md's table, plus the
// moments it does not name (a contactless payment under way, an exit
// without a record, an unlicensed vehicle at an exit).
func DefaultMoments() map[string]Moment {
	return map[string]Moment{
		MomentIdleEntry:       {Lines: []string{"欢迎光临", "{park}", "剩余车位 {free}", "{time}"}},
		MomentIdleExit:        {Lines: []string{"一路平安", "{park}", "扫码缴费", "{time}"}},
		MomentEntryAdmitted:   {Lines: []string{"{plate}", "欢迎光临", "剩余车位 {free}", "请入场停车"}, Say: "{plate}欢迎光临"},
		MomentEntryRefused:    {Lines: []string{"{plate}", "{reason}", "请联系管理员"}, Say: "{reason}"},
		MomentExitDue:         {Lines: []string{"{plate}", "停车 {duration}", "请缴费 {fee}元", "请扫码支付"}, Say: "{plate}请缴费{fee}元"},
		MomentExitPaid:        {Lines: []string{"{plate}", "停车 {duration}", "已缴费", "一路平安"}, Say: "一路顺风"},
		MomentExitFree:        {Lines: []string{"{plate}", "停车 {duration}", "免费", "一路平安"}, Say: "一路顺风"},
		MomentExitContactless: {Lines: []string{"{plate}", "停车 {duration}", "无感支付 {fee}元", "一路平安"}, Say: "一路顺风"},
		MomentExitAutoPay:     {Lines: []string{"{plate}", "停车 {duration}", "无感支付 {fee}元", "请稍候"}, Say: "请稍候"},
		MomentExitUnknown:     {Lines: []string{"{plate}", "无入场记录", "请联系管理员"}},
		MomentUnlicensedEntry: {Lines: []string{"无牌车", "请扫码入场"}, Say: "请扫码入场"},
		MomentUnlicensedExit:  {Lines: []string{"无牌车", "请扫码缴费"}, Say: "请扫码缴费"},
		MomentFull:            {Lines: []string{"车位已满"}},
	}
}

// Refusal reasons as the board shows ({reason}), by configuration name.
const (
	ReasonBlacklisted = "blacklisted"
	ReasonInside      = "inside"
	ReasonFull        = "full"
	ReasonOther       = "other"
)

// DefaultReasons are the board's texts for a refused entry.
func DefaultReasons() map[string]string {
	return map[string]string{
		ReasonBlacklisted: "禁止通行", ReasonInside: "车辆已在场内", ReasonFull: "车位已满", ReasonOther: "暂停通行",
	}
}

// Placeholders are the names a display text may use in braces.
var Placeholders = []string{"plate", "fee", "duration", "free", "park", "reason", "time"}

var placeholderRE = regexp.MustCompile(`\{([^{}]*)\}`)

// CheckTemplate reports a placeholder that is not one of Placeholders,
// and braces that do not pair.
func CheckTemplate(s string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return fmt.Errorf("unknown placeholder {%s} (want one of {%s})", m[1], strings.Join(Placeholders, "} {"))
		}
	}
	if rest := placeholderRE.ReplaceAllString(s, ""); strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("unpaired brace in %q", s)
	}
	return nil
}

// Render replaces the placeholders of s by vals (a missing one by "").
func Render(s string, vals map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string { return vals[m[1:len(m)-1]] })
}

// Fold puts lines onto a board of n lines: with fewer lines than the text
// has, neighbouring lines share a board line, joined by a space.
func Fold(lines []string, n int) []string {
	if n <= 0 || len(lines) <= n {
		return lines
	}
	out := make([]string, n)
	per := (len(lines) + n - 1) / n
	for i := range n {
		lo, hi := min(i*per, len(lines)), min((i+1)*per, len(lines))
		out[i] = strings.TrimSpace(strings.Join(lines[lo:hi], " "))
	}
	return out
}

// WorstValues are the longest values each placeholder takes, for
// checking that a text fits a board.
func WorstValues(park string) map[string]string {
	reason := ""
	for _, r := range DefaultReasons() {
		if len(r) > len(reason) {
			reason = r
		}
	}
	return map[string]string{
		"plate": "临粤B0000000000001", "fee": "99999.99", "duration": "99天23时59分", "free": "99999",
		"park": park, "reason": reason, "time": "2006-01-02 15:04",
	}
}

// FeeText is fen as the board shows it: "11.00".
func FeeText(fen int64) string {
	if fen < 0 {
		fen = 0
	}
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// DurationText is a stay as the board shows it: "2时05分", "1天0时30分",
// "5分".
func DurationText(d time.Duration) string {
	m := int64(d / time.Minute)
	days, hours, mins := m/1440, m%1440/60, m%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d天%d时%02d分", days, hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d时%02d分", hours, mins)
	}
	return fmt.Sprintf("%d分", mins)
}
