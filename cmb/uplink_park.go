package cmb

import "net/url"

// The uplinks about the car park itself: free spaces, pictures, settings.

// ---- SpaceInfo (§5.2) ----

// SpaceInfo reports free spaces.
type SpaceInfo struct {
	ParkCode   int64
	TotalEmpty int
	VipEmpty   int
	TmpEmpty   int
	Extra      url.Values
}

var spaceInfoTable = &table[SpaceInfo]{fields: []field[SpaceInfo]{
	num(ruleParkCode, func(r *SpaceInfo) *int64 { return &r.ParkCode }),
	num(intRule(fTotalEmpty, true, 0, maxCount), func(r *SpaceInfo) *int { return &r.TotalEmpty }),
	num(intRule(fVipEmpty, true, 0, maxCount), func(r *SpaceInfo) *int { return &r.VipEmpty }),
	num(intRule(fTmpEmpty, true, 0, maxCount), func(r *SpaceInfo) *int { return &r.TmpEmpty }),
}, extra: func(r *SpaceInfo) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r SpaceInfo) Values() (url.Values, error) { return spaceInfoTable.values(&r) }

// DecodeSpaceInfo parses a received SpaceInfo.
func DecodeSpaceInfo(v url.Values) (SpaceInfo, error) { return decodeForm(spaceInfoTable, v) }

// ---- PicUpload (§5.6) ----

// PicUpload sends an entry or exit picture: base64 image text or an image
// URL. pic_con is not signed.
type PicUpload struct {
	ParkCode  int64
	RecordID  string
	InOutFlag InOutFlag
	PicCon    string
	Extra     url.Values
}

var picUploadTable = &table[PicUpload]{fields: []field[PicUpload]{
	num(ruleParkCode, func(r *PicUpload) *int64 { return &r.ParkCode }),
	text(ruleRecordID, func(r *PicUpload) *string { return &r.RecordID }),
	num(enumRule[InOutFlag](fInOutFlag, true), func(r *PicUpload) *InOutFlag { return &r.InOutFlag }),
	text(textRule(fPicCon, true, maxPicLen), func(r *PicUpload) *string { return &r.PicCon }),
}, extra: func(r *PicUpload) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r PicUpload) Values() (url.Values, error) { return picUploadTable.values(&r) }

// DecodePicUpload parses a received PicUpload.
func DecodePicUpload(v url.Values) (PicUpload, error) { return decodeForm(picUploadTable, v) }

// ---- ConfigUpload (§5.7) ----

// ConfigUpload reports the car park's configuration.
type ConfigUpload struct {
	ParkCode    int64
	ConfigItems ConfigItems
	Extra       url.Values
}

// ConfigItems is config_items.
type ConfigItems struct {
	ReservedOutTime int64 `json:"reserved_out_time"` // seconds a prepaid vehicle has to leave
}

var configItemsTable = &table[ConfigItems]{fields: []field[ConfigItems]{
	num(intRule("reserved_out_time", true, 0, maxSeconds), func(c *ConfigItems) *int64 { return &c.ReservedOutTime }),
}}

var configUploadTable = &table[ConfigUpload]{fields: []field[ConfigUpload]{
	num(ruleParkCode, func(r *ConfigUpload) *int64 { return &r.ParkCode }),
	jsonField(fConfigItems,
		func(r *ConfigUpload) any { return r.ConfigItems },
		func(r *ConfigUpload) *FieldError { return configItemsTable.valid(&r.ConfigItems, fConfigItems+".") },
		func(r *ConfigUpload, s string) *FieldError {
			jv, fe := parseJSON([]byte(s), fConfigItems)
			if fe != nil {
				return fe
			}
			o, fe := asObj(jv, fConfigItems, fConfigItems+".")
			if fe != nil || jv == nil {
				return fieldErr(fConfigItems, "not a JSON object")
			}
			return configItemsTable.decodeObj(o, &r.ConfigItems)
		}),
}, extra: func(r *ConfigUpload) *url.Values { return &r.Extra }}

// Values validates r and encodes it.
func (r ConfigUpload) Values() (url.Values, error) { return configUploadTable.values(&r) }

// DecodeConfigUpload parses a received ConfigUpload.
func DecodeConfigUpload(v url.Values) (ConfigUpload, error) { return decodeForm(configUploadTable, v) }
