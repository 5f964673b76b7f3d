package cmb

// Uplink endpoint names (car park → platform, POST {base}/api/<Name>).
const (
	EpIndata         = "Indata"
	EpOutdata        = "Outdata"
	EpAutoPay        = "AutoPay"
	EpPayOrderStatus = "PayOrderStatus"
	EpAutoPayStatus  = "AutoPayStatus"
	EpSpaceInfo      = "SpaceInfo"
	EpPicUpload      = "PicUpload"
	EpConfigUpload   = "ConfigUpload"
)

// Downlink endpoint names (platform → car park, POST {prefix}cmbParking/<name>).
const (
	EpCalc          = "calc"
	EpPay           = "pay"
	EpAutoPayBind   = "autoPayBind"
	EpAutoPayUnbind = "autoPayUnbind"
	EpNoVpln        = "NoVpln"
)

// Uplinks lists the uplink endpoint names; Downlinks the downlink ones.
var (
	Uplinks   = []string{EpIndata, EpOutdata, EpAutoPay, EpPayOrderStatus, EpAutoPayStatus, EpSpaceInfo, EpPicUpload, EpConfigUpload}
	Downlinks = []string{EpCalc, EpPay, EpAutoPayBind, EpAutoPayUnbind, EpNoVpln}
)

// DownlinkPath is the path segment before a downlink name (§6.10).
const DownlinkPath = "cmbParking/"

// Answer statuses. 0 is success; the business codes of calc and NoVpln are
// small numbers. Refusals by the Server use HTTP-like codes so they never
// collide with a business code (a NoVpln refusal must not read as "1:
// licensed vehicle at the entry").
const (
	StatusOK = 0
	// StatusFailed is the document's generic failure ("0:成功 1:失败"):
	// a pay notice for a record_id the car park does not know.
	StatusFailed = 1

	// calc (§4.1)
	CalcUnavailable    = 1 // 无法访问
	CalcNoRecord       = 2 // 无记录 ("no order"; data.vpl_number still set)
	CalcNoPlate        = 3 // 未获取车牌
	CalcUnknownVehicle = 4 // 未知车型
	CalcTariffError    = 5 // 计费规则相关配置错误

	// NoVpln (§4.5)
	NoVplnLicensed  = 1 // the entry sees a licensed vehicle
	NoVplnNoVehicle = 2 // nothing at the entry
	// NoVplnCannotAdmit: a vehicle is there but cannot be admitted (car
	// park full, a fault): neither "licensed vehicle" nor "no vehicle",
	// which would mislead the driver. The document lists no code for it.
	NoVplnCannotAdmit = 3

	// Server refusals.
	StatusMalformed    = 400 // not a form, missing/malformed field, repeated parameter
	StatusUnauthorized = 401 // appid missing or wrong, sign missing or wrong
	StatusWrongPark    = 403 // park_code is not ours
	StatusNotFound     = 404 // unknown path
	StatusMethod       = 405 // not POST
	StatusTooLarge     = 413 // body above the limit
	StatusInternal     = 500 // handler failed or panicked
)

// uid of the Indata and AutoPayStatus answers (§5.3, §5.5).
const (
	UIDNotContactless = 0 // no contactless agreement
	UIDContactless    = 1 // contactless pay agreed
)
