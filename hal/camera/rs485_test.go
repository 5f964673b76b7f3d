package camera

import (
	"errors"
	"testing"
)

func TestCheckRS485ReadBack(t *testing.T) {
	set := serialRS485{Flags: serRS485Enabled | serRS485RTSOnSend}
	tests := []struct {
		got  uint32
		want error
	}{
		{serRS485Enabled | serRS485RTSOnSend, nil},
		{serRS485Enabled | serRS485RTSOnSend | 1<<4, nil}, // extra flags the driver sets are fine
		{0, ErrUnsupported},                               // ignored
		{serRS485Enabled, ErrUnsupported},                 // RTS not raised on send
	}
	for _, tt := range tests {
		err := checkRS485("/dev/ttyAMA0", set, serialRS485{Flags: tt.got})
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("checkRS485(read back %#x) = %v; want %v", tt.got, err, tt.want)
		}
	}
}
