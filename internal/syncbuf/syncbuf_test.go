package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// Writers and a reader at once: every write is kept whole (-race checks
// the locking).
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if n, err := b.Write([]byte("ab\n")); n != 3 || err != nil {
					t.Errorf("Write = %d, %v; want 3, nil", n, err)
				}
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "ab\n"); got != 400 {
		t.Errorf("String() holds %d writes; want 400", got)
	}
}
