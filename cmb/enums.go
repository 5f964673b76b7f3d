package cmb

import (
	"math"
	"slices"
	"strconv"
)

// Lane codes (in_code, out_code): 1–255 by §6.8 ("规范数字 1 - 255"), which is
// what we send. The field tables of §4.1, §5.3 and §5.4 say "0~255", so a
// received 0 is accepted on decode.
const (
	LaneMin       = 1
	LaneMax       = 255
	laneMinDecode = 0
)

// CallbackLaneMax is the largest in_code / out_code a callback may carry:
// any non-negative int (spec §2: the document's own signing example sends
// out_code=1065). A code with no lane of ours is answered, not refused.
const CallbackLaneMax = math.MaxInt32

// The enumerated fields. Each type's Valid reports a value the document
// lists; its table (table.go) refuses any other, sent or received.
type (
	// CarType is car_type (§5.3).
	CarType int
	// PowerType is power_type (§5.3).
	PowerType int
	// Colour is body_color and plate_color (§5.3), the only definition of
	// the plate colour codes in cmb.
	Colour int
	// AuthType is auth_type (§5.3).
	AuthType int
	// Model is the vehicle's operating type, model (§5.3).
	Model int
	// InOutFlag is PicUpload's in_out_flag (§5.6).
	InOutFlag int
	// AutoPayType is autoPayBind's auto_pay_type (§4.3; not used by the
	// platform yet, default 0).
	AutoPayType int
	// PayType is a charge item's pay_type (§5.4): 0–24, 47–59, 61–67 and 99.
	PayType int
	// DiscountUnit is calc's discount.unit (§4.1).
	DiscountUnit int
)

// The documented values, by type.
const (
	CarSmall    CarType = 1
	CarLarge    CarType = 2
	CarMilitary CarType = 65534 // 军警车

	PowerNormal   PowerType = 1
	PowerHybrid   PowerType = 2
	PowerElectric PowerType = 3

	ColourBlue   Colour = 0
	ColourYellow Colour = 1
	ColourWhite  Colour = 2
	ColourBlack  Colour = 3
	ColourGreen  Colour = 4

	AuthTemporary AuthType = 0
	AuthVIP       AuthType = 99

	ModelUnknown     Model = 0
	ModelSedan       Model = 1
	ModelVan         Model = 2
	ModelLargeBus    Model = 3
	ModelMediumBus   Model = 4
	ModelPickup      Model = 5
	ModelNonMotor    Model = 6
	ModelSUV         Model = 7
	ModelMPV         Model = 8
	ModelMiniTruck   Model = 9
	ModelLightTruck  Model = 10
	ModelMediumTruck Model = 11

	FlagIn  InOutFlag = 1
	FlagOut InOutFlag = 2

	ChargeThenExit AutoPayType = 0 // 先扣后出
	ExitThenCharge AutoPayType = 1 // 先出后扣

	PayShortStayFree  PayType = 0  // 短时免费
	PayCash           PayType = 1  // 现金
	PayAuthorisedFree PayType = 7  // 授权车免费 (VIP, monthly)
	PayManualFree     PayType = 8  // 手动免费开闸
	PayPrepaidGrace   PayType = 12 // 提前支付预留时间放行
	PayTariffFree     PayType = 52 // 计费免费
	PayCMB            PayType = 99 // 招行支付

	DiscountAmount DiscountUnit = 0 // value in fen
	DiscountTime   DiscountUnit = 1 // value in seconds
)

// oneOf reports v among the values.
func oneOf[T comparable](v T, values ...T) bool { return slices.Contains(values, v) }

// Valid reports a documented value.
func (c CarType) Valid() bool { return oneOf(c, CarSmall, CarLarge, CarMilitary) }

// Valid reports a documented value.
func (p PowerType) Valid() bool { return p >= PowerNormal && p <= PowerElectric }

// Valid reports a documented value.
func (c Colour) Valid() bool { return c >= ColourBlue && c <= ColourGreen }

// Valid reports a documented value.
func (a AuthType) Valid() bool { return oneOf(a, AuthTemporary, AuthVIP) }

// Valid reports a documented value.
func (m Model) Valid() bool { return m >= ModelUnknown && m <= ModelMediumTruck }

// Valid reports a documented value.
func (f InOutFlag) Valid() bool { return oneOf(f, FlagIn, FlagOut) }

// Valid reports a documented value.
func (a AutoPayType) Valid() bool { return oneOf(a, ChargeThenExit, ExitThenCharge) }

// Valid reports a documented value.
func (p PayType) Valid() bool {
	return p >= 0 && p <= 24 || p >= 47 && p <= 59 || p >= 61 && p <= 67 || p == PayCMB
}

// Valid reports a documented value.
func (u DiscountUnit) Valid() bool { return oneOf(u, DiscountAmount, DiscountTime) }

// String names a colour in English ("unknown" for an undocumented code,
// such as a camera's -1 for none).
func (c Colour) String() string {
	if !c.Valid() {
		return "unknown"
	}
	return [...]string{"blue", "yellow", "white", "black", "green"}[c]
}

// String names the pay types the car park itself sends in English (the
// console shows them), and the others "pay_type N".
func (p PayType) String() string {
	switch p {
	case PayCMB:
		return "CMB"
	case PayAuthorisedFree:
		return "VIP/monthly free"
	case PayManualFree:
		return "manual free"
	case PayShortStayFree:
		return "short stay free"
	case PayTariffFree:
		return "free by tariff"
	case PayPrepaidGrace:
		return "prepaid grace"
	}
	return "pay_type " + strconv.Itoa(int(p))
}
