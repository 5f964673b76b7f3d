package evq

import "testing"

func TestQueueOrderNeverBlocksAndCloses(t *testing.T) {
	q := New[int](2)
	for i := range 100 { // far beyond the buffer: Push never blocks
		q.Push(i)
	}
	for i := range 100 {
		if got := <-q.Out(); got != i {
			t.Fatalf("value %d = %d; want %d (in order)", i, got, i)
		}
	}
	for !q.Idle() {
	}
	q.Push(7)
	q.Close()
	q.Close() // idempotent
	q.Push(8) // after Close: dropped
	var rest []int
	for v := range q.Out() {
		rest = append(rest, v)
	}
	if len(rest) > 1 || (len(rest) == 1 && rest[0] != 7) {
		t.Errorf("after Close the channel gave %v; want at most the 7 pushed before", rest)
	}
}
