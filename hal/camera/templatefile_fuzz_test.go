package camera_test

import (
	"strings"
	"testing"

	"laned/hal"
	"laned/hal/camera"
)

// FuzzParseTemplate: any template file either fails with an error or
// gives a template that validates and whose decoder survives its own
// frames.
func FuzzParseTemplate(f *testing.F) {
	f.Add(specTemplate)
	f.Add("header = \"\\xAA\\x55#\" # comment\nfields = [plate, \"-\", time]\nsep=\";\"\nend = \"\\r\\n\"\nencoding = UTF-8\nzone = \"UTC\"\n")
	f.Add("header = \"\\xAA\\x55\"\nfields = [plate, conf]\nwidths = [8, 3]\nchecksum = sum8\n")
	f.Add("fields = [\"plate\"\nsep = \",\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		tm, err := camera.ParseTemplate(strings.NewReader(in))
		if err != nil {
			return
		}
		if err := tm.Validate(); err != nil {
			t.Fatalf("ParseTemplate(%q) gave a template that does not validate: %v", in, err)
		}
		frame, err := tm.Encode(hal.PlateEvent{Kind: hal.KindPlate, Plate: "京A12345", Conf: 90})
		if err != nil {
			return // a width too small for the plate
		}
		d := tm.NewDecoder()
		res := append(d.Feed(frame, t0), d.Flush(t0)...)
		if covered(res) != len(frame) {
			t.Fatalf("decoding its own frame %q accounted for %d of %d bytes", frame, covered(res), len(frame))
		}
	})
}
