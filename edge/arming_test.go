package edge

import (
	"context"
	"testing"
	"time"

	"laned/hal"
)

// TestStaleArmingRelease: the car before's arming-loop release, handled
// after the next car arrived and was read (events come on separate
// channels), does not forget the car now at the lane: the loop device
// says it is occupied. A release while the loop is clear forgets it (it
// drove away). (TestPlatformDownForADay lost a car this way: forgotten,
// read again within the dedupe window, left identifying.)
func TestStaleArmingRelease(t *testing.T) {
	for _, tc := range []struct {
		name      string
		backOff   bool          // the car really drives away before the release
		releaseAt time.Duration // the late release's time, from the read
		wantPlate string
	}{
		{"stale release, loop occupied", false, -time.Second, "沪A99999"},
		{"stale release at the read's instant", false, 0, "沪A99999"},
		// The car before left the instant this one arrived: its release
		// is stamped a debounce after the edge, after this car's read.
		{"stale release stamped a debounce after the read", false, 30 * time.Millisecond, "沪A99999"},
		{"real release, loop clear", true, 0, ""},
		// The car read backed off and the next one came onto the loop
		// before its release was handled: the read is older than the
		// release's edge, so it is not the car now there.
		{"release well after the read, loop occupied again", false, 3 * time.Second, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if st := h.arriveExit("沪A99999"); st.Vehicle != "沪A99999" || st.State != vUnknown.String() {
				t.Fatalf("exit = %q %q; want 沪A99999 unknown", st.Vehicle, st.State)
			}
			ln, _ := h.ctl.lane(h.exit.Name)
			if tc.backOff {
				h.exit.Back() // the loop clears, its release follows
			} else if err := ln.act(context.Background(), func(lctx context.Context) {
				// The car before's release, late: the loop is occupied.
				ln.onArming(lctx, hal.LoopEvent{Occupied: false, At: h.clk.Now().Add(tc.releaseAt)})
			}); err != nil {
				t.Fatal(err)
			}
			if st := h.laneStatus(h.exit); st.Vehicle != tc.wantPlate {
				t.Errorf("vehicle after the release = %q (%s); want %q", st.Vehicle, st.State, tc.wantPlate)
			}
		})
	}
}
