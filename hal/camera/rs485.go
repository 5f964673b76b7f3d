package camera

import "fmt"

// serialRS485 is struct serial_rs485 of <linux/serial.h> (32 bytes).
type serialRS485 struct {
	Flags              uint32
	DelayRTSBeforeSend uint32 // ms
	DelayRTSAfterSend  uint32 // ms
	Padding            [5]uint32
}

const (
	serRS485Enabled   = 1 << 0
	serRS485RTSOnSend = 1 << 1
)

// checkRS485 compares the RS-485 flags read back (TIOCGRS485) with the
// flags set: the mode is on, and RTS is raised while sending (where DE is
// wired). Anything else means the driver ignored the request.
func checkRS485(path string, set, got serialRS485) error {
	const need = serRS485Enabled | serRS485RTSOnSend
	if got.Flags&need != set.Flags&need {
		return fmt.Errorf("rs485: %s: the UART driver ignored RS-485 mode (flags %#x set, %#x read back): "+
			"DE (RTS) would never rise; use rs485 = \"gpio\" with a DE pin, or a UART whose driver supports it: %w",
			path, set.Flags, got.Flags, ErrUnsupported)
	}
	return nil
}
