package display

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"laned/hal"
)

// Voices is a board's table of burned-in voices: the words spoken, by
// their index. Boards differ, so the table is configuration; DefaultVoices
// are the indexes most boards carry.
type Voices map[string]byte

// DefaultVoices are the voice indexes commonly burned into AA55 boards
// (display-rs485.md). There is no 点 by default: amounts are spoken in
// whole yuan unless the table gets one.
func DefaultVoices() Voices {
	v := Voices{
		"欢迎光临": 0x01, "谢谢": 0x03, "请缴费": 0x0B, "请稍候": 0x0C, "此车": 0x13,
		"请入场停车": 0x14, "本次": 0x16, "元": 0x2D, "扣款": 0x44, "缴费成功": 0x45,
		"一路顺风": 0x5F, "再次光临": 0x62, "停车费": 0x6A,
	}
	for d := range 10 {
		v[string(rune('0'+d))] = byte(0x30 + d)
	}
	return v
}

// Name returns the words of index i, or "" when the table has none.
func (v Voices) Name(i byte) string {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if v[k] == i {
			return k
		}
	}
	return ""
}

// Phrases splits a sentence into the table's voices (longest match first)
// and the text between them, which a text-to-speech board speaks itself.
// Spaces are dropped.
func (v Voices) Phrases(s string) []hal.Phrase {
	s = strings.ReplaceAll(s, " ", "")
	longest := 0
	for k := range v {
		longest = max(longest, utf8.RuneCountInString(k))
	}
	var out []hal.Phrase
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, hal.Phrase{Text: text.String()})
			text.Reset()
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); {
		matched := false
		for n := min(longest, len(rs)-i); n > 0; n-- {
			w := string(rs[i : i+n])
			if idx, ok := v[w]; ok {
				flush()
				out = append(out, hal.Phrase{Text: w, Index: idx, Indexed: true})
				i += n
				matched = true
				break
			}
		}
		if !matched {
			text.WriteRune(rs[i])
			i++
		}
	}
	flush()
	return out
}

// SpokenFee is fen as these boards speak it: "15点5" when the table has a
// 点 voice (trailing zeros dropped), else whole yuan, rounded down ("15").
// Phrases then speaks it digit by digit.
func (v Voices) SpokenFee(fen int64) string {
	if fen < 0 {
		fen = 0
	}
	y, f := fen/100, fen%100
	if _, ok := v["点"]; !ok || f == 0 {
		return fmt.Sprint(y)
	}
	return strings.TrimRight(fmt.Sprintf("%d点%02d", y, f), "0")
}

// Said is the text of phrases as a driver hears it, indexes named by v
// (printable ASCII as itself: a plate's letters; another unknown index
// shows as [#NN]).
func (v Voices) Said(ps []hal.Phrase) string {
	var b strings.Builder
	for _, p := range ps {
		switch {
		case !p.Indexed || p.Text != "":
			b.WriteString(p.Text)
		case v.Name(p.Index) != "":
			b.WriteString(v.Name(p.Index))
		case p.Index >= 0x20 && p.Index < 0x7F:
			b.WriteByte(p.Index) // a plate's letter, spoken by a TTS board
		default:
			fmt.Fprintf(&b, "[#%02X]", p.Index)
		}
	}
	return b.String()
}
