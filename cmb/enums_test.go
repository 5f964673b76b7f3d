package cmb

import "testing"

// The English names the console shows, one per constant.
func TestNames(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{PayCMB.String(), "CMB"}, {PayAuthorisedFree.String(), "VIP/monthly free"}, {PayManualFree.String(), "manual free"},
		{PayShortStayFree.String(), "short stay free"}, {PayTariffFree.String(), "free by tariff"},
		{PayPrepaidGrace.String(), "prepaid grace"}, {PayCash.String(), "pay_type 1"}, {PayType(30).String(), "pay_type 30"},
		{ColourBlue.String(), "blue"}, {ColourYellow.String(), "yellow"}, {ColourWhite.String(), "white"},
		{ColourBlack.String(), "black"}, {ColourGreen.String(), "green"}, {Colour(-1).String(), "unknown"}, {Colour(5).String(), "unknown"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q; want %q", tt.got, tt.want)
		}
	}
}
