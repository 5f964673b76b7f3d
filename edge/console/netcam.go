package console

import (
	"fmt"
	"io"
	"strconv"
)

// hasPictures reports whether a camera's view shows a network camera's
// reads (pictures or their uploads).
func hasPictures(ci CameraInfo) bool {
	if len(ci.Uploads) > 0 {
		return true
	}
	for _, f := range ci.Frames {
		if f.Full > 0 || f.Crop > 0 {
			return true
		}
	}
	return false
}

// writeNetFrames prints a network camera's last reads with their
// confidence and picture sizes, then its last picture uploads.
func writeNetFrames(c *Console, w io.Writer, ci CameraInfo) error {
	tw := newTab(w)
	fmt.Fprintln(tw, "TIME\tKIND\tPLATE\tCOLOUR\tCONF\tFRAME\tCROP\tERROR")
	for i, f := range ci.Frames {
		if i == framesShown {
			break
		}
		conf := "-"
		if f.Plate != "" {
			conf = strconv.Itoa(f.Conf)
			if f.LowConf {
				conf += " (low)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.fmtTime(f.At), f.Kind, orDash(f.Plate), orDash(f.Colour), conf,
			size(f.Full), size(f.Crop), orDash(f.Err))
	}
	tw.Flush()
	if len(ci.Uploads) == 0 {
		return nil
	}
	fmt.Fprintln(w, "pictures:")
	tw = newTab(w)
	fmt.Fprintln(tw, "RECORD\tIN/OUT\tFRAME\tCROP\tPICUPLOAD")
	for _, u := range ci.Uploads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.RecordID, u.InOut, size(u.Full), size(u.Plate), u.Result)
	}
	return tw.Flush()
}

func size(n int) string {
	switch {
	case n == 0:
		return "-"
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f kB", float64(n)/1024)
}
